import Foundation
import MMCore
import MMGraph
import MMWeights

/// `--input [NAME=]PATH` and `--set NODE.OPTION=VALUE` for the graph commands.
enum GraphInputs {
  /// One `--input`: a graph input name (nil: the next unbound input in declaration order) and a file.
  struct Binding {
    var name: String?
    var path: String
  }

  static func bindings(_ values: [String]) -> [Binding] {
    values.map { text in
      // NAME=PATH only when the part before '=' is a plain name (paths may contain '=').
      if let equals = text.firstIndex(of: "="),
        text[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
        equals != text.startIndex
      {
        return Binding(name: String(text[..<equals]), path: String(text[text.index(after: equals)...]))
      }
      return Binding(name: nil, path: text)
    }
  }

  /// Binds each `--input` to a declared graph input: named ones by name, the rest in order.
  static func assign(_ bindings: [Binding], to declared: [String]) throws -> [String: String] {
    var assigned: [String: String] = [:]
    for binding in bindings {
      guard let name = binding.name else { continue }
      guard declared.contains(name) else {
        let hint = nearest(name, in: declared).map { " (did you mean '\($0)'?)" } ?? ""
        let known =
          declared.isEmpty ? "the graph has no inputs" : "its inputs: " + declared.joined(separator: ", ")
        throw ValidationFailure("--input \(name)=…: the graph has no input '\(name)'\(hint); \(known)")
      }
      guard assigned[name] == nil else { throw UsageError("--input \(name) is given twice") }
      assigned[name] = binding.path
    }
    var free = declared.filter { assigned[$0] == nil }
    for binding in bindings where binding.name == nil {
      guard !free.isEmpty else {
        throw UsageError(
          "--input \(binding.path): every graph input is already bound (\(declared.joined(separator: ", ")))")
      }
      assigned[free.removeFirst()] = binding.path
    }
    return assigned
  }

  /// Reads an input file as a value with the plugin reader registered for its extension — the
  /// one whose value type fits the graph input's declared type when several claim it (`.npy` as
  /// a tensor or a point cloud). Missing, unreadable or malformed files are validation errors
  /// (exit 2) naming the input and the file.
  static func read(_ path: String, for name: String, declared: PortType, registry: NodeRegistry) throws
    -> Value
  {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      // A text input takes the words themselves (`--input prompt="What is …?"`) unless they
      // name a text file that is missing.
      if declared == .text,
        !["txt", "md", "json"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
      {
        return .text(path)
      }
      throw ValidationFailure("input '\(name)': no such file: \(path)")
    }
    guard !isDirectory.boolValue else {
      // A text input takes a folder as its path (text.folder reads it), made absolute.
      if declared == .text { return .text(URL(fileURLWithPath: path).standardizedFileURL.path) }
      throw ValidationFailure("input '\(name)': \(path) is a folder, expected a file")
    }
    guard let reader = registry.reader(forPath: path, declared: declared) else {
      let ext = URL(fileURLWithPath: path).pathExtension
      let known = registry.fileReaders.map {
        "\($0.reader.name) (" + $0.reader.extensions.map { "." + $0 }.joined(separator: ", ") + ")"
      }
      throw ValidationFailure(
        "input '\(name)': \(ext.isEmpty ? "\(path) has no file extension" : "unknown file type '.\(ext)' of \(path)"); mmgraph reads "
          + known.joined(separator: "; "))
    }
    do { return try reader.read(path) } catch {
      throw ValidationFailure("input '\(name)': \(error)")
    }
  }

  /// Parses `--set NODE.OPTION=VALUE` (`OPTION=VALUE` sets a graph option). VALUE is JSON when
  /// it parses as JSON (`3`, `true`, `[1, 2]`, `"x"`), else a string.
  static func overrides(_ values: [String]) throws(UsageError) -> [OptionOverride] {
    var result: [OptionOverride] = []
    for text in values {
      guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw UsageError("--set expects NODE.OPTION=VALUE, found '\(text)'")
      }
      let key = text[..<equals]
      let valueText = String(text[text.index(after: equals)...])
      let node: String
      let option: String
      if let dot = key.lastIndex(of: ".") {
        node = String(key[..<dot])
        option = String(key[key.index(after: dot)...])
        guard !node.isEmpty, !option.isEmpty else {
          throw UsageError("--set expects NODE.OPTION=VALUE, found '\(text)'")
        }
      } else {
        (node, option) = ("", String(key))
      }
      let value = (try? JSONParser.parse(valueText, file: "--set"))?.root ?? .string(valueText)
      result.append((node: node, option: option, value: value))
    }
    return result
  }
}
