import Foundation
import MMCore

/// PIL's resampling filters (`PIL.Image.Resampling`).
public enum ResampleFilter: String, Sendable, Equatable, CaseIterable {
  case nearest
  case box
  case bilinear
  case hamming
  /// Keys' cubic with a = −0.5 (PIL's and torchvision's BICUBIC on PIL images).
  case bicubic
  /// Lanczos-3.
  case lanczos

  /// Half-width of the filter at scale 1.
  var support: Double {
    switch self {
    case .nearest, .box: return 0.5
    case .bilinear, .hamming: return 1
    case .bicubic: return 2
    case .lanczos: return 3
    }
  }

  /// The filters of Pillow's libImaging/Resample.c, expression for expression.
  func weight(_ t: Double) -> Double {
    var x = t
    switch self {
    case .nearest, .box:
      return x > -0.5 && x <= 0.5 ? 1 : 0
    case .bilinear:
      if x < 0 { x = -x }
      return x < 1 ? 1 - x : 0
    case .hamming:
      if x < 0 { x = -x }
      if x == 0 { return 1 }
      if x >= 1 { return 0 }
      x = x * Double.pi
      // 0.54f and 0.46f: float literals in the C source.
      return sin(x) / x * (Double(Float(0.54)) + Double(Float(0.46)) * cos(x))
    case .bicubic:
      let a = -0.5
      if x < 0 { x = -x }
      if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
      if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
      return 0
    case .lanczos:
      func sinc(_ v: Double) -> Double {
        if v == 0 { return 1 }
        let p = v * Double.pi
        return sin(p) / p
      }
      return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0
    }
  }
}

/// Pillow's separable resampling (libImaging/Resample.c), reproduced exactly: coefficients in
/// double precision with the filter widened by the scale when downscaling (antialiasing), then a
/// horizontal pass over the rows the vertical pass needs, then a vertical pass. 8-bit samples
/// use Pillow's fixed-point coefficients (22 fractional bits) and round and clip to uint8 after
/// each pass; 16-bit samples ("I;16") and floats ("F") accumulate in double.
enum PILResample {
  /// Per output position: the first input index and how many inputs it weighs, and `ksize`
  /// weights (normalized to sum 1).
  struct Coefficients {
    var ksize: Int
    var bounds: [Int]
    var weights: [Double]
  }

  /// Pillow's `precompute_coeffs` for the input span [in0, in1) of `inSize` samples.
  static func coefficients(inSize: Int, in0: Float = 0, in1: Float, outSize: Int, filter: ResampleFilter)
    -> Coefficients
  {
    let scale = Double(in1 - in0) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = filter.support * filterScale
    let ksize = Int(support.rounded(.up)) * 2 + 1
    var bounds = [Int](repeating: 0, count: outSize * 2)
    var weights = [Double](repeating: 0, count: outSize * ksize)
    let inverse = 1.0 / filterScale
    for xx in 0..<outSize {
      let center = Double(in0) + (Double(xx) + 0.5) * scale
      var total = 0.0
      let xmin = max(0, Int(center - support + 0.5))
      let xmax = min(inSize, Int(center + support + 0.5)) - xmin
      for x in 0..<max(0, xmax) {
        let w = filter.weight((Double(x + xmin) - center + 0.5) * inverse)
        weights[xx * ksize + x] = w
        total += w
      }
      if total != 0 {
        for x in 0..<max(0, xmax) { weights[xx * ksize + x] /= total }
      }
      bounds[xx * 2] = xmin
      bounds[xx * 2 + 1] = xmax
    }
    return Coefficients(ksize: ksize, bounds: bounds, weights: weights)
  }

  /// Samples one pass reads and writes, with how they are accumulated.
  protocol Kernel {
    associatedtype Sample
    associatedtype Weight
    static func weights(_ coefficients: Coefficients) -> [Weight]
    static func sum(_ input: UnsafePointer<Sample>, step: Int, _ weights: UnsafePointer<Weight>, count: Int)
      -> Sample
  }

  /// 8-bit: PRECISION_BITS = 32 − 8 − 2 fixed point, rounding bias 2^21, clip to 0…255.
  enum Fixed8: Kernel {
    static let precisionBits: Int32 = 22

    static func weights(_ coefficients: Coefficients) -> [Int32] {
      coefficients.weights.map {
        let scaled = $0 * Double(1 << precisionBits)
        return $0 < 0 ? Int32(-0.5 + scaled) : Int32(0.5 + scaled)
      }
    }

    @inline(__always)
    static func sum(_ input: UnsafePointer<UInt8>, step: Int, _ weights: UnsafePointer<Int32>, count: Int)
      -> UInt8
    {
      var ss: Int32 = 1 << (precisionBits - 1)
      for i in 0..<count { ss = ss &+ Int32(input[i * step]) &* weights[i] }
      return UInt8(clamping: ss >> precisionBits)
    }
  }

  /// 16-bit ("I;16"): double accumulation, ROUND_UP (half away from zero), clip to 0…65535.
  enum Round16: Kernel {
    static func weights(_ coefficients: Coefficients) -> [Double] { coefficients.weights }

    @inline(__always)
    static func sum(_ input: UnsafePointer<UInt16>, step: Int, _ weights: UnsafePointer<Double>, count: Int)
      -> UInt16
    {
      var ss = 0.0
      for i in 0..<count { ss += Double(input[i * step]) * weights[i] }
      let rounded = Int(ss >= 0 ? ss + 0.5 : ss - 0.5)
      return UInt16(clamping: rounded)
    }
  }

  /// 32-bit float ("F"): double accumulation, stored as float after each pass.
  enum Float32: Kernel {
    static func weights(_ coefficients: Coefficients) -> [Double] { coefficients.weights }

    @inline(__always)
    static func sum(_ input: UnsafePointer<Float>, step: Int, _ weights: UnsafePointer<Double>, count: Int)
      -> Float
    {
      var ss = 0.0
      for i in 0..<count { ss += Double(input[i * step]) * weights[i] }
      return Float(ss)
    }
  }

  /// Resizes interleaved samples `[height][width][channels]` to `[outHeight][outWidth][channels]`
  /// with every channel filtered alike (premultiplying alpha is the caller's business), in
  /// Pillow 13's pass order.
  static func resize<K: Kernel>(
    _ kernel: K.Type, _ input: [K.Sample], width: Int, height: Int, channels: Int, outWidth: Int,
    outHeight: Int,
    filter: ResampleFilter, pool: ThreadPool = .shared
  ) -> [K.Sample] {
    let horizontal = coefficients(inSize: width, in1: Float(width), outSize: outWidth, filter: filter)
    var vertical = coefficients(inSize: height, in1: Float(height), outSize: outHeight, filter: filter)
    // Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks
    // by more than twice as many pixels as the width; the passes round to 8 bits in between, so
    // the order shows in the result.
    if outWidth != width, outHeight < height, height - outHeight > 2 * (width - outWidth) {
      let rows = verticalPass(K.self, input, width * channels, vertical, outHeight, pool)
      return horizontalPass(K.self, rows, width, channels, horizontal, outHeight, 0, pool)
    }
    var data = input
    if outWidth != width {
      // Only rows the vertical pass reads go through the horizontal pass.
      let first = outHeight != height ? vertical.bounds[0] : 0
      let last =
        outHeight != height ? vertical.bounds[2 * outHeight - 2] + vertical.bounds[2 * outHeight - 1] : height
      for i in 0..<outHeight { vertical.bounds[i * 2] -= first }
      data = horizontalPass(K.self, data, width, channels, horizontal, last - first, first, pool)
    }
    if outHeight != height {
      data = verticalPass(K.self, data, outWidth * channels, vertical, outHeight, pool)
    }
    return data
  }

  /// Rows `offset ..< offset + rows` of `input` (`width` pixels each) filtered along x.
  static func horizontalPass<K: Kernel>(
    _ kernel: K.Type, _ input: [K.Sample], _ width: Int, _ channels: Int, _ horizontal: Coefficients,
    _ rows: Int, _ offset: Int, _ pool: ThreadPool
  ) -> [K.Sample] {
    let outWidth = horizontal.bounds.count / 2
    let weights = K.weights(horizontal)
    return pass(rows, outWidth * channels, pool) { row, out in
      input.withUnsafeBufferPointer { src in
        weights.withUnsafeBufferPointer { w in
          let line = src.baseAddress! + (row + offset) * width * channels
          for xx in 0..<outWidth {
            let (xmin, count) = (horizontal.bounds[xx * 2], horizontal.bounds[xx * 2 + 1])
            let k = w.baseAddress! + xx * horizontal.ksize
            for c in 0..<channels {
              out[xx * channels + c] = K.sum(line + xmin * channels + c, step: channels, k, count: count)
            }
          }
        }
      }
    }
  }

  /// `outHeight` rows filtered along y from rows of `rowLength` samples (bounds already relative
  /// to `input`'s first row).
  static func verticalPass<K: Kernel>(
    _ kernel: K.Type, _ input: [K.Sample], _ rowLength: Int, _ vertical: Coefficients,
    _ outHeight: Int, _ pool: ThreadPool
  ) -> [K.Sample] {
    let weights = K.weights(vertical)
    return pass(outHeight, rowLength, pool) { yy, out in
      input.withUnsafeBufferPointer { src in
        weights.withUnsafeBufferPointer { w in
          let (ymin, count) = (vertical.bounds[yy * 2], vertical.bounds[yy * 2 + 1])
          let k = w.baseAddress! + yy * vertical.ksize
          let top = src.baseAddress! + ymin * rowLength
          for j in 0..<rowLength { out[j] = K.sum(top + j, step: rowLength, k, count: count) }
        }
      }
    }
  }

  /// `lines` output lines of `length` samples, filled in parallel (each line by one task, so
  /// the result does not depend on the thread count).
  static func pass<T>(
    _ lines: Int, _ length: Int, _ pool: ThreadPool, _ body: (Int, UnsafeMutablePointer<T>) -> Void
  ) -> [T] {
    [T](unsafeUninitializedCapacity: lines * length) { buffer, initialized in
      let base = buffer.baseAddress!
      let grain = max(1, 16_384 / max(length, 1))
      pool.parallelRanges(lines, grain: grain) { range in
        for line in range { body(line, base + line * length) }
      }
      initialized = lines * length
    }
  }

  /// PIL's NEAREST resize. 8-bit and float images go through `ImagingScaleAffine` (source
  /// positions accumulated in double, 0.5 + k·scale); 16-bit ones through the generic affine
  /// transform (scale · (x + 0.5)). Positions outside the source stay 0, as in PIL.
  static func nearest<T: Numeric>(
    _ input: [T], width: Int, height: Int, channels: Int, outWidth: Int, outHeight: Int, accumulate: Bool
  ) -> [T] {
    let a0 = Double(Float(width)) / Double(outWidth)
    let a4 = Double(Float(height)) / Double(outHeight)
    func positions(_ count: Int, _ scale: Double, _ limit: Int) -> [Int] {
      var out = [Int](repeating: -1, count: count)
      var position = scale * 0.5
      for i in 0..<count {
        let v = accumulate ? position : scale * (Double(i) + 0.5)
        let index = v < 0 ? -1 : Int(v)
        out[i] = index < limit ? index : -1
        position += scale
      }
      return out
    }
    let xs = positions(outWidth, a0, width)
    let ys = positions(outHeight, a4, height)
    var out = [T](repeating: 0, count: outWidth * outHeight * channels)
    for y in 0..<outHeight where ys[y] >= 0 {
      for x in 0..<outWidth where xs[x] >= 0 {
        let from = (ys[y] * width + xs[x]) * channels
        let to = (y * outWidth + x) * channels
        for c in 0..<channels { out[to + c] = input[from + c] }
      }
    }
    return out
  }
}
