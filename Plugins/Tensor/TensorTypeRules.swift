import MMCore
import MMGraph

/// Load-time shape reasoning shared by the tensor nodes. Unknown parts (wildcards) stay
/// unknown; only contradictions between known parts are errors.
enum TensorTypes {
  /// Any tensor.
  static let anyTensor = PortType.tensor(dtype: nil, shape: nil)
  /// An f32 tensor of unknown shape.
  static let f32Tensor = PortType.tensor(dtype: .f32, shape: nil)

  /// The dtype and shape of a tensor port (`nil` parts are unknown); a non-tensor is an error.
  static func parts(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError)
    -> (dtype: DType?, shape: [Dimension]?)
  {
    switch inputs[port] {
    case nil, .any?: return (nil, nil)
    case .tensor(let dtype, let shape)?: return (dtype, shape)
    case let other?: throw TypeRuleError(port: port, expected: "tensor", found: "\(other)")
    }
  }

  /// Requires a floating-point dtype where it is known (the kernels widen floats to f32).
  static func requireFloat(_ dtype: DType?, port: String) throws(TypeRuleError) {
    if let dtype, !dtype.isFloatingPoint {
      throw TypeRuleError(port: port, expected: "a floating-point tensor", found: "tensor<\(dtype.name)>")
    }
  }

  /// NumPy broadcasting of two shapes, right-aligned. Returns nil when the result cannot be
  /// known at load time (two different symbols).
  static func broadcast(_ a: [Dimension]?, _ b: [Dimension]?, port: String) throws(TypeRuleError)
    -> [Dimension]?
  {
    guard let a, let b else { return nil }
    var out: [Dimension] = []
    for offset in 0..<max(a.count, b.count) {
      let x = offset < a.count ? a[a.count - 1 - offset] : nil
      let y = offset < b.count ? b[b.count - 1 - offset] : nil
      switch (x, y) {
      case (let d?, nil), (nil, let d?): out.append(d)
      case (.fixed(1)?, let d?), (let d?, .fixed(1)?): out.append(d)
      case (.fixed(let p)?, .fixed(let q)?):
        guard p == q else {
          throw TypeRuleError(
            port: port, expected: "a shape that broadcasts with \(shapeText(a))",
            found: shapeText(b))
        }
        out.append(.fixed(p))
      case (.symbol(let s)?, .symbol(let t)?):
        guard s == t else { return nil }
        out.append(.symbol(s))
      case (.symbol?, .fixed(let n)?), (.fixed(let n)?, .symbol?): out.append(.fixed(n))
      case (nil, nil): break
      }
    }
    return out.reversed()
  }

  /// `[n, 768]`
  static func shapeText(_ shape: [Dimension]) -> String {
    "[" + shape.map(\.description).joined(separator: ", ") + "]"
  }
}
