import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// One convolution to check: input [batch, Cin, …spatial], Cout, kernel and options.
struct ConvCase: Sendable, CustomStringConvertible {
  var input: [Int]
  var outChannels: Int
  var kernel: [Int]
  var stride: [Int] = [1]
  var padding: ConvolutionPadding = .valid
  var dilation: [Int] = [1]
  var groups = 1
  var bias = true
  var activation: Activation = .identity
  var weightType: DType = .f32

  var description: String {
    "in \(shapeText(input)) out \(outChannels) k \(shapeText(kernel)) s \(shapeText(stride)) "
      + "pad \(padding) d \(shapeText(dilation)) g \(groups) \(activation) \(weightType.name)"
  }

  func geometry() throws -> ConvolutionGeometry {
    try ConvolutionGeometry(
      batch: input[0], inChannels: input[1], outChannels: outChannels,
      inputSize: Array(input[2...]), kernelSize: kernel, stride: stride, padding: padding,
      dilation: dilation, groups: groups)
  }
}

/// 1×1, odd sizes, primes, stride 2/3, padding (symmetric, same, explicit), dilation, groups
/// 1/2/3/depthwise, every weight dtype, every path (pointwise, patches, im2col, GEMM with N = 1,
/// direct depthwise in 1-D/2-D/3-D with multiplier 1 and 2).
let convCases: [ConvCase] = [
  ConvCase(input: [1, 1, 1], outChannels: 1, kernel: [1]),
  ConvCase(input: [2, 3, 17], outChannels: 5, kernel: [3], stride: [2], padding: .symmetric([1])),
  ConvCase(input: [1, 7, 31], outChannels: 11, kernel: [5], padding: .same, dilation: [3]),
  ConvCase(input: [1, 3, 10], outChannels: 4, kernel: [4], padding: .same, activation: .silu),
  ConvCase(
    input: [2, 4, 23], outChannels: 6, kernel: [4], stride: [3], padding: .symmetric([2]),
    groups: 2),
  ConvCase(input: [2, 8, 5, 7], outChannels: 13, kernel: [1, 1], activation: .relu),
  ConvCase(
    input: [1, 3, 11, 13], outChannels: 8, kernel: [3, 3], padding: .symmetric([1]),
    activation: .gelu),
  ConvCase(
    input: [2, 5, 10, 9], outChannels: 7, kernel: [3, 2], stride: [2, 3],
    padding: .symmetric([1, 0]), dilation: [2, 1]),
  ConvCase(
    input: [1, 16, 9, 9], outChannels: 16, kernel: [3, 3], padding: .symmetric([1]), groups: 16),
  ConvCase(
    input: [2, 6, 12, 8], outChannels: 12, kernel: [5, 5], stride: [2], padding: .symmetric([2]),
    groups: 6, activation: .silu),
  ConvCase(
    input: [1, 10, 13, 17], outChannels: 10, kernel: [3, 5], stride: [2, 3],
    padding: .symmetric([2, 1]), dilation: [2], groups: 10, activation: .relu, weightType: .f16),
  ConvCase(input: [2, 3, 4, 6, 9], outChannels: 3, kernel: [2, 3, 3], groups: 3, weightType: .bf16),
  ConvCase(input: [2, 5, 19], outChannels: 10, kernel: [4], padding: .same, groups: 5),
  ConvCase(
    input: [1, 4, 7, 6], outChannels: 2, kernel: [3, 3], padding: .symmetric([1]), groups: 2),
  ConvCase(
    input: [1, 4, 8, 8], outChannels: 6, kernel: [3, 3], groups: 2, weightType: .f16),
  ConvCase(input: [1, 6, 4, 5], outChannels: 3, kernel: [1, 1], bias: false, weightType: .bf16),
  ConvCase(input: [1, 4, 9, 9], outChannels: 3, kernel: [1, 1], stride: [2]),
  ConvCase(
    input: [1, 3, 28, 28], outChannels: 16, kernel: [7, 7], stride: [7], weightType: .bf16),
  ConvCase(input: [1, 2, 10, 11], outChannels: 5, kernel: [3, 3], stride: [3]),
  ConvCase(input: [1, 2, 3, 3], outChannels: 2, kernel: [5, 5], padding: .symmetric([1])),
  ConvCase(
    input: [1, 3, 5, 6, 7], outChannels: 4, kernel: [3, 3, 3], stride: [1, 2, 2],
    padding: .symmetric([1]), activation: .quickGelu),
  ConvCase(
    input: [2, 4, 6, 5, 5], outChannels: 6, kernel: [2, 3, 2],
    padding: .explicit(
      before: [1, 0, 1], after: [0, 2, 1]), dilation: [2, 1, 2], groups: 2, weightType: .f16),
  ConvCase(
    input: [1, 3, 2, 28, 28], outChannels: 32, kernel: [2, 14, 14], stride: [2, 14, 14],
    bias: false),
]

/// Three workers plus the caller: exercises both the per-item and the inner parallel paths.
let convTestPool = ThreadPool(threads: 3)

/// Runs the fast kernel and the reference on `c`; returns (fast, reference) outputs.
func runConvolution(_ c: ConvCase, scratchBudget: Int = convolutionScratchBudget) throws
  -> (fast: [Float], reference: [Float])
{
  let g = try c.geometry()
  let x = randomFloats(g.inputShape.reduce(1, *), seed: 1)
  let w = Tensor(
    randomFloats(g.weightShape.reduce(1, *), seed: 2, low: -0.5, high: 0.5),
    shape: g.weightShape
  ).converted(to: c.weightType)
  let b = c.bias ? randomFloats(g.outChannels, seed: 3) : nil
  let count = g.outputShape.reduce(1, *)
  var fast = [Float](repeating: .nan, count: count)
  var reference = [Float](repeating: .nan, count: count)
  x.withUnsafeBufferPointer { xp in
    withExtendedLifetime(w) {
      let weight = UnsafeRawPointer(w.baseAddress)
      b.withOptionalPointer { bp in
        fast.withUnsafeMutableBufferPointer { out in
          convolution(
            g, input: xp.baseAddress!, weight: weight, weightType: c.weightType, bias: bp,
            output: out.baseAddress!, activation: c.activation, scratchBudget: scratchBudget,
            pool: convTestPool)
        }
        reference.withUnsafeMutableBufferPointer { out in
          Reference.convolution(
            g, input: xp.baseAddress!, weight: weight, weightType: c.weightType, bias: bp,
            output: out.baseAddress!, activation: c.activation)
        }
      }
    }
  }
  return (fast, reference)
}

extension Optional where Wrapped == [Float] {
  func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let self else { return body(nil) }
    return self.withUnsafeBufferPointer { body($0.baseAddress) }
  }
}

@Suite struct ConvolutionTests {
  @Test(arguments: convCases)
  func matchesReference(_ c: ConvCase) throws {
    let (fast, reference) = try runConvolution(c)
    let close = allClose(fast, reference, atol: 2e-4, rtol: 1e-4)
    #expect(close, "\(c): \(differenceReport(fast, reference))")
  }

  /// A scratch budget of a few hundred floats splits every case into many small blocks that start
  /// mid-row, so block boundaries are exercised on every lowering.
  @Test(arguments: convCases)
  func blockedMatchesReference(_ c: ConvCase) throws {
    let (fast, reference) = try runConvolution(c, scratchBudget: 300)
    let close = allClose(fast, reference, atol: 2e-4, rtol: 1e-4)
    #expect(close, "\(c): \(differenceReport(fast, reference))")
  }

  /// ImageBind's vision patch embedding at full size; the reference runs on a subset of output
  /// channels (the same weights rows), which is enough to catch any indexing error.
  @Test func imageBindPatchEmbedding() throws {
    let x = Tensor(randomFloats(3 * 2 * 224 * 224, seed: 4), shape: [1, 3, 2, 224, 224])
    let w = Tensor(
      randomFloats(1280 * 3 * 2 * 14 * 14, seed: 5, low: -0.1, high: 0.1),
      shape: [1280, 3, 2, 14, 14])
    let y = try conv3d(x, weight: w, stride: [2, 14, 14])
    #expect(y.shape == [1, 1280, 1, 16, 16])
    let channels = [0, 1, 517, 1279]
    let allWeights = w.floats()
    let perChannel = 3 * 2 * 14 * 14
    let subset = channels.flatMap { allWeights[$0 * perChannel..<($0 + 1) * perChannel] }
    let g = try ConvolutionGeometry(
      batch: 1, inChannels: 3, outChannels: channels.count, inputSize: [2, 224, 224],
      kernelSize: [2, 14, 14], stride: [2, 14, 14])
    var reference = [Float](repeating: 0, count: channels.count * 256)
    let xs = x.floats()
    xs.withUnsafeBufferPointer { xp in
      subset.withUnsafeBytes { wp in
        reference.withUnsafeMutableBufferPointer { out in
          Reference.convolution(
            g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: nil,
            output: out.baseAddress!)
        }
      }
    }
    let ys = y.floats()
    let fast = channels.flatMap { ys[$0 * 256..<($0 + 1) * 256] }
    let close = allClose(fast, reference, atol: 2e-4, rtol: 1e-4)
    #expect(close, "\(differenceReport(fast, reference))")
  }

  @Test func outputShapesFollowPyTorch() throws {
    let stem = try ConvolutionGeometry(
      batch: 1, inChannels: 3, outChannels: 64, inputSize: [224, 224], kernelSize: [7, 7],
      stride: [2], padding: .symmetric([3]))
    #expect(stem.outputShape == [1, 64, 112, 112])
    let same = try ConvolutionGeometry(
      batch: 2, inChannels: 4, outChannels: 4, inputSize: [10], kernelSize: [4], padding: .same)
    #expect(same.outputSize == [10] && same.padBefore == [1] && same.padAfter == [2])
    let strided = try ConvolutionGeometry(
      batch: 1, inChannels: 1, outChannels: 1, inputSize: [8, 9, 10], kernelSize: [3, 2, 3],
      stride: [3, 2, 4], padding: .symmetric([1, 0, 2]), dilation: [1, 3, 2])
    #expect(strided.outputSize == [3, 3, 3])
  }

  @Test func unbatchedInputGivesUnbatchedOutput() throws {
    let x = Tensor(randomFloats(3 * 6 * 6, seed: 6), shape: [3, 6, 6])
    let w = Tensor(randomFloats(2 * 3 * 3 * 3, seed: 7), shape: [2, 3, 3, 3])
    let y = try conv2d(x, weight: w, padding: .same)
    let batched = try conv2d(try x.reshaped([1, 3, 6, 6]), weight: w, padding: .same)
    #expect(y.shape == [2, 6, 6])
    #expect(y.floats() == batched.floats())
  }

  @Test func emptyBatchGivesEmptyOutput() throws {
    let y = try conv2d(Tensor(zeros: [0, 3, 5, 5]), weight: Tensor(zeros: [4, 3, 3, 3]))
    #expect(y.shape == [0, 4, 3, 3])
    let depthwise = try conv2d(
      Tensor(zeros: [0, 3, 5, 5]), weight: Tensor(zeros: [3, 1, 3, 3]), groups: 3)
    #expect(depthwise.shape == [0, 3, 3, 3])
  }

  @Test func rejectsBadArguments() throws {
    let x = Tensor(zeros: [1, 6, 5, 5])
    func error(_ body: () throws(TensorError) -> Tensor) -> TensorError? {
      do { _ = try body() } catch { return error }
      return nil
    }
    let groups = error { () throws(TensorError) in
      try conv2d(x, weight: Tensor(zeros: [4, 2, 3, 3]), groups: 4)
    }
    #expect(groups?.description.contains("divisible by groups") == true, "\(String(describing: groups))")
    let weight = error { () throws(TensorError) in try conv2d(x, weight: Tensor(zeros: [4, 5, 3, 3])) }
    #expect(
      weight?.description.contains("expected weight [4, 6, 3, 3]") == true, "\(String(describing: weight))")
    let large = error { () throws(TensorError) in try conv2d(x, weight: Tensor(zeros: [4, 6, 8, 3])) }
    #expect(large?.description.contains("padded input size 5") == true, "\(String(describing: large))")
    let same = error { () throws(TensorError) in
      try conv2d(x, weight: Tensor(zeros: [4, 6, 3, 3]), stride: [2], padding: .same)
    }
    #expect(same?.description.contains("stride 1") == true, "\(String(describing: same))")
    let bias = error { () throws(TensorError) in
      try conv2d(x, weight: Tensor(zeros: [4, 6, 3, 3]), bias: Tensor(zeros: [5]))
    }
    #expect(bias == .shapeMismatch(op: "conv2d", expected: "bias [4]", found: "[5]"))
    let dtype = error { () throws(TensorError) in
      try conv2d(x.converted(to: .f16), weight: Tensor(zeros: [4, 6, 3, 3]))
    }
    #expect(dtype == .dtypeMismatch(op: "conv2d", expected: .f32, found: .f16))
    let rank = error { () throws(TensorError) in try conv3d(x, weight: Tensor(zeros: [4, 6, 3, 3])) }
    #expect(rank?.description.contains("rank 5") == true, "\(String(describing: rank))")
  }

  @Test(arguments: convGoldenNames(prefix: "conv"))
  func matchesTorchGolden(_ name: String) throws {
    let golden = try loadConvGolden(name)
    let op = golden["op"] as! String
    let rank = Int(op.dropFirst(4).prefix(1))!
    let x = Tensor(convGoldenFloats(golden["input"]), shape: convGoldenInts(golden["input_shape"]))
    let w = Tensor(convGoldenFloats(golden["weight"]), shape: convGoldenInts(golden["weight_shape"]))
    let b = (golden["bias"] as? [Any]).map { Tensor(convGoldenFloats($0), shape: [$0.count]) }
    let padding: ConvolutionPadding =
      golden["padding"] as? String == "same" ? .same : .symmetric(convGoldenInts(golden["padding"]))
    let y = try convolution(
      x, weight: w, bias: b, spatialRank: rank, stride: convGoldenInts(golden["stride"]), padding: padding,
      dilation: convGoldenInts(golden["dilation"]), groups: golden["groups"] as! Int)
    let expected = convGoldenFloats(golden["output"])
    #expect(y.shape == convGoldenInts(golden["output_shape"]))
    let close = allClose(y.floats(), expected, atol: 1e-4, rtol: 1e-4)
    #expect(close, "\(name): \(differenceReport(y.floats(), expected))")
  }
}

// MARK: - Goldens (Tests/Goldens/conv, written by Scripts/goldens/conv.py)

/// Tests/Goldens/conv under the package root (the directory holding Package.swift).
func convGoldenDirectory() -> URL {
  var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
    let parent = url.deletingLastPathComponent()
    if parent.path == url.path { break }
    url = parent
  }
  return url.appendingPathComponent("Tests/Goldens/conv")
}

/// The golden cases whose names start with `prefix`: conv goldens and pooling goldens. The
/// expected list is fixed here so that a missing file fails rather than silently shrinking.
func convGoldenNames(prefix: String) -> [String] {
  let all = [
    "conv1d_groups_dilation", "conv1d_same_even_kernel", "conv2d_stride_padding",
    "conv2d_depthwise", "conv2d_depthwise_multiplier_same", "conv2d_groups3_dilation",
    "conv2d_pointwise", "conv2d_patches", "conv2d_stride3_nobias", "conv3d_groups_stride",
    "conv3d_patch_embed", "max_pool2d_floor", "max_pool2d_ceil", "max_pool2d_dilation_ceil",
    "max_pool1d", "max_pool3d", "avg_pool2d_ceil_include_pad", "avg_pool2d_ceil_exclude_pad",
    "avg_pool2d_rect_exclude_pad", "avg_pool1d", "avg_pool3d", "adaptive_avg_pool2d_down",
    "adaptive_avg_pool2d_up", "adaptive_avg_pool1d",
  ]
  return all.filter { $0.hasPrefix(prefix) }
}

struct MissingConvGolden: Error, CustomStringConvertible {
  let path: String
  var description: String { "missing golden file \(path); run Scripts/goldens/conv.py" }
}

func loadConvGolden(_ name: String) throws -> [String: Any] {
  let url = convGoldenDirectory().appendingPathComponent("\(name).json")
  guard let data = FileManager.default.contents(atPath: url.path) else {
    throw MissingConvGolden(path: url.path)
  }
  return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

func convGoldenFloats(_ value: Any?) -> [Float] {
  (value as! [Any]).map { Float(($0 as! NSNumber).doubleValue) }
}

func convGoldenInts(_ value: Any?) -> [Int] {
  (value as! [Any]).map { ($0 as! NSNumber).intValue }
}
