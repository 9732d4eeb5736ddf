import Foundation

/// Pointwise activations, usable on their own and as a GEMM/conv epilogue.
public enum Activation: String, Sendable, CaseIterable, Codable {
  case identity
  case relu
  /// x·Φ(x) with the exact erf (PyTorch `gelu`, approximate="none").
  case gelu
  /// 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch `gelu(approximate="tanh")`, "gelu_new").
  case geluTanh
  /// x·σ(1.702x) (OpenAI CLIP, ImageBind).
  case quickGelu
  /// x·σ(x), also called swish (LLaMA's MLP).
  case silu

  /// The activation of one value (the reference definition).
  @inlinable public func apply(_ x: Float) -> Float {
    switch self {
    case .identity: return x
    case .relu: return max(x, 0)
    case .gelu: return 0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5))
    case .geluTanh:
      let inner: Float = 0.797_884_560_802_865_4 * (x + 0.044715 * x * x * x)
      return 0.5 * x * (1 + tanh(inner))
    case .quickGelu: return x / (1 + exp(-1.702 * x))
    case .silu: return x / (1 + exp(-x))
    }
  }
}
