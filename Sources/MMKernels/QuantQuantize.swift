import MMCore

/// dst = `count` values of `src` (a whole number of blocks) in `format`, with ggml's reference
/// quantizers (`quantize_row_*_ref`): the bytes equal ggml's and `gguf.quants.quantize`'s.
///
/// Supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0 and Q8_K (the activation format). The K-quant
/// weight formats (Q4_K, Q5_K, Q6_K) come from llama.cpp's quantizer, not from here.
public func quantizeRow(
  _ format: QuantFormat, _ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer
) {
  precondition(count % format.blockLength == 0, "quantizeRow: \(count) is not a whole number of blocks")
  let blocks = count / format.blockLength
  let size = format.blockByteCount
  let length = format.blockLength
  switch format {
  case .f32: dst.copyMemory(from: src, byteCount: 4 * count)
  case .f16:
    for i in 0..<count { dst.storeBytes(of: Float16(src[i]), toByteOffset: 2 * i, as: Float16.self) }
  case .bf16:
    for i in 0..<count {
      dst.storeBytes(of: BFloat16(src[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
    }
  case .q4_0: for b in 0..<blocks { quantizeQ4_0(src + b * length, dst + b * size) }
  case .q4_1: for b in 0..<blocks { quantizeQ4_1(src + b * length, dst + b * size) }
  case .q8_0: for b in 0..<blocks { quantizeQ8_0(src + b * length, dst + b * size) }
  case .q8_K: for b in 0..<blocks { quantizeQ8_K(src + b * length, dst + b * size) }
  case .q4_K, .q5_K, .q6_K:
    preconditionFailure("quantizeRow: \(format) weights come from llama.cpp's quantizer")
  }
}

/// The element of largest magnitude (the first one on ties), as ggml's reference loops find it.
@inline(__always)
private func signedAbsMax(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
  var amax: Float = 0
  var max: Float = 0
  for j in 0..<count where amax < abs(x[j]) {
    amax = abs(x[j])
    max = x[j]
  }
  return max
}

@inline(__always)
private func storeF16(_ value: Float, _ dst: UnsafeMutableRawPointer, _ offset: Int) {
  dst.storeBytes(of: Float16(value).bitPattern, toByteOffset: offset, as: UInt16.self)
}

/// Q4_0: d = max / −8 (max: the element of largest magnitude), q = min(15, ⌊x/d + 8.5⌋).
private func quantizeQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
  let d = signedAbsMax(x, 32) / -8
  let id: Float = d != 0 ? 1 / d : 0
  storeF16(d, y, 0)
  for j in 0..<16 {
    let q0 = UInt8(min(15, Int(x[j] * id + 8.5)))
    let q1 = UInt8(min(15, Int(x[j + 16] * id + 8.5)))
    y.storeBytes(of: q0 | q1 << 4, toByteOffset: 2 + j, as: UInt8.self)
  }
}

/// Q4_1: d = (max − min) / 15, m = min, q = min(15, ⌊(x − min)/d + 0.5⌋).
private func quantizeQ4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
  var lo = Float.greatestFiniteMagnitude
  var hi = -Float.greatestFiniteMagnitude
  for j in 0..<32 {
    lo = min(lo, x[j])
    hi = max(hi, x[j])
  }
  let d = (hi - lo) / 15
  let id: Float = d != 0 ? 1 / d : 0
  storeF16(d, y, 0)
  storeF16(lo, y, 2)
  for j in 0..<16 {
    let q0 = UInt8(min(15, Int((x[j] - lo) * id + 0.5)))
    let q1 = UInt8(min(15, Int((x[j + 16] - lo) * id + 0.5)))
    y.storeBytes(of: q0 | q1 << 4, toByteOffset: 4 + j, as: UInt8.self)
  }
}

/// Q8_0: d = max|x| / 127, q = round(x/d) (halves away from zero).
private func quantizeQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
  var amax: Float = 0
  for j in 0..<32 { amax = max(amax, abs(x[j])) }
  let d = amax / 127
  let id: Float = d != 0 ? 1 / d : 0
  storeF16(d, y, 0)
  for j in 0..<32 {
    y.storeBytes(of: Int8((x[j] * id).rounded()), toByteOffset: 2 + j, as: Int8.self)
  }
}

/// Q8_K: iscale = −127 / max (the signed element of largest magnitude), q = min(127,
/// round-half-even(iscale·x)), d = 1 / iscale, plus the sum of each 16 quants.
private func quantizeQ8_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
  let max = signedAbsMax(x, 256)
  if max == 0 {
    y.initializeMemory(as: UInt8.self, repeating: 0, count: QuantFormat.q8_K.blockByteCount)
    return
  }
  let iscale = -127 / max
  for j in 0..<256 {
    let v = Int((iscale * x[j]).rounded(.toNearestOrEven))
    y.storeBytes(of: Int8(min(127, v)), toByteOffset: 4 + j, as: Int8.self)
  }
  for g in 0..<16 {
    var sum: Int16 = 0
    for i in 0..<16 { sum += Int16(y.load(fromByteOffset: 4 + 16 * g + i, as: Int8.self)) }
    y.storeBytes(of: sum, toByteOffset: 260 + 2 * g, as: Int16.self)
  }
  y.storeBytes(of: 1 / iscale, as: Float.self)
}
