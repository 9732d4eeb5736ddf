import Foundation
import MMCore
import MMGraph
import MMMediaIO

/// in: text (a folder path) → out: json [{"name": file name, "text": its text}, …] for the
/// folder's `.txt` and `.md` files (not its subfolders), sorted by name. Each file is read as
/// `--input` reads a text document: UTF-8 checked (a bad byte is reported with the file and its
/// offset), BOM dropped, CRLF → LF, trailing newlines removed; an empty file is an error naming it.
let folderDescriptor = NodeDescriptor(
  type: "text.folder",
  doc:
    "Reads the .txt and .md files of a folder (sorted by name, not recursive) into a JSON list of {\"name\", \"text\"} objects.",
  example: exampleNode("text.folder", inputs: [("in", "$folder")]),
  inputs: [PortSpec("in", .text, doc: "a folder path (relative paths: from the working directory)")],
  outputs: [PortSpec("out", .json, doc: "[{\"name\": \"a.txt\", \"text\": \"…\"}, …]")],
  make: { _ in
    FunctionNode { context in
      let folder = try context.text("in")
      context.emit(
        "out",
        .json(
          .array(
            try readFolder(folder, node: context.nodeName).map { entry in
              .object([JSONMember("name", .string(entry.name)), JSONMember("text", .string(entry.text))])
            })))
    }
  })

/// The extensions `text.folder` reads.
let folderExtensions: Set<String> = ["txt", "md"]

/// (file name, text) of the folder's text files, sorted by name.
func readFolder(_ folder: String, node: String) throws -> [(name: String, text: String)] {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
    throw NodeFailure("\(node): no such folder: \(folder)")
  }
  guard isDirectory.boolValue else { throw NodeFailure("\(node): \(folder) is a file, expected a folder") }
  let names: [String]
  do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
    throw NodeFailure("\(node): cannot list \(folder): \(error.localizedDescription)")
  }
  let base = URL(fileURLWithPath: folder)
  let files = names.filter { name in
    guard !name.hasPrefix("."),
      folderExtensions.contains(URL(fileURLWithPath: name).pathExtension.lowercased())
    else { return false }
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(
      atPath: base.appendingPathComponent(name).path, isDirectory: &isFolder)
      && !isFolder.boolValue
  }.sorted()
  guard !files.isEmpty else {
    throw NodeFailure("\(node): \(folder) holds no .txt or .md files")
  }
  return try files.map { name in
    do {
      return (name, try TextFile.readText(contentsOf: base.appendingPathComponent(name).path)[0])
    } catch {
      throw NodeFailure("\(node): \(error)")
    }
  }
}

/// labels (json list or text lines) → out: json list with each label put into `template`.
let templateDescriptor = NodeDescriptor(
  type: "text.template",
  doc:
    "Puts each label into a prompt template (\"a photo of a {}.\"): the strings a text encoder embeds for zero-shot classification.",
  example: exampleNode(
    "text.template", inputs: [("labels", "$labels")], options: [("template", "\"a photo of a {}.\"")]),
  inputs: [PortSpec("labels", .any, doc: "a JSON list of strings, or text with one label per line")],
  outputs: [PortSpec("out", .json, doc: "[\"a photo of a dog.\", …], in the labels' order")],
  options: [
    OptionSpec("template", .string, default: .string("{}"), doc: "the text with {} where the label goes")
  ],
  typeRule: { inputs, options throws(TypeRuleError) in
    guard options.string("template").contains("{}") else {
      throw TypeRuleError(
        port: "template", expected: "a template with {} where the label goes",
        found: JSONValue.quoted(options.string("template")))
    }
    switch inputs["labels"] {
    case nil, .any?, .json?, .text?: return [:]
    case let other?:
      throw TypeRuleError(
        port: "labels", expected: "json (a list of strings) or text (one per line)", found: "\(other)")
    }
  },
  make: { options in
    let template = options.string("template")
    return FunctionNode { context in
      let labels: [String]
      switch try context.required("labels") {
      case .text(let text):
        labels = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
          .filter { !$0.isEmpty }
      case .json(let json):
        guard let items = json.elements else {
          throw NodeFailure(
            "\(context.nodeName): input 'labels' expected a JSON list, found \(json.typeName)")
        }
        labels = try items.enumerated().map { index, item in
          guard let label = item.string else {
            throw NodeFailure(
              "\(context.nodeName): input 'labels' /\(index): expected a string, found \(item.typeName)")
          }
          return label
        }
      case let other:
        throw NodeFailure(
          "\(context.nodeName): input 'labels' expected json or text, found \(other.kindName)")
      }
      guard !labels.isEmpty else { throw NodeFailure("\(context.nodeName): no labels") }
      context.emit(
        "out", .json(.array(labels.map { .string(template.replacingOccurrences(of: "{}", with: $0)) })))
    }
  })
