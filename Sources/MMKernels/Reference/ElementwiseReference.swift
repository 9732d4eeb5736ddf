import Foundation
import MMCore

/// Naive twins of the pointwise kernels: activations in Double, broadcasting by index arithmetic.
extension Reference {
  /// act(x) for every element, computed in Double from the textbook formulas.
  public static func activation(_ act: Activation, _ x: [Float]) -> [Float] {
    x.map { value in
      let v = Double(value)
      let sigmoid = { (z: Double) -> Double in 1 / (1 + Foundation.exp(-z)) }
      let result: Double
      switch act {
      case .identity: result = v
      case .relu: result = max(v, 0)
      case .gelu: result = 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
      case .geluTanh:
        result = 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
      case .quickGelu: result = v * sigmoid(1.702 * v)
      case .silu: result = v * sigmoid(v)
      }
      return Float(result)
    }
  }
}

extension Reference {
  /// a ∘ b with NumPy broadcasting, by explicit index arithmetic over the output shape.
  /// Inputs are row-major value arrays with their shapes; returns the values and the shape.
  public static func broadcastBinary(
    _ op: BinaryOperation, _ a: [Float], shape sa: [Int], _ b: [Float], shape sb: [Int]
  ) -> (values: [Float], shape: [Int])? {
    guard let shape = Tensor.broadcastShape(sa, sb) else { return nil }
    let count = shape.reduce(1, *)
    func source(_ linear: Int, _ s: [Int]) -> Int {
      // Walk the output index from the last axis; axes of size 1 in s contribute 0.
      var rest = linear, index = 0, step = 1
      for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        let i = rest % shape[axis]
        rest /= shape[axis]
        let sAxis = axis - (shape.count - s.count)
        if sAxis >= 0 {
          if s[sAxis] != 1 { index += i * step }
          step *= s[sAxis]
        }
      }
      return index
    }
    let values = (0..<count).map { n -> Float in
      let x = Double(a[source(n, sa)]), y = Double(b[source(n, sb)])
      switch op {
      case .add: return Float(x + y)
      case .sub: return Float(x - y)
      case .mul: return Float(x * y)
      case .div: return Float(x / y)
      case .maximum: return x.isNaN || y.isNaN ? .nan : Float(Swift.max(x, y))
      case .minimum: return x.isNaN || y.isNaN ? .nan : Float(Swift.min(x, y))
      }
    }
    return (values, shape)
  }
}
