import Foundation
import MMCore
import MMGraph

/// A node that does nothing: the loader tests only check graphs, they never run them.
final class InertNode: Node {
  func process(_ context: NodeContext) throws -> ProcessResult { .done }
}

private func port(_ name: String, _ type: String, optional: Bool = false) -> PortSpec {
  // The spellings below are fixed and valid; a typo fails every test loudly.
  PortSpec(name, try! PortType(parsing: type), doc: name, optional: optional)
}

private func descriptor(
  _ type: String, inputs: [PortSpec] = [], outputs: [PortSpec], options: [OptionSpec] = [],
  typeRule: TypeRule? = nil
) -> NodeDescriptor {
  NodeDescriptor(
    type: type, doc: "test node \(type)", example: "{\"type\": \"\(type)\"}", inputs: inputs,
    outputs: outputs,
    options: options, typeRule: typeRule, make: { _ in InertNode() })
}

/// Small node types for loader tests, registered under the `test.` namespace.
enum TestNodes {
  static let registry: NodeRegistry = {
    var registry = NodeRegistry()
    let all: [NodeDescriptor] = [
      descriptor(
        "test.source", outputs: [port("out", "tensor<f32>[n, 4]")],
        options: [OptionSpec("rows", .int(range: 1...1000), default: JSONValue(2), doc: "rows")],
        typeRule: { _, options in
          ["out": .tensor(dtype: .f32, shape: [.fixed(options.int("rows")), .fixed(4)])]
        }),
      descriptor(
        "test.add", inputs: [port("a", "tensor<f32>[n, d]"), port("b", "tensor<f32>[n, d]")],
        outputs: [port("out", "tensor<f32>[n, d]")]),
      descriptor(
        "test.scale", inputs: [port("x", "tensor<f32>")], outputs: [port("out", "tensor<f32>")],
        options: [
          OptionSpec("factor", .float, doc: "multiplier"),
          OptionSpec("mode", .choice(["linear", "log"]), default: .string("linear"), doc: "how"),
          OptionSpec("label", .string, default: .string(""), doc: "a label"),
        ],
        typeRule: { inputs, _ in ["out": inputs["x"] ?? .tensor(dtype: .f32, shape: nil)] }),
      descriptor(
        "test.load", outputs: [port("out", "tensor")],
        options: [
          OptionSpec("path", .path, doc: "file"),
          OptionSpec("extra", .list(.path), default: .array([]), doc: "more"),
        ]),
      descriptor(
        "test.text", outputs: [port("out", "text")],
        options: [OptionSpec("value", .json, default: .null, doc: "")]),
      descriptor(
        "test.embed", inputs: [port("x", "tensor")], outputs: [port("out", "embedding")],
        options: [
          OptionSpec("space", .string, default: .string("clip"), doc: "space"),
          OptionSpec("form", .choice(["raw", "unit", "scaled"]), default: .string("unit"), doc: "form"),
        ],
        typeRule: { _, options in
          [
            "out": .embedding(
              space: options.string("space"), dimension: 512,
              form: EmbeddingForm(rawValue: options.string("form")))
          ]
        }),
      descriptor(
        "test.similarity", inputs: [port("a", "embedding<_, _, unit>"), port("b", "embedding<_, _, unit>")],
        outputs: [port("out", "json")],
        typeRule: { inputs, _ throws(TypeRuleError) in
          if case .embedding(let a?, _, _)? = inputs["a"], case .embedding(let b?, _, _)? = inputs["b"],
            a != b
          {
            throw TypeRuleError(port: "b", expected: "embedding<\(a)>", found: "embedding<\(b)>")
          }
          return [:]
        }),
      descriptor(
        "test.pair", inputs: [port("x", "tensor")],
        outputs: [port("left", "tensor"), port("right", "tensor")]),
      descriptor(
        "test.bias", inputs: [port("x", "tensor"), port("bias", "tensor", optional: true)],
        outputs: [port("out", "tensor")]),
      descriptor("test.frames", outputs: [port("frames", "stream<image>")]),
      descriptor("test.count", inputs: [port("frames", "stream<image>")], outputs: [port("out", "json")]),
      descriptor("test.wave", outputs: [port("out", "audio<44100, 1>")]),
      descriptor("test.listen", inputs: [port("audio", "audio<16000, 1>")], outputs: [port("out", "text")]),
    ]
    for node in all { try! registry.register(node, from: "test") }
    return registry
  }()
}

/// Graph files held in memory, by path.
struct MemoryFiles: Sendable {
  var files: [String: String]

  struct Missing: Error, CustomStringConvertible {
    var path: String
    var description: String { "no such file" }
  }

  var loader: GraphLoader {
    let files = self.files
    return GraphLoader(registry: TestNodes.registry) { path in
      guard let text = files[path] else { throw Missing(path: path) }
      return Array(text.utf8)
    }
  }

  func load(
    _ file: String = "main.json", overrides: [OptionOverride] = [], inputTypes: [String: PortType] = [:]
  ) -> LoadResult {
    loader.load(file: file, overrides: overrides, inputTypes: inputTypes)
  }
}

/// Loads one in-memory file `main.json`.
func load(_ text: String, overrides: [OptionOverride] = [], inputTypes: [String: PortType] = [:])
  -> LoadResult
{
  MemoryFiles(files: ["main.json": text]).load(overrides: overrides, inputTypes: inputTypes)
}

/// The package root (the folder holding Package.swift).
func packageRoot() -> URL {
  var url = URL(fileURLWithPath: #filePath)
  while url.path != "/" {
    url.deleteLastPathComponent()
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
  }
  return url
}

extension LoadResult {
  /// All diagnostics, one per line, for failure messages.
  var report: String { diagnostics.map(\.description).joined(separator: "\n") }
}
