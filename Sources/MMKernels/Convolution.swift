import MMCore

// Convolution in PyTorch's layout, validated at the Tensor level.
//
//   input  [batch, Cin, (D,) (H,) W]          (or unbatched [Cin, …])
//   weight [Cout, Cin/groups, (kD,) (kH,) kW]  f32, f16 or bf16
//   bias   [Cout]                              optional
//   output [batch, Cout, (oD,) (oH,) oW]       oX = ⌊(X + padBefore + padAfter − dilation·(k−1) − 1) / stride⌋ + 1
//
// The arithmetic lives in ConvolutionND.swift (one N-dimensional core lowered to GEMM).

/// How much zero padding surrounds each spatial dimension of a convolution's input.
public enum ConvolutionPadding: Sendable, Equatable {
  /// PyTorch's `padding=p` or `padding=(pD, pH, pW)`: that many zeros on both sides of each
  /// dimension. One value applies to every dimension.
  case symmetric([Int])
  /// PyTorch's `padding="same"` (stride 1 only): the output is as large as the input. When
  /// dilation·(k−1) is odd the extra zero goes after (right, bottom, back), as in PyTorch.
  case same
  /// Separate amounts before and after each dimension (ONNX `pads`, or an `F.pad` folded in).
  case explicit(before: [Int], after: [Int])

  /// No padding (PyTorch's default, `padding="valid"`).
  public static let valid = ConvolutionPadding.symmetric([0])
}

/// The validated shape of one convolution: every size the kernel needs, the output size computed
/// as PyTorch computes it. Spatial arrays hold one entry per spatial dimension (1, 2 or 3),
/// outermost first.
public struct ConvolutionGeometry: Sendable, Equatable {
  public let batch: Int
  public let inChannels: Int
  public let outChannels: Int
  public let groups: Int
  public let inputSize: [Int]
  public let kernelSize: [Int]
  public let stride: [Int]
  public let dilation: [Int]
  public let padBefore: [Int]
  public let padAfter: [Int]
  public let outputSize: [Int]

  /// Checks every argument and computes the output size; throws `TensorError` naming what was
  /// expected and what was found. `stride` and `dilation` with one value apply to every dimension.
  public init(
    batch: Int, inChannels: Int, outChannels: Int, inputSize: [Int], kernelSize: [Int],
    stride: [Int] = [1], padding: ConvolutionPadding = .valid, dilation: [Int] = [1],
    groups: Int = 1
  ) throws(TensorError) {
    let op = "conv\(inputSize.count)d"
    let rank = inputSize.count
    guard (1...3).contains(rank) else {
      throw .invalidArgument(op: "convolution", message: "1, 2 or 3 spatial dimensions, found \(rank)")
    }
    guard kernelSize.count == rank else {
      throw .shapeMismatch(
        op: op, expected: "\(rank) kernel dimensions", found: shapeText(kernelSize))
    }
    let stride = try expand(stride, rank, "stride", op)
    let dilation = try expand(dilation, rank, "dilation", op)
    guard batch >= 0, inChannels >= 1, outChannels >= 1 else {
      throw .invalidArgument(
        op: op,
        message:
          "batch must be ≥ 0 and channels ≥ 1, found batch \(batch), in channels \(inChannels), out channels \(outChannels)"
      )
    }
    guard inputSize.allSatisfy({ $0 >= 1 }), kernelSize.allSatisfy({ $0 >= 1 }) else {
      throw .invalidArgument(
        op: op,
        message: "sizes must be ≥ 1, found input \(shapeText(inputSize)) kernel \(shapeText(kernelSize))")
    }
    guard stride.allSatisfy({ $0 >= 1 }), dilation.allSatisfy({ $0 >= 1 }) else {
      throw .invalidArgument(
        op: op, message: "stride and dilation must be ≥ 1, found \(shapeText(stride)), \(shapeText(dilation))"
      )
    }
    guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
      throw .invalidArgument(
        op: op,
        message:
          "in channels (\(inChannels)) and out channels (\(outChannels)) must both be divisible by groups (\(groups))"
      )
    }
    let before: [Int]
    let after: [Int]
    switch padding {
    case .symmetric(let amounts):
      before = try expand(amounts, rank, "padding", op)
      after = before
    case .explicit(let b, let a):
      before = try expand(b, rank, "padding before", op)
      after = try expand(a, rank, "padding after", op)
    case .same:
      guard stride.allSatisfy({ $0 == 1 }) else {
        throw .invalidArgument(
          op: op, message: "padding \"same\" needs stride 1, found \(shapeText(stride))")
      }
      before = (0..<rank).map { dilation[$0] * (kernelSize[$0] - 1) / 2 }
      after = (0..<rank).map { dilation[$0] * (kernelSize[$0] - 1) - before[$0] }
    }
    guard (before + after).allSatisfy({ $0 >= 0 }) else {
      throw .invalidArgument(
        op: op, message: "padding must be ≥ 0, found \(shapeText(before)) / \(shapeText(after))")
    }
    var output = [Int]()
    for axis in 0..<rank {
      let padded = inputSize[axis] + before[axis] + after[axis]
      let span = dilation[axis] * (kernelSize[axis] - 1) + 1
      guard span <= padded else {
        throw .shapeMismatch(
          op: op, expected: "kernel extent ≤ padded input size \(padded) in spatial dimension \(axis)",
          found: "kernel \(kernelSize[axis]) with dilation \(dilation[axis]) spans \(span)")
      }
      output.append((padded - span) / stride[axis] + 1)
    }
    self.batch = batch
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.groups = groups
    self.inputSize = inputSize
    self.kernelSize = kernelSize
    self.stride = stride
    self.dilation = dilation
    self.padBefore = before
    self.padAfter = after
    self.outputSize = output
  }

  public var inputShape: [Int] { [batch, inChannels] + inputSize }
  public var weightShape: [Int] { [outChannels, inChannels / groups] + kernelSize }
  public var outputShape: [Int] { [batch, outChannels] + outputSize }
}

/// One value for every dimension, or exactly one per dimension.
private func expand(_ values: [Int], _ rank: Int, _ name: String, _ op: String) throws(TensorError)
  -> [Int]
{
  if values.count == 1 { return Array(repeating: values[0], count: rank) }
  guard values.count == rank else {
    throw .shapeMismatch(
      op: op, expected: "\(name) with 1 or \(rank) values", found: shapeText(values))
  }
  return values
}

/// 1-D convolution (`torch.nn.functional.conv1d`), optionally followed by `activation`.
/// input [batch, Cin, W], weight [Cout, Cin/groups, kW] → [batch, Cout, oW]
public func conv1d(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1],
  padding: ConvolutionPadding = .valid, dilation: [Int] = [1], groups: Int = 1,
  activation: Activation = .identity, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  try convolution(
    input, weight: weight, bias: bias, spatialRank: 1, stride: stride, padding: padding,
    dilation: dilation, groups: groups, activation: activation, pool: pool)
}

/// 2-D convolution (`torch.nn.functional.conv2d`), optionally followed by `activation`.
/// input [batch, Cin, H, W], weight [Cout, Cin/groups, kH, kW] → [batch, Cout, oH, oW]
public func conv2d(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1],
  padding: ConvolutionPadding = .valid, dilation: [Int] = [1], groups: Int = 1,
  activation: Activation = .identity, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  try convolution(
    input, weight: weight, bias: bias, spatialRank: 2, stride: stride, padding: padding,
    dilation: dilation, groups: groups, activation: activation, pool: pool)
}

/// 3-D convolution (`torch.nn.functional.conv3d`), optionally followed by `activation`.
/// input [batch, Cin, D, H, W], weight [Cout, Cin/groups, kD, kH, kW] → [batch, Cout, oD, oH, oW]
public func conv3d(
  _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1],
  padding: ConvolutionPadding = .valid, dilation: [Int] = [1], groups: Int = 1,
  activation: Activation = .identity, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  try convolution(
    input, weight: weight, bias: bias, spatialRank: 3, stride: stride, padding: padding,
    dilation: dilation, groups: groups, activation: activation, pool: pool)
}

/// The shape-checked N-dimensional convolution behind `conv1d`/`conv2d`/`conv3d`. The input is
/// f32 (an unbatched `[Cin, …]` input gives an unbatched output), the weight f32/f16/bf16 (used
/// as is, never widened whole), the bias any float dtype of shape [Cout].
public func convolution(
  _ input: Tensor, weight: Tensor, bias: Tensor?, spatialRank: Int, stride: [Int] = [1],
  padding: ConvolutionPadding = .valid, dilation: [Int] = [1], groups: Int = 1,
  activation: Activation = .identity, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let op = "conv\(spatialRank)d"
  guard input.dtype == .f32 else { throw .dtypeMismatch(op: op, expected: .f32, found: input.dtype) }
  guard [.f32, .f16, .bf16].contains(weight.dtype) else {
    throw .invalidArgument(
      op: op, message: "weight dtype must be f32, f16 or bf16, found \(weight.dtype.name)")
  }
  let batched = input.rank == spatialRank + 2
  guard batched || input.rank == spatialRank + 1 else {
    throw .shapeMismatch(
      op: op, expected: "input of rank \(spatialRank + 2) [batch, C, …] or \(spatialRank + 1) [C, …]",
      found: shapeText(input.shape))
  }
  let shape = batched ? input.shape : [1] + input.shape
  guard weight.rank == spatialRank + 2 else {
    throw .shapeMismatch(
      op: op, expected: "weight of rank \(spatialRank + 2) [Cout, Cin/groups, k…]",
      found: shapeText(weight.shape))
  }
  let geometry = try ConvolutionGeometry(
    batch: shape[0], inChannels: shape[1], outChannels: weight.shape[0],
    inputSize: Array(shape[2...]), kernelSize: Array(weight.shape[2...]), stride: stride,
    padding: padding, dilation: dilation, groups: groups)
  guard weight.shape == geometry.weightShape else {
    throw .shapeMismatch(
      op: op,
      expected: "weight \(shapeText(geometry.weightShape)) (Cin \(geometry.inChannels) / groups \(groups))",
      found: shapeText(weight.shape))
  }
  var biasValues: Tensor?
  if let bias {
    guard bias.shape == [geometry.outChannels] else {
      throw .shapeMismatch(
        op: op, expected: "bias [\(geometry.outChannels)]", found: shapeText(bias.shape))
    }
    guard bias.dtype.isFloatingPoint else {
      throw .invalidArgument(op: op, message: "bias dtype must be floating point, found \(bias.dtype.name)")
    }
    biasValues = bias.converted(to: .f32)
  }
  let x = input.contiguous()
  let w = weight.contiguous()
  let result = Tensor(zeros: geometry.outputShape)
  withExtendedLifetime((x, w, biasValues)) {
    convolution(
      geometry, input: x.pointer(Float.self), weight: UnsafeRawPointer(w.baseAddress),
      weightType: w.dtype, bias: biasValues.map { UnsafePointer($0.pointer(Float.self)) },
      output: result.pointer(Float.self), activation: activation, pool: pool)
  }
  if batched { return result }
  return Tensor(
    storage: result.storage, dtype: .f32, shape: Array(result.shape.dropFirst()),
    strides: Array(result.strides.dropFirst()))
}
