import MMCore
import MMTestSupport
import Testing

@testable import MMMediaIO

/// `Image.resized` against PIL's `Image.resize` (goldens: Scripts/goldens/image.py).
/// Tolerance: 0 — every resized sample must equal Pillow's (the bar is ≤ 1/255).
@Suite("Image resize") struct ImageResizeTests {
  /// (fixture stem, filter, width, height), as in the script's RESIZES.
  static let cases: [(String, ResampleFilter, Int, Int)] = [
    ("rgb8", .bicubic, 33, 21), ("rgb8", .bilinear, 37, 29), ("rgb8", .bicubic, 71, 53),
    ("rgb8", .bilinear, 70, 52), ("rgb8", .box, 20, 15), ("rgb8", .hamming, 50, 40),
    ("rgb8", .lanczos, 45, 31), ("rgb8", .nearest, 29, 61), ("rgb8", .nearest, 75, 20),
    ("rgb8", .bicubic, 48, 30), ("rgb8", .bicubic, 17, 36), ("rgb8", .bicubic, 3, 2),
    ("rgb8", .bilinear, 1, 1), ("rgb8", .lanczos, 100, 20), ("rgb8", .bicubic, 45, 12),
    ("grey8", .bicubic, 33, 21), ("grey8", .bilinear, 70, 52),
    ("rgba8", .bicubic, 33, 21), ("rgba8", .bilinear, 55, 41), ("rgba8", .nearest, 33, 21),
    ("greyalpha8", .bicubic, 45, 31),
    ("grey16", .bicubic, 20, 13), ("grey16", .bilinear, 50, 40), ("grey16", .bicubic, 26, 10),
  ]

  @Test(arguments: cases)
  func matchesPIL(stem: String, filter: ResampleFilter, width: Int, height: Int) throws {
    let image = try ImageFiles.decode(stem + ".png")
    let resized = try image.resized(width: width, height: height, filter: filter)
    #expect(resized.width == width && resized.height == height && resized.mode == image.mode)
    let golden = try ImageFiles.golden("resize_\(stem)_\(filter.rawValue)_\(width)x\(height)")
    #expect(Array(golden.shape.prefix(2)) == [height, width])
    let result = sampleDifference(sampleInts(resized), try goldenInts(golden))
    #expect(result.maxDifference == 0, "\(stem) \(filter) \(width)×\(height): \(result.report)")
  }

  /// Float planes resize as PIL's mode "F". Tolerance: 0 (same double arithmetic).
  @Test(arguments: [(ResampleFilter.bicubic, 33, 21), (.bilinear, 55, 41), (.bicubic, 40, 8)])
  func floatPlanesMatchPILModeF(filter: ResampleFilter, width: Int, height: Int) throws {
    let grey = try ImageFiles.decode("grey8.png")
    let plane = Tensor(sampleInts(grey).map { Float($0) }, shape: [1, grey.height, grey.width])
    let resized = try ImageResampler.resize(planes: plane, height: height, width: width, filter: filter)
    #expect(resized.shape == [1, height, width])
    let golden = try ImageFiles.golden("resize_greyF_\(filter.rawValue)_\(width)x\(height)")
    let (worst, _) = maxAbsDifference(resized.floats(), golden.floats())
    #expect(worst == 0, "mode F \(filter): \(differenceReport(resized.floats(), golden.floats()))")
  }

  /// Every output row is computed by one task: 1 and 3 threads give identical bytes.
  @Test func threadCountDoesNotChangeTheResult() throws {
    let image = try ImageFiles.decode("rgb8.png")
    let pixels = try #require(image.pixels8)
    func run(_ threads: Int) -> [UInt8] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      return PILResample.resize(
        PILResample.Fixed8.self, pixels, width: image.width, height: image.height, channels: 3, outWidth: 61,
        outHeight: 29, filter: .bicubic, pool: pool)
    }
    let one = run(1)
    #expect(one == run(3))
    #expect(one == (try image.resized(width: 61, height: 29)).pixels8)
  }

  @Test func sameSizeAndBadSizes() throws {
    let image = try ImageFiles.decode("rgb8.png")
    #expect(try image.resized(width: image.width, height: image.height) == image)
    #expect(throws: TensorError.self) { try image.resized(width: 0, height: 5) }
    #expect(throws: TensorError.self) {
      try ImageResampler.resize(
        planes: Tensor(zeros: [2, 3, 4], dtype: .u8), height: 2, width: 2, filter: .box)
    }
  }

  /// Pillow's coefficient rules: antialiasing widens the support by the scale when shrinking,
  /// every row of weights sums to 1 within rounding.
  @Test func coefficientsWidenWhenShrinking() {
    let down = PILResample.coefficients(inSize: 640, in1: 640, outSize: 224, filter: .bicubic)
    #expect(down.ksize == Int((2 * 640.0 / 224).rounded(.up)) * 2 + 1)
    let up = PILResample.coefficients(inSize: 10, in1: 10, outSize: 33, filter: .bicubic)
    #expect(up.ksize == 5)
    for xx in 0..<224 {
      let sum = down.weights[(xx * down.ksize)..<((xx + 1) * down.ksize)].reduce(0, +)
      #expect(abs(sum - 1) < 1e-12)
    }
  }
}
