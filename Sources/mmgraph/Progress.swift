import Foundation
import MMCore
import MMGraph
import MMRuntime
import Synchronization

/// Shows a run's progress on standard error: bars for nodes that report progress (clips,
/// frames, tokens) when standard error is a terminal, or one JSON object per event and line
/// with `--progress json`. Called from worker threads.
final class ProgressDisplay: Sendable {
  enum Mode: Sendable {
    case none
    case bars
    case jsonLines
  }

  struct Bar {
    var done: Int
    var total: Int
    var unit: String
  }

  struct State {
    var bars: [(node: String, bar: Bar)] = []
    var linesDrawn = 0
    var lastDraw: UInt64 = 0
    /// Set once text streams to the same terminal: bars are erased and no longer drawn.
    var suspended = false
  }

  let mode: Mode
  private let state = Mutex(State())

  init(mode: Mode) { self.mode = mode }

  /// `--progress json` → JSON lines; otherwise bars when standard error is a terminal.
  static func mode(for option: String?) throws(UsageError) -> Mode {
    switch option {
    case nil: return CommandSupport.standardErrorIsTerminal ? .bars : .none
    case "json": return .jsonLines
    case "none": return .none
    case "bars": return .bars
    case let other?: throw UsageError("--progress expects json, bars or none, found '\(other)'")
    }
  }

  /// `--progress json`: the executor's events as JSON lines (per-call events are left out).
  func jsonLine(_ event: RunEvent) {
    guard mode == .jsonLines, let line = event.jsonLine else { return }
    CommandSupport.printError(line + "\n")
  }

  func nodeFinished(_ node: String, cached: Bool) {
    guard mode == .bars else { return }
    state.withLock { state in
      state.bars.removeAll { $0.node == node }
      draw(&state, force: true)
    }
  }

  func progress(_ node: String, done: Int, total: Int, unit: String) {
    switch mode {
    case .bars:
      state.withLock { state in
        let bar = Bar(done: done, total: total, unit: unit)
        if let index = state.bars.firstIndex(where: { $0.node == node }) {
          state.bars[index].bar = bar
        } else {
          state.bars.append((node, bar))
        }
        draw(&state, force: done >= total)
      }
    case .none, .jsonLines: break
    }
  }

  /// Erases the bars for good (text is streaming to the terminal; it is the progress now).
  func suspend() {
    guard mode == .bars else { return }
    state.withLock { state in
      guard !state.suspended else { return }
      state.bars.removeAll()
      draw(&state, force: true)
      state.suspended = true
    }
  }

  /// Erases the bars (before the final messages).
  func finish() {
    guard mode == .bars else { return }
    state.withLock { state in
      state.bars.removeAll()
      draw(&state, force: true)
    }
  }

  /// Redraws at most ten times a second: moves up over the previous bars and rewrites them.
  private func draw(_ state: inout State, force: Bool) {
    let now = DispatchTime.now().uptimeNanoseconds
    guard !state.suspended else { return }
    guard force || now - state.lastDraw > 100_000_000 else { return }
    state.lastDraw = now
    var out = String(repeating: "\u{1B}[1A", count: state.linesDrawn) + "\r"
    for (node, bar) in state.bars {
      let fraction = bar.total > 0 ? min(1, Double(bar.done) / Double(bar.total)) : 0
      let width = 30
      let filled = Int(fraction * Double(width))
      let text =
        "\(node.padding(toLength: 20, withPad: " ", startingAt: 0)) ["
        + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        + "] \(bar.done)/\(bar.total) \(bar.unit)"
      out += "\u{1B}[2K" + text + "\n"
    }
    for _ in state.bars.count..<max(state.bars.count, state.linesDrawn) { out += "\u{1B}[2K\n" }
    let extra = max(0, state.linesDrawn - state.bars.count)
    out += String(repeating: "\u{1B}[1A", count: extra)
    state.linesDrawn = state.bars.count
    CommandSupport.printError(out)
  }
}
