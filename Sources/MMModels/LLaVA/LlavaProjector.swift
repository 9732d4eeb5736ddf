import MMCore
import MMKernels
import MMNN

/// Hugging Face `LlavaMultiModalProjector` (`multi_modal_projector.…`): `linear_1` (vision
/// features → the language model's width), `projector_hidden_act`, `linear_2` (width → width).
/// Its output rows replace the `<image>` placeholder positions of the prompt.
public struct LlavaProjector: Sendable {
  /// The input width: vision hidden size × feature layers.
  public let inputs: Int
  /// The language model's hidden size.
  public let outputs: Int
  /// `linear_1` [outputs, inputs] with the activation fused into its GEMM epilogue.
  let linear1: Linear
  /// `linear_2` [outputs, outputs].
  let linear2: Linear

  /// `scope` is the projector's prefix (`multi_modal_projector`); every tensor's shape is
  /// checked against `configuration` (`linear_1.weight` [text hidden, vision hidden × layers]).
  public init(_ scope: ParameterScope, configuration: LlavaConfiguration) throws(ModelError) {
    let c = configuration
    inputs = c.featureWidth
    outputs = c.textHiddenSize
    linear1 = try scope.linear(
      "linear_1", inputs: inputs, outputs: outputs, bias: c.projectorBias, activation: c.projectorActivation)
    linear2 = try scope.linear("linear_2", inputs: outputs, outputs: outputs, bias: c.projectorBias)
  }

  /// features: [n, inputs] (or [batch, n, inputs]) f32 → [n, outputs] (or [batch, n, outputs]).
  /// - Throws: `ModelError.invalidInput` naming both widths when the features do not match.
  public func callAsFunction(_ features: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    guard features.dtype == .f32, features.rank >= 1, features.shape[features.rank - 1] == inputs,
      features.count > 0
    else {
      throw .invalidInput(
        "the LLaVA projector (multi_modal_projector.linear_1) takes features [n, \(inputs)] f32, found "
          + "\(features.dtype) \(shapeText(features.shape))")
    }
    let hidden = try linear1(features)
    trace.record("multi_modal_projector.linear_1", hidden)
    let out = try linear2(hidden)
    trace.record("multi_modal_projector", out)
    return out
  }
}
