import Foundation
import MMGraph
import MMRuntime
import Synchronization

/// `mmgraph run --print`: the graph's text outputs on standard output as `name: text` lines.
/// Text a node produces piece by piece (an LLM's reply, a transcript) is printed as it comes
/// (`NodeContext.partial`), so the user watches the answer being written; the other text outputs
/// are printed when the run ends (a text of several lines below its name). Files under `--out`
/// are written either way.
final class TextPrinter: Sendable {
  private struct State {
    /// The output whose line is open (pieces printed, no newline yet).
    var openLine: String?
    /// Outputs that streamed at least one piece.
    var streamed: Set<String> = []
  }

  /// (node name, port) → graph output name, for text outputs fed straight by a node.
  private let sources: [String: String]
  private let progress: ProgressDisplay
  private let state = Mutex(State())

  init(graph: Graph, progress: ProgressDisplay) {
    var sources: [String: String] = [:]
    for output in graph.outputs {
      if case .node(let index, let port) = output.source {
        sources["\(graph.nodes[index].name)\u{0}\(port)"] = output.name
      }
    }
    self.sources = sources
    self.progress = progress
  }

  /// A piece of text from `node`'s `port`: printed at once when that port is a graph output.
  func partial(node: String, port: String, text: String) {
    guard let name = sources["\(node)\u{0}\(port)"] else { return }
    state.withLock { state in
      progress.suspend()
      var out = ""
      if state.openLine != name {
        if state.openLine != nil { out += "\n" }
        out += "\(name): "
        state.openLine = name
      }
      state.streamed.insert(name)
      write(out + text)
    }
  }

  /// After the run: closes a streamed line, prints the text outputs that did not stream.
  func finish(_ outputs: [(name: String, value: Value)]) {
    state.withLock { state in
      if state.openLine != nil { write("\n") }
      state.openLine = nil
      for (name, value) in outputs where !state.streamed.contains(name) {
        guard case .text(let text) = value else { continue }
        // A text of several lines (a ranking, a table) starts on the line after its name.
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        write(body.contains("\n") ? "\(name):\n\(body)\n" : "\(name): \(body)\n")
      }
    }
  }

  private func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }
}
