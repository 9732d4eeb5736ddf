import MMCore

/// The post-norm transformer block of BERT and the original Transformer:
/// x = norm1(x + attention(x)); x = norm2(x + mlp(x)). x: [batch, length, dim] → same shape.
/// The residual adds run in the GEMM epilogues (into x, which is read before it is written).
public struct PostNormTransformerBlock: Sendable {
  public let attention: MultiHeadAttention
  public let norm1: LayerNorm
  public let mlp: MLP
  public let norm2: LayerNorm

  public init(attention: MultiHeadAttention, norm1: LayerNorm, mlp: MLP, norm2: LayerNorm) {
    self.attention = attention
    self.norm1 = norm1
    self.mlp = mlp
    self.norm2 = norm2
  }

  /// x: [batch, length, dim] → [batch, length, dim]; `keyMask` [batch, length] additive (0 keeps
  /// a key, −∞ drops a padding position). `x` itself is overwritten (it becomes x + attention).
  /// `afterAttention` sees norm1's output (for activation traces).
  public func callAsFunction(
    _ x: Tensor, keyMask: Tensor? = nil, afterAttention: ((Tensor) -> Void)? = nil
  ) throws(ModelError) -> Tensor {
    let residual = x.isContiguous ? x : x.contiguous()
    try attention.accumulate(residual, into: residual, keyMask: keyMask)
    let attended = norm1(residual)
    afterAttention?(attended)
    try mlp.accumulate(attended, into: attended)
    return norm2(attended)
  }
}
