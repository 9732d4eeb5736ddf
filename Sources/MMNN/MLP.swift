import MMCore
import MMKernels

/// The transformer feed-forward block: fc2(act(fc1(x))), the activation fused into fc1's
/// epilogue. x: [..., dim] → [..., dim].
public struct MLP: Sendable {
  public let fc1: Linear
  public let fc2: Linear

  /// `fc1` must carry the activation (`ParameterScope.linear(…, activation:)`).
  public init(fc1: Linear, fc2: Linear) {
    precondition(fc1.outputs == fc2.inputs, "MLP: fc1 outputs \(fc1.outputs) ≠ fc2 inputs \(fc2.inputs)")
    self.fc1 = fc1
    self.fc2 = fc2
  }

  public func callAsFunction(_ x: Tensor) throws(ModelError) -> Tensor { try fc2(try fc1(x)) }

  /// residual += fc2(act(fc1(x))).
  public func accumulate(_ x: Tensor, into residual: Tensor) throws(ModelError) {
    fc2.accumulate(try fc1(x), into: residual)
  }
}
