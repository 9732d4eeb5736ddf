import Foundation
import MMCore
import MMGraph
import MMMediaIO

/// Text inputs (`text.*`): the readers of `.txt` documents and `.json` values for `--input`,
/// splitting a document into lines, reading a folder of documents, prompt templates. Registered through `MMBuiltins` before the point-cloud plugin,
/// so an untyped `.txt` input is text.
public enum TextPlugin: NodePlugin {
  public static let name = "text"

  public static let descriptors: [NodeDescriptor] = [linesDescriptor, folderDescriptor, templateDescriptor]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
    try registry.register(reader: textReader, from: name)
    try registry.register(reader: jsonReader, from: name)
  }

  /// `--input prompt.txt`: the whole document as text (UTF-8 checked, BOM stripped, CRLF → LF,
  /// trailing newlines removed).
  static let textReader = FileReader(
    name: "text", extensions: ["txt", "md"], type: .text, doc: "a UTF-8 text document",
    read: { path in .text(try TextFile.readText(contentsOf: path)[0]) })

  /// `--input prompts.json`: a JSON string becomes text, a list must hold only strings (a batch
  /// of texts; `/2: expected a string, found a number` otherwise), any other value stays JSON.
  static let jsonReader = FileReader(
    name: "json", extensions: ["json"], type: .json,
    doc: "a JSON string (→ text), a list of strings, or any JSON value",
    read: { path in
      let bytes = Array(try TextFile.readText(contentsOf: path)[0].utf8)
      let root = try JSONParser.parse(bytes, file: path).root
      switch root {
      case .string(let text): return .text(text)
      case .array: return .json(.array(try TextFile.decodeJSONList(bytes, file: path).map { .string($0) }))
      default: return .json(root)
      }
    })
}

/// in: text → out: json list of its non-empty lines (as written, CRLF normalized).
let linesDescriptor = NodeDescriptor(
  type: "text.lines",
  doc: "Splits a document into its non-empty lines: a JSON list of strings (one prompt or label per line).",
  example: exampleNode("text.lines", inputs: [("in", "$labels")]),
  inputs: [PortSpec("in", .text, doc: "a document")],
  outputs: [PortSpec("out", .json, doc: "[\"line 1\", \"line 2\", …]")],
  make: { _ in
    FunctionNode { context in
      let text = try context.text("in")
      do {
        let lines = try TextFile.decodeText(Array(text.utf8), mode: .lines, file: context.nodeName)
        context.emit("out", .json(.array(lines.map { .string($0) })))
      } catch { throw NodeFailure("\(error)") }
    }
  })
