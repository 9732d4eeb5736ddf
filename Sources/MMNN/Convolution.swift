import MMCore
import MMKernels

/// PyTorch's `nn.Conv1d`/`Conv2d`/`Conv3d` (no padding, groups 1): the weight
/// [Cout, Cin, k…] kept in its stored dtype (f32, f16 or bf16; the kernel widens it while
/// packing), an optional bias, one stride per spatial dimension. Patch stems (ViT, ImageBind,
/// Whisper's front end) are this layer.
///
/// x: [batch, Cin, …] f32 → [batch, Cout, …]
public struct Conv: Sendable {
  public let weight: Tensor
  public let bias: Tensor?
  public let stride: [Int]

  public init(weight: Tensor, bias: Tensor?, stride: [Int]) {
    self.weight = weight
    self.bias = bias
    self.stride = stride
  }

  public var spatialRank: Int { weight.rank - 2 }
  public var outChannels: Int { weight.shape[0] }
  public var inChannels: Int { weight.shape[1] }
  public var kernel: [Int] { Array(weight.shape[2...]) }

  /// x: [batch, Cin, …] → [batch, Cout, …]; a wrong rank, channel count or a too small input is
  /// a `ModelError.invalidInput` naming the shapes.
  public func callAsFunction(_ x: Tensor, pool: ThreadPool = .shared) throws(ModelError) -> Tensor {
    do {
      return try convolution(
        x, weight: weight, bias: bias, spatialRank: spatialRank, stride: stride, pool: pool)
    } catch {
      throw .invalidInput("\(error)")
    }
  }
}

extension ParameterScope {
  /// `name.weight` [outChannels, inChannels, kernel…] (stored dtype kept) and, when `bias`,
  /// `name.bias` [outChannels], as a convolution with `stride` (default: the kernel, a patch
  /// embedding).
  public func conv(
    _ name: String, inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int]? = nil, bias: Bool = true
  ) throws(ModelError) -> Conv {
    let weightName = name.isEmpty ? "weight" : "\(name).weight"
    var weight = try stored(weightName, shape: [outChannels, inChannels] + kernel)
    if ![.f32, .f16, .bf16].contains(weight.dtype) { weight = weight.converted(to: .f32) }
    if !weight.isContiguous { weight = weight.contiguous() }
    let b = bias ? try tensor(name.isEmpty ? "bias" : "\(name).bias", shape: [outChannels]) : nil
    return Conv(weight: weight, bias: b, stride: stride ?? kernel)
  }
}
