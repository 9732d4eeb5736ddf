import MMCore

/// The pre-norm transformer block of ViT, CLIP, ImageBind and Whisper:
/// x += attention(norm1(x)); x += mlp(norm2(x)). x: [batch, length, dim], updated in place
/// (the residual adds run in the GEMM epilogues).
public struct PreNormTransformerBlock: Sendable {
  public let norm1: LayerNorm
  public let attention: MultiHeadAttention
  public let norm2: LayerNorm
  public let mlp: MLP

  public init(norm1: LayerNorm, attention: MultiHeadAttention, norm2: LayerNorm, mlp: MLP) {
    self.norm1 = norm1
    self.attention = attention
    self.norm2 = norm2
    self.mlp = mlp
  }

  /// x: [batch, length, dim] contiguous, modified in place and returned.
  @discardableResult
  public func callAsFunction(_ x: Tensor, causal: Bool = false, keyMask: Tensor? = nil) throws(ModelError)
    -> Tensor
  {
    precondition(x.isContiguous, "PreNormTransformerBlock: x must be contiguous (updated in place)")
    try attention.accumulate(norm1(x), into: x, causal: causal, keyMask: keyMask)
    try mlp.accumulate(norm2(x), into: x)
    return x
  }
}
