import Foundation
import MMCore

/// Where one attention operand's elements live: (head h, position t, channel c) is at
/// `h·headStride + t·rowStride + c`. Channels are always contiguous.
///
/// `.headMajor` is the plain `[heads, length, headDim]` layout. `.tokenMajor` reads the
/// `[length, heads, headDim]` output of a Q/K/V projection in place (no transpose copy); any
/// other strides work too, e.g. a fused QKV buffer `[length, 3·heads·headDim]` with
/// `rowStride: 3·heads·headDim` and the base pointer offset to the Q, K or V slice.
public struct AttentionLayout: Sendable, Equatable {
  public var headStride: Int
  public var rowStride: Int

  public init(headStride: Int, rowStride: Int) {
    self.headStride = headStride
    self.rowStride = rowStride
  }

  /// `[heads, length, headDim]`, contiguous.
  public static func headMajor(length: Int, headDim: Int) -> AttentionLayout {
    AttentionLayout(headStride: length * headDim, rowStride: headDim)
  }

  /// `[length, heads, headDim]`, contiguous (tokens outermost).
  public static func tokenMajor(heads: Int, headDim: Int) -> AttentionLayout {
    AttentionLayout(headStride: headDim, rowStride: heads * headDim)
  }
}

/// An additive mask on the attention scores (added after scaling; −∞ removes a key).
public enum AttentionMask {
  case none
  /// `[Lq, Lk]` contiguous, the same for every head.
  case shared(UnsafePointer<Float>)
  /// `[heads, Lq, Lk]` contiguous, one per query head.
  case perHead(UnsafePointer<Float>)
}

/// Keys per block of the online softmax (eight SIMD8 lanes of scores per query row).
let attentionKeyBlock = 64

/// out = softmax(scale · q·kᵀ + mask) · v, per head, without materializing the Lq×Lk scores
/// (flash-attention style: keys are visited in blocks of 64 with a running max and sum).
///
/// - q: `[heads, Lq, d]`, k and v: `[kvHeads, Lk, d]`, out: `[heads, Lq, d]` by default; pass
///   layouts for other strides (see `AttentionLayout`). `out` must not overlap the inputs.
/// - Grouped-query attention: `heads % kvHeads == 0`; head h reads kv head `h / (heads / kvHeads)`.
/// - scale defaults to 1/√d.
/// - causal: query i sits at absolute position `past + i`, key j at position j, and query i sees
///   keys `j ≤ past + i` (decoding with a KV cache of `past` tokens: Lk = past + Lq). With
///   `past = 0` and Lq ≠ Lk this is PyTorch's top-left aligned `is_causal`.
/// - A query row that sees no key (every score −∞: causal and/or mask) gives zeros, not NaN.
///
/// Work is split over (kv head, block of ≤ 32 query rows), where the rows of all query heads
/// sharing a kv head are processed together so each key block is loaded once per group.
public func scaledDotProductAttention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
  out: UnsafeMutablePointer<Float>,
  heads: Int, kvHeads: Int, queryLength: Int, keyLength: Int, headDim: Int,
  qLayout: AttentionLayout? = nil, kLayout: AttentionLayout? = nil,
  vLayout: AttentionLayout? = nil, outLayout: AttentionLayout? = nil,
  scale: Float? = nil, causal: Bool = false, past: Int = 0, mask: AttentionMask = .none,
  pool: ThreadPool = .shared
) {
  precondition(
    heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
    "attention: heads \(heads) not a multiple of kvHeads \(kvHeads)")
  precondition(headDim > 0 && queryLength >= 0 && keyLength >= 0 && past >= 0, "attention: bad sizes")
  let geometry = AttentionGeometry(
    heads: heads, group: heads / kvHeads, queryLength: queryLength, keyLength: keyLength,
    headDim: headDim,
    q: qLayout ?? .headMajor(length: queryLength, headDim: headDim),
    k: kLayout ?? .headMajor(length: keyLength, headDim: headDim),
    v: vLayout ?? .headMajor(length: keyLength, headDim: headDim),
    out: outLayout ?? .headMajor(length: queryLength, headDim: headDim),
    scale: scale ?? 1 / Float(headDim).squareRoot(), causal: causal, past: past)
  let rowsPerGroup = geometry.group * queryLength
  let wanted = (kvHeads * rowsPerGroup + 2 * pool.threadCount - 1) / (2 * pool.threadCount)
  let blockRows = min(32, max(4, wanted))
  let blocksPerGroup = (rowsPerGroup + blockRows - 1) / blockRows
  pool.parallelFor(kvHeads * blocksPerGroup) { task in
    let kvHead = task / blocksPerGroup
    let first = (task % blocksPerGroup) * blockRows
    attentionBlock(
      geometry, q: q, k: k, v: v, out: out, mask: mask, kvHead: kvHead,
      rows: first..<min(rowsPerGroup, first + blockRows))
  }
}

/// Sizes, strides and options of one attention call.
struct AttentionGeometry {
  let heads, group, queryLength, keyLength, headDim: Int
  let q, k, v, out: AttentionLayout
  let scale: Float
  let causal: Bool
  let past: Int
}

/// One task: query rows `rows` of the group sharing kv head `kvHead`. Row r is query head
/// `kvHead·group + r / Lq`, query `r % Lq`.
private func attentionBlock(
  _ g: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
  v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, mask: AttentionMask,
  kvHead: Int, rows: Range<Int>
) {
  let d = g.headDim
  let dPad = (d + 7) & ~7
  let bk = attentionKeyBlock
  let count = rows.count
  // Scratch: kᵀ block [d, 64], padded v block [64, dPad], scores [count, 64], output
  // accumulators [count, dPad], running max and sum [count].
  let scratch = UnsafeMutablePointer<Float>.allocate(
    capacity: d * bk + bk * dPad + count * bk + count * dPad + 2 * count)
  defer { scratch.deallocate() }
  let kt = scratch
  let vPadded = kt + d * bk
  let scores = vPadded + bk * dPad
  let acc = scores + count * bk
  let runningMax = acc + count * dPad
  let runningSum = runningMax + count
  acc.initialize(repeating: 0, count: count * dPad)
  runningMax.initialize(repeating: -.infinity, count: count)
  runningSum.initialize(repeating: 0, count: count)
  vPadded.initialize(repeating: 0, count: bk * dPad)

  let head = { (r: Int) in kvHead * g.group + r / g.queryLength }
  let query = { (r: Int) in r % g.queryLength }
  var keyEnd = g.keyLength
  if g.causal {
    let lastQuery = rows.map(query).max() ?? 0
    keyEnd = min(g.keyLength, g.past + lastQuery + 1)
  }
  let kBase = k + kvHead * g.k.headStride
  let vBase = v + kvHead * g.v.headStride
  let lanes = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)

  var start = 0
  while start < keyEnd {
    let n = min(bk, keyEnd - start)
    // kᵀ block: scores of a query row become eight SIMD8 FMAs per channel, no horizontal sums.
    for j in 0..<n {
      let row = kBase + (start + j) * g.k.rowStride
      for c in 0..<d { kt[c * bk + j] = row[c] }
    }
    if n < bk { for c in 0..<d { (kt + c * bk + n).update(repeating: 0, count: bk - n) } }
    // v rows, read in place when their width is a whole number of vectors.
    let vRows: UnsafePointer<Float>
    let vStride: Int
    if d == dPad {
      vRows = vBase + start * g.v.rowStride
      vStride = g.v.rowStride
    } else {
      for j in 0..<n { (vPadded + j * dPad).update(from: vBase + (start + j) * g.v.rowStride, count: d) }
      vRows = UnsafePointer(vPadded)
      vStride = dPad
    }

    for (slot, r) in rows.enumerated() {
      let h = head(r)
      let i = query(r)
      let visible = g.causal ? min(n, max(0, g.past + i - start + 1)) : n
      if visible == 0 { continue }
      let qRow = q + h * g.q.headStride + i * g.q.rowStride
      var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
      var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
      for c in 0..<d {
        let qc = SIMD8<Float>(repeating: qRow[c])
        let kc = kt + c * bk
        a0 = a0.addingProduct(qc, load8(kc))
        a1 = a1.addingProduct(qc, load8(kc + 8))
        a2 = a2.addingProduct(qc, load8(kc + 16))
        a3 = a3.addingProduct(qc, load8(kc + 24))
        a4 = a4.addingProduct(qc, load8(kc + 32))
        a5 = a5.addingProduct(qc, load8(kc + 40))
        a6 = a6.addingProduct(qc, load8(kc + 48))
        a7 = a7.addingProduct(qc, load8(kc + 56))
      }
      let sRow = scores + slot * bk
      let scale = SIMD8<Float>(repeating: g.scale)
      store8(a0 * scale, sRow)
      store8(a1 * scale, sRow + 8)
      store8(a2 * scale, sRow + 16)
      store8(a3 * scale, sRow + 24)
      store8(a4 * scale, sRow + 32)
      store8(a5 * scale, sRow + 40)
      store8(a6 * scale, sRow + 48)
      store8(a7 * scale, sRow + 56)
      let maskRow: UnsafePointer<Float>? =
        switch mask {
        case .none: nil
        case .shared(let m): m + i * g.keyLength + start
        case .perHead(let m): m + (h * g.queryLength + i) * g.keyLength + start
        }
      var blockMax = SIMD8<Float>(repeating: -.infinity)
      var chunk = 0
      while chunk < visible {
        var s = load8(sRow + chunk)
        if let maskRow {
          s += chunk + 8 <= visible ? load8(maskRow + chunk) : loadPartial(maskRow + chunk, visible - chunk)
        }
        s = s.replacing(with: -.infinity, where: lanes + Float(chunk) .>= Float(visible))
        blockMax = blockMax.replacing(with: s, where: s .> blockMax .| s .!= s)
        store8(s, sRow + chunk)
        chunk += 8
      }
      let oldMax = runningMax[slot]
      let newMax = max(oldMax, blockMax.max())
      if newMax == -.infinity { continue }
      let correction = Foundation.exp(oldMax - newMax)
      runningMax[slot] = newMax
      let shift = SIMD8<Float>(repeating: newMax)
      var total = SIMD8<Float>()
      var chunkStart = 0
      while chunkStart < visible {
        let p = vExp(load8(sRow + chunkStart) - shift)
        store8(p, sRow + chunkStart)
        total += p
        chunkStart += 8
      }
      runningSum[slot] = runningSum[slot] * correction + total.sum()
      accumulateWeightedRows(
        acc + slot * dPad, width: dPad, correction: correction, weights: sRow, count: visible,
        rows: vRows, stride: vStride)
    }
    start += n
  }

  for (slot, r) in rows.enumerated() {
    let dst = out + head(r) * g.out.headStride + query(r) * g.out.rowStride
    if runningMax[slot] == -.infinity {
      dst.update(repeating: 0, count: d)
      continue
    }
    let inv = SIMD8<Float>(repeating: 1 / runningSum[slot])
    let src = acc + slot * dPad
    var c = 0
    while c + 8 <= d {
      store8(load8(src + c) * inv, dst + c)
      c += 8
    }
    if c < d { storePartial(load8(src + c) * inv, dst + c, d - c) }
  }
}

/// o[0..<width] = correction·o + Σⱼ weights[j]·rows[j·stride ..< j·stride + width], width a
/// multiple of 8, four vectors of o held in registers across the j loop.
@inline(__always)
private func accumulateWeightedRows(
  _ o: UnsafeMutablePointer<Float>, width: Int, correction: Float, weights: UnsafePointer<Float>,
  count: Int, rows: UnsafePointer<Float>, stride: Int
) {
  let corr = SIMD8<Float>(repeating: correction)
  var c = 0
  while c + 32 <= width {
    var o0 = load8(o + c) * corr, o1 = load8(o + c + 8) * corr
    var o2 = load8(o + c + 16) * corr, o3 = load8(o + c + 24) * corr
    for j in 0..<count {
      let w = SIMD8<Float>(repeating: weights[j])
      let row = rows + j * stride + c
      o0 = o0.addingProduct(w, load8(row))
      o1 = o1.addingProduct(w, load8(row + 8))
      o2 = o2.addingProduct(w, load8(row + 16))
      o3 = o3.addingProduct(w, load8(row + 24))
    }
    store8(o0, o + c)
    store8(o1, o + c + 8)
    store8(o2, o + c + 16)
    store8(o3, o + c + 24)
    c += 32
  }
  while c < width {
    var o0 = load8(o + c) * corr
    for j in 0..<count { o0 = o0.addingProduct(SIMD8(repeating: weights[j]), load8(rows + j * stride + c)) }
    store8(o0, o + c)
    c += 8
  }
}
