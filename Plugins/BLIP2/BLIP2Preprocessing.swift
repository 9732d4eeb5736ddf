import MMCore
import MMMediaIO
import MMModels

/// transformers' `BlipImageProcessor` on a decoded image: `convert("RGB")`, resize to exactly
/// (height, width) with the configured PIL filter (bicubic for every BLIP-2 checkpoint), then
/// x·rescale_factor and (x − mean)/std in float32 → [3, height, width].
///
/// transformers 5's default `BlipImageProcessor` resizes with torchvision on a uint8 tensor;
/// this is PIL's resize (`BlipImageProcessorPil`). The two differ by at most one 8-bit level on
/// a few pixels (≤ 1/255/std ≈ 0.015 after normalization; Tests/Goldens/blip2 holds both).
public struct BLIP2ImagePreprocessor: Sendable {
  public let configuration: BLIPImageProcessorConfiguration

  public init(_ configuration: BLIPImageProcessorConfiguration) { self.configuration = configuration }

  /// The PIL filter of `resample`.
  public var filter: ResampleFilter {
    switch configuration.resample {
    case 0: return .nearest
    case 1: return .lanczos
    case 2: return .bilinear
    case 4: return .box
    case 5: return .hamming
    default: return .bicubic
    }
  }

  /// image (any mode, 8 or 16 bits) → [3, height, width] f32 (the image's own size when
  /// `do_resize` is false).
  public func callAsFunction(_ image: Image) throws(TensorError) -> Tensor {
    let c = configuration
    var rgb = image.convertedToRGB()
    if c.doResize {
      rgb = try VisionTransforms.resize(rgb, .exact(height: c.height, width: c.width), filter: filter)
    }
    guard case .uint8(let values) = rgb.samples else {
      throw .invalidArgument(
        op: "BLIP2ImagePreprocessor", message: "expected 8-bit RGB after convert(\"RGB\")")
    }
    let plane = rgb.width * rgb.height
    let scale = Float(c.doRescale ? c.rescaleFactor : 1)
    let mean = c.mean.map { Float($0) }
    let std = c.std.map { Float($0) }
    var out = [Float](repeating: 0, count: 3 * plane)
    for k in 0..<3 {
      for p in 0..<plane {
        let x = Float(values[p * 3 + k]) * scale
        out[k * plane + p] = c.doNormalize ? (x - mean[k]) / std[k] : x
      }
    }
    return Tensor(out, shape: [3, rgb.height, rgb.width])
  }
}
