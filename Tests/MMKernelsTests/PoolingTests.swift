import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// One max/avg pooling to check: input [planes, …spatial], kernel and options.
struct PoolCase: Sendable, CustomStringConvertible {
  var input: [Int]
  var kernel: [Int]
  var stride: [Int]? = nil
  var padding: [Int] = [0]
  var dilation: [Int] = [1]
  var ceilMode = false

  var description: String {
    "in \(shapeText(input)) k \(shapeText(kernel)) s \(stride.map(shapeText) ?? "=k") "
      + "p \(shapeText(padding)) d \(shapeText(dilation)) ceil \(ceilMode)"
  }

  func geometry() throws -> PoolingGeometry {
    try PoolingGeometry(
      planes: input[0], inputSize: Array(input.dropFirst()), kernelSize: kernel, stride: stride,
      padding: padding, dilation: dilation, ceilMode: ceilMode)
  }
}

/// 1×1 kernels, odd and prime sizes, strides 1/2/3, padding, ceil mode with windows that run
/// past the padding, 1-D/2-D/3-D, and one large plane count.
let poolCases: [PoolCase] = [
  PoolCase(input: [1, 1], kernel: [1]),
  PoolCase(input: [3, 17], kernel: [3], stride: [2], padding: [1], ceilMode: true),
  PoolCase(input: [2, 13], kernel: [4], stride: [3], padding: [2]),
  PoolCase(input: [4, 7, 9], kernel: [2, 2]),
  PoolCase(input: [2, 10, 11], kernel: [3, 3], stride: [2], padding: [1], ceilMode: true),
  PoolCase(input: [2, 11, 13], kernel: [3, 2], stride: [3, 2], padding: [1, 1], ceilMode: true),
  PoolCase(input: [1, 8, 8], kernel: [5, 5], stride: [1], padding: [2]),
  PoolCase(input: [3, 5, 6, 7], kernel: [2, 3, 3], stride: [2], padding: [1, 1, 0]),
  PoolCase(input: [2, 4, 7, 5], kernel: [3, 2, 2], stride: [1, 2, 3], ceilMode: true),
  PoolCase(input: [256, 28, 28], kernel: [3, 3], stride: [2], padding: [1]),
]

/// Dilated max pooling only (average pooling has no dilation).
let dilatedPoolCases: [PoolCase] = [
  PoolCase(
    input: [2, 9, 8], kernel: [3, 2], stride: [2], padding: [1, 0], dilation: [2, 1], ceilMode: true),
  PoolCase(input: [1, 19], kernel: [3], stride: [1], padding: [2], dilation: [3]),
  PoolCase(input: [2, 6, 7, 8], kernel: [2, 2, 3], stride: [1, 2, 2], dilation: [2, 1, 2]),
]

private func compare(
  _ fast: [Float], _ reference: [Float], _ label: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let close = allClose(fast, reference, atol: 1e-5, rtol: 1e-5)
  #expect(close, "\(label): \(differenceReport(fast, reference))", sourceLocation: sourceLocation)
}

@Suite struct PoolingTests {
  @Test(arguments: poolCases + dilatedPoolCases)
  func maxMatchesReference(_ c: PoolCase) throws {
    let g = try c.geometry()
    let x = randomFloats(c.input.reduce(1, *), seed: 11)
    let count = g.planes * g.outputSize.reduce(1, *)
    var fast = [Float](repeating: .nan, count: count)
    var reference = [Float](repeating: .nan, count: count)
    maxPool(g, input: x, output: &fast, pool: convTestPool)
    Reference.maxPool(g, input: x, output: &reference)
    compare(fast, reference, "\(c)")
  }

  @Test(arguments: poolCases, [false, true])
  func averageMatchesReference(_ c: PoolCase, countIncludePad: Bool) throws {
    let g = try c.geometry()
    let x = randomFloats(c.input.reduce(1, *), seed: 12)
    let count = g.planes * g.outputSize.reduce(1, *)
    var fast = [Float](repeating: .nan, count: count)
    var reference = [Float](repeating: .nan, count: count)
    avgPool(g, countIncludePad: countIncludePad, input: x, output: &fast, pool: convTestPool)
    Reference.avgPool(g, countIncludePad: countIncludePad, input: x, output: &reference)
    compare(fast, reference, "\(c) includePad \(countIncludePad)")
  }

  @Test(arguments: [
    ([3, 10, 11], [3, 4]), ([2, 5, 6], [7, 7]), ([1, 1, 1], [1, 1]), ([4, 17], [5]),
    ([2, 13], [13]), ([2, 3, 7, 9], [2, 3, 4]), ([64, 14, 14], [1, 1]),
  ])
  func adaptiveMatchesReference(_ input: [Int], _ outputSize: [Int]) {
    let planes = input[0]
    let size = Array(input.dropFirst())
    let x = randomFloats(input.reduce(1, *), seed: 13)
    let count = planes * outputSize.reduce(1, *)
    var fast = [Float](repeating: .nan, count: count)
    var reference = [Float](repeating: .nan, count: count)
    adaptiveAvgPool(
      planes: planes, inputSize: size, outputSize: outputSize, input: x, output: &fast,
      pool: convTestPool)
    Reference.adaptiveAvgPool(
      planes: planes, inputSize: size, outputSize: outputSize, input: x, output: &reference)
    compare(fast, reference, "\(shapeText(input)) → \(shapeText(outputSize))")
  }

  @Test(arguments: [[1, 1], [3, 7], [5, 8], [2, 3, 5, 7], [17, 1000]])
  func globalMatchesReference(_ input: [Int]) throws {
    let x = Tensor(randomFloats(input.reduce(1, *), seed: 14), shape: input)
    let spatialRank = input.count - 1
    let fast = try globalAvgPool(x, spatialRank: spatialRank, pool: convTestPool)
    #expect(fast.shape == [input[0]])
    let kept = try globalAvgPool(x, spatialRank: spatialRank, keepDims: true)
    #expect(kept.shape == [input[0]] + Array(repeating: 1, count: spatialRank))
    var reference = [Float](repeating: .nan, count: input[0])
    Reference.adaptiveAvgPool(
      planes: input[0], inputSize: Array(input.dropFirst()),
      outputSize: Array(repeating: 1, count: spatialRank), input: x.floats(), output: &reference)
    compare(fast.floats(), reference, shapeText(input))
  }

  @Test func maxPropagatesNaN() throws {
    var x = [Float](repeating: 1, count: 16)
    x[5] = .nan
    let y = try maxPool(Tensor(x, shape: [1, 4, 4]), spatialRank: 2, kernelSize: [2])
    let values = y.floats()
    #expect(values[0].isNaN && values[1] == 1 && values[2] == 1 && values[3] == 1, "\(values)")
  }

  @Test func rejectsBadArguments() throws {
    #expect(throws: TensorError.self) {
      try PoolingGeometry(planes: 1, inputSize: [8, 8], kernelSize: [3], padding: [2])
    }
    #expect(throws: TensorError.self) {
      try PoolingGeometry(planes: 1, inputSize: [2, 8], kernelSize: [3])
    }
    #expect(throws: TensorError.self) {
      try PoolingGeometry(planes: 1, inputSize: [8, 8], kernelSize: [3, 3, 3])
    }
    #expect(throws: TensorError.self) {
      try maxPool(Tensor(zeros: [8, 8]), spatialRank: 2, kernelSize: [2])
    }
    #expect(throws: TensorError.self) {
      try adaptiveAvgPool(Tensor(zeros: [1, 8, 8]), outputSize: [0, 2])
    }
  }

  /// PyTorch's output sizes, including ceil mode dropping a window that would start in the padding.
  @Test func outputSizesFollowPyTorch() throws {
    func size(_ n: Int, _ k: Int, _ s: Int, _ p: Int, ceil: Bool) throws -> Int {
      try PoolingGeometry(
        planes: 1, inputSize: [n], kernelSize: [k], stride: [s], padding: [p], ceilMode: ceil
      ).outputSize[0]
    }
    #expect(try size(10, 3, 2, 1, ceil: false) == 5)
    #expect(try size(10, 3, 2, 1, ceil: true) == 6)
    #expect(try size(5, 2, 2, 1, ceil: true) == 3)
    #expect(try size(6, 3, 3, 1, ceil: true) == 3)
    #expect(try size(112, 3, 2, 1, ceil: false) == 56)
  }

  @Test(
    arguments: convGoldenNames(prefix: "max_pool") + convGoldenNames(prefix: "avg_pool")
      + convGoldenNames(prefix: "adaptive"))
  func matchesTorchGolden(_ name: String) throws {
    let golden = try loadConvGolden(name)
    let op = golden["op"] as! String
    let shape = convGoldenInts(golden["input_shape"])
    let x = Tensor(convGoldenFloats(golden["input"]), shape: shape)
    let y: Tensor
    if op.hasPrefix("adaptive") {
      y = try adaptiveAvgPool(x, outputSize: convGoldenInts(golden["output_size"]))
    } else {
      let rank = Int(String(op[op.index(op.endIndex, offsetBy: -2)]))!
      let kernel = convGoldenInts(golden["kernel_size"])
      let stride = convGoldenInts(golden["stride"])
      let padding = golden["padding"].map(convGoldenInts) ?? [0]
      let ceilMode = golden["ceil_mode"] as? Bool ?? false
      if op.hasPrefix("max") {
        y = try maxPool(
          x, spatialRank: rank, kernelSize: kernel, stride: stride, padding: padding,
          dilation: golden["dilation"].map(convGoldenInts) ?? [1], ceilMode: ceilMode)
      } else {
        y = try avgPool(
          x, spatialRank: rank, kernelSize: kernel, stride: stride, padding: padding,
          ceilMode: ceilMode, countIncludePad: golden["count_include_pad"] as? Bool ?? true)
      }
    }
    #expect(y.shape == convGoldenInts(golden["output_shape"]))
    compare(y.floats(), convGoldenFloats(golden["output"]), name)
  }
}
