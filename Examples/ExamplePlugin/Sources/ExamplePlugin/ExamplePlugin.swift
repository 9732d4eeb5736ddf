import Foundation
import MMCore
import MMGraph
import MMKernels

/// An example out-of-tree plugin with one node type, `example.double`.
public enum ExamplePlugin: NodePlugin {
  public static let name = "example"

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    try registry.register(doubleDescriptor, from: name)
  }

  /// x: [...] → out: [...] f32, 2·x.
  static let doubleDescriptor = NodeDescriptor(
    type: "example.double",
    doc: "out = 2·x (an example of an out-of-tree plugin node).",
    example: #"{"type": "example.double", "inputs": {"x": "$x"}}"#,
    inputs: [PortSpec("x", .tensor(dtype: nil, shape: nil), doc: "a floating-point tensor")],
    outputs: [PortSpec("out", .tensor(dtype: .f32, shape: nil), doc: "2·x")],
    typeRule: { (inputs, _) throws(TypeRuleError) in
      guard case .tensor(let dtype, let shape)? = inputs["x"] else {
        if let found = inputs["x"], found != .any {
          throw TypeRuleError(port: "x", expected: "tensor", found: "\(found)")
        }
        return ["out": .tensor(dtype: .f32, shape: nil)]
      }
      if let dtype, !dtype.isFloatingPoint {
        throw TypeRuleError(port: "x", expected: "a floating-point tensor", found: "tensor<\(dtype.name)>")
      }
      return ["out": .tensor(dtype: .f32, shape: shape)]
    },
    make: { _ in DoubleNode() })
}

final class DoubleNode: Node {
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tensor(let x)? = context.input("x") else {
      throw ExampleError(message: "\(context.nodeName): input 'x' expected a tensor")
    }
    context.emit("out", .tensor(try mul(x, 2)))
    return .done
  }
}

struct ExampleError: Error, CustomStringConvertible {
  let message: String
  var description: String { message }
}

/// The entry point mmgraph looks up after dlopen: registers into the host's registry and returns
/// nil, or a malloc'ed error message.
@_cdecl("mmgraph_register_plugin")
public func mmgraphRegisterPlugin(_ registry: UnsafeMutableRawPointer) -> UnsafeMutablePointer<CChar>? {
  let registry = registry.assumingMemoryBound(to: NodeRegistry.self)
  do {
    try ExamplePlugin.register(into: &registry.pointee)
  } catch {
    return strdup(error.description)
  }
  return nil
}
