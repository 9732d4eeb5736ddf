import Foundation
import MMCore

/// Rotary position embedding (RoPE), applied in place to x: [tokens, heads, headDim] (or any
/// token / head strides). Only the first `rotaryDim` channels of each head rotate (partial
/// rotary); the rest pass through. Channel pair k (k < rotaryDim/2) rotates by the angle
/// `position · inverseFrequencies[k]`, computed in Float like HF (`inv_freq @ position_ids`),
/// then cos/sin taken in Double and rounded once.
public enum RoPEStyle: String, Sendable, CaseIterable, Codable {
  /// Pairs (k, k + rotaryDim/2): HF checkpoints' `rotate_half` (Llama, Qwen, Mistral, NeoX).
  case rotateHalf
  /// Pairs (2k, 2k + 1): GGUF / llama.cpp `LLAMA_ROPE_TYPE_NORM` and Meta's original code.
  case interleaved
}

/// inverse frequency k = base^(−2k / rotaryDim) for k < rotaryDim/2 (HF's default rope init,
/// computed the same way in Float).
public func ropeInverseFrequencies(rotaryDim: Int, base: Float) -> [Float] {
  precondition(rotaryDim > 0 && rotaryDim % 2 == 0, "rotaryDim must be even and positive")
  return (0..<rotaryDim / 2).map { k in 1 / Foundation.pow(base, Float(2 * k) / Float(rotaryDim)) }
}

/// Llama 3.x's `rope_scaling` (`rope_type: "llama3"`).
public struct Llama3RopeScaling: Sendable, Equatable, Codable {
  public var factor: Float
  public var lowFreqFactor: Float
  public var highFreqFactor: Float
  public var originalMaxPositionEmbeddings: Int

  enum CodingKeys: String, CodingKey {
    case factor
    case lowFreqFactor = "low_freq_factor"
    case highFreqFactor = "high_freq_factor"
    case originalMaxPositionEmbeddings = "original_max_position_embeddings"
  }

  public init(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositionEmbeddings: Int)
  {
    self.factor = factor
    self.lowFreqFactor = lowFreqFactor
    self.highFreqFactor = highFreqFactor
    self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
  }
}

/// Inverse frequencies with Llama 3 scaling, matching HF `_compute_llama3_parameters`: long
/// wavelengths (> original context / low_freq_factor) are divided by `factor`, short ones
/// (< original context / high_freq_factor) are kept, and the band between is interpolated.
public func llama3InverseFrequencies(rotaryDim: Int, base: Float, scaling: Llama3RopeScaling) -> [Float] {
  let oldContext = Float(scaling.originalMaxPositionEmbeddings)
  let lowFreqWavelength = oldContext / scaling.lowFreqFactor
  let highFreqWavelength = oldContext / scaling.highFreqFactor
  return ropeInverseFrequencies(rotaryDim: rotaryDim, base: base).map { inv in
    let wavelength = 2 * Float.pi / inv
    let scaled = wavelength > lowFreqWavelength ? inv / scaling.factor : inv
    let isMedium = !(wavelength < highFreqWavelength) && !(wavelength > lowFreqWavelength)
    guard isMedium else { return scaled }
    let smooth =
      (oldContext / wavelength - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor)
    return (1 - smooth) * scaled / scaling.factor + smooth * scaled
  }
}

/// Rotates x in place. x: [tokens, heads, headDim] with token t, head h at
/// `t·tokenStride + h·headStride` (defaults: heads·headDim and headDim). positions: [tokens].
/// inverseFrequencies: [rotaryDim / 2]. Parallel over tokens; cos/sin computed once per token.
public func applyRoPE(
  _ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int,
  positions: [Int], inverseFrequencies: [Float], rotaryDim: Int? = nil,
  style: RoPEStyle = .rotateHalf, tokenStride: Int? = nil, headStride: Int? = nil,
  pool: ThreadPool = .shared
) {
  let rotary = rotaryDim ?? headDim
  let half = rotary / 2
  precondition(
    rotary % 2 == 0 && rotary <= headDim, "RoPE: rotaryDim \(rotary) must be even and ≤ headDim \(headDim)")
  precondition(positions.count == tokens, "RoPE: \(positions.count) positions for \(tokens) tokens")
  precondition(
    inverseFrequencies.count == half,
    "RoPE: \(inverseFrequencies.count) inverse frequencies for rotaryDim \(rotary)")
  let tStride = tokenStride ?? heads * headDim
  let hStride = headStride ?? headDim
  inverseFrequencies.withUnsafeBufferPointer { freqs in
    pool.parallelRanges(tokens, grain: max(1, 256 / max(heads, 1))) { range in
      let table = UnsafeMutablePointer<Float>.allocate(capacity: 2 * half + 8)
      defer { table.deallocate() }
      let cosines = table
      let sines = table + half
      for t in range {
        let position = Float(positions[t])
        for k in 0..<half {
          let angle = Double(position * freqs[k])
          cosines[k] = Float(Foundation.cos(angle))
          sines[k] = Float(Foundation.sin(angle))
        }
        for h in 0..<heads {
          let head = x + t * tStride + h * hStride
          switch style {
          case .rotateHalf: rotateHalf(head, half: half, cos: cosines, sin: sines)
          case .interleaved: rotatePairs(head, half: half, cos: cosines, sin: sines)
          }
        }
      }
    }
  }
}

/// (a, b) = (x[k], x[k + half]) → (a·cos − b·sin, b·cos + a·sin).
@inline(__always)
private func rotateHalf(
  _ x: UnsafeMutablePointer<Float>, half: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
) {
  let upper = x + half
  var k = 0
  while k + 8 <= half {
    let a = load8(x + k), b = load8(upper + k)
    let c = load8(cos + k), s = load8(sin + k)
    store8(a * c - b * s, x + k)
    store8(b * c + a * s, upper + k)
    k += 8
  }
  while k < half {
    let a = x[k], b = upper[k]
    x[k] = a * cos[k] - b * sin[k]
    upper[k] = b * cos[k] + a * sin[k]
    k += 1
  }
}

/// (a, b) = (x[2k], x[2k + 1]) → (a·cos − b·sin, a·sin + b·cos).
@inline(__always)
private func rotatePairs(
  _ x: UnsafeMutablePointer<Float>, half: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
) {
  for k in 0..<half {
    let a = x[2 * k], b = x[2 * k + 1]
    x[2 * k] = a * cos[k] - b * sin[k]
    x[2 * k + 1] = a * sin[k] + b * cos[k]
  }
}
