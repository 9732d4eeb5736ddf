import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// One attention configuration of the shape table.
struct AttentionCase: CustomTestStringConvertible, Sendable {
  let heads, kvHeads, lq, lk, d: Int
  var causal = false
  var past = 0
  var mask: MaskKind = .none

  enum MaskKind: Sendable { case none, shared, perHead }

  var testDescription: String {
    "h\(heads)/kv\(kvHeads) Lq\(lq) Lk\(lk) d\(d)\(causal ? " causal past \(past)" : "") mask \(mask)"
  }
}

/// heads ∈ {1, 4}, kvHeads ∈ {1, 2, 4}, Lq ∈ {1, 7, 64, 129}, Lk ∈ {1, 13, 128, 300},
/// d ∈ {8, 64, 80}, causal with and without a cache offset, both mask kinds.
private let cases: [AttentionCase] = {
  var list: [AttentionCase] = []
  let pairs = [(1, 1), (4, 1), (4, 2), (4, 4)]
  let lengths = [(1, 1), (1, 300), (7, 13), (64, 128), (129, 300), (7, 128)]
  for (index, (heads, kvHeads)) in pairs.enumerated() {
    for (lq, lk) in lengths {
      let d = [8, 64, 80][(index + lq) % 3]
      list.append(AttentionCase(heads: heads, kvHeads: kvHeads, lq: lq, lk: lk, d: d))
      if lk >= lq {
        // Decoding / chunked prefill: the queries are the last Lq positions.
        list.append(
          AttentionCase(heads: heads, kvHeads: kvHeads, lq: lq, lk: lk, d: d, causal: true, past: lk - lq))
      }
    }
  }
  list.append(AttentionCase(heads: 4, kvHeads: 2, lq: 64, lk: 64, d: 64, causal: true))
  // Top-left causal alignment: the last query row sees every key.
  list.append(AttentionCase(heads: 4, kvHeads: 2, lq: 129, lk: 128, d: 80, causal: true))
  list.append(AttentionCase(heads: 4, kvHeads: 4, lq: 7, lk: 13, d: 80, mask: .shared))
  list.append(
    AttentionCase(heads: 4, kvHeads: 1, lq: 129, lk: 300, d: 64, causal: true, past: 171, mask: .perHead))
  list.append(AttentionCase(heads: 1, kvHeads: 1, lq: 64, lk: 128, d: 8, mask: .perHead))
  // d not a multiple of 8.
  list.append(AttentionCase(heads: 4, kvHeads: 2, lq: 7, lk: 13, d: 12, causal: true, past: 3))
  return list
}()

private func run(
  _ c: AttentionCase, tokenMajor: Bool = false
) -> (fast: [Float], expected: [Float]) {
  let seed = UInt64(c.heads * 7 + c.kvHeads * 131 + c.lq * 1009 + c.lk * 17 + c.d)
  let q = randomFloats(c.heads * c.lq * c.d, seed: seed, low: -2, high: 2)
  let k = randomFloats(c.kvHeads * c.lk * c.d, seed: seed + 1, low: -2, high: 2)
  let v = randomFloats(c.kvHeads * c.lk * c.d, seed: seed + 2)
  var mask: [Float]? = nil
  switch c.mask {
  case .none: break
  case .shared, .perHead:
    var values = randomFloats(
      (c.mask == .perHead ? c.heads : 1) * c.lq * c.lk, seed: seed + 3, low: -3, high: 1)
    // Knock out some keys entirely, and one whole query row (it must come out as zeros).
    for (n, _) in values.enumerated() where n % 5 == 0 { values[n] = -.infinity }
    for j in 0..<c.lk { values[min(c.lq - 1, 3) * c.lk + j] = -.infinity }
    mask = values
  }
  let expected = Reference.attention(
    q: q, k: k, v: v, heads: c.heads, kvHeads: c.kvHeads, queryLength: c.lq, keyLength: c.lk,
    headDim: c.d, causal: c.causal, past: c.past, mask: mask, maskPerHead: c.mask == .perHead)
  // Token-major copies: [L, heads, d].
  func tokenMajorCopy(_ x: [Float], heads: Int, length: Int) -> [Float] {
    var t = x
    for h in 0..<heads {
      for i in 0..<length {
        for e in 0..<c.d { t[(i * heads + h) * c.d + e] = x[(h * length + i) * c.d + e] }
      }
    }
    return t
  }
  let qIn = tokenMajor ? tokenMajorCopy(q, heads: c.heads, length: c.lq) : q
  let kIn = tokenMajor ? tokenMajorCopy(k, heads: c.kvHeads, length: c.lk) : k
  let vIn = tokenMajor ? tokenMajorCopy(v, heads: c.kvHeads, length: c.lk) : v
  var out = [Float](repeating: .nan, count: q.count)
  let maskArg: (UnsafePointer<Float>?) -> AttentionMask = { p in
    guard let p else { return .none }
    return c.mask == .perHead ? .perHead(p) : .shared(p)
  }
  (mask ?? []).withUnsafeBufferPointer { m in
    let layout = { (h: Int) in tokenMajor ? AttentionLayout.tokenMajor(heads: h, headDim: c.d) : nil }
    scaledDotProductAttention(
      q: qIn, k: kIn, v: vIn, out: &out, heads: c.heads, kvHeads: c.kvHeads, queryLength: c.lq,
      keyLength: c.lk, headDim: c.d, qLayout: layout(c.heads), kLayout: layout(c.kvHeads),
      vLayout: layout(c.kvHeads), outLayout: layout(c.heads), causal: c.causal, past: c.past,
      mask: maskArg(mask == nil ? nil : m.baseAddress))
  }
  if tokenMajor {
    var back = out
    for h in 0..<c.heads {
      for i in 0..<c.lq {
        for e in 0..<c.d { back[(h * c.lq + i) * c.d + e] = out[(i * c.heads + h) * c.d + e] }
      }
    }
    out = back
  }
  return (out, expected)
}

@Suite("Attention")
struct AttentionTests {
  @Test(arguments: cases)
  func matchesReference(_ c: AttentionCase) {
    let (fast, expected) = run(c)
    #expect(
      allClose(fast, expected, atol: 2e-5, rtol: 1e-4),
      "\(c.testDescription): \(differenceReport(fast, expected))")
  }

  @Test(arguments: [
    cases[5], cases.last!,
    AttentionCase(heads: 4, kvHeads: 2, lq: 64, lk: 300, d: 80, causal: true, past: 236, mask: .shared),
  ])
  func tokenMajorLayoutMatches(_ c: AttentionCase) {
    let (fast, expected) = run(c, tokenMajor: true)
    #expect(
      allClose(fast, expected, atol: 2e-5, rtol: 1e-4),
      "\(c.testDescription): \(differenceReport(fast, expected))")
  }

  @Test func fullyMaskedRowsAreZero() {
    // Causal with Lq > Lk + past is impossible to see nothing; a mask row of −∞ is, and so is Lk = 0.
    let c = AttentionCase(heads: 2, kvHeads: 1, lq: 4, lk: 5, d: 8, mask: .shared)
    let (fast, _) = run(c)
    #expect(fast[(3 * 8)..<(4 * 8)].allSatisfy { $0 == 0 })
    var out = [Float](repeating: .nan, count: 2 * 3 * 8)
    let q = randomFloats(2 * 3 * 8, seed: 1)
    scaledDotProductAttention(
      q: q, k: [], v: [], out: &out, heads: 2, kvHeads: 1, queryLength: 3, keyLength: 0, headDim: 8)
    #expect(out.allSatisfy { $0 == 0 })
  }

  /// Pools that live as long as the process: MMCore's ThreadPool must not be deinitialized
  /// while its workers may still be starting (see the nn helper report).
  static let pools = [ThreadPool(threads: 1), ThreadPool(threads: 3), ThreadPool(threads: 8)]

  @Test func bitIdenticalForAnyThreadCount() {
    // Block sizes depend on the pool size; each row's arithmetic must not.
    let (h, kv, lq, lk, d) = (4, 2, 37, 150, 24)
    let q = randomFloats(h * lq * d, seed: 1), k = randomFloats(kv * lk * d, seed: 2),
      v = randomFloats(kv * lk * d, seed: 3)
    var results: [[Float]] = []
    for pool in Self.pools {
      var out = [Float](repeating: 0, count: q.count)
      scaledDotProductAttention(
        q: q, k: k, v: v, out: &out, heads: h, kvHeads: kv, queryLength: lq, keyLength: lk,
        headDim: d, causal: true, past: 113, pool: pool)
      results.append(out)
    }
    #expect(results[0] == results[1] && results[1] == results[2])
  }

  @Test func longCausalSequence() {
    // Lq = Lk = 1024: sixteen key blocks per row, the running max/sum rescaled many times.
    let c = AttentionCase(heads: 2, kvHeads: 1, lq: 1024, lk: 1024, d: 32, causal: true)
    let (fast, expected) = run(c)
    #expect(allClose(fast, expected, atol: 2e-5, rtol: 1e-4), "\(differenceReport(fast, expected))")
  }

  /// torch.nn.functional.scaled_dot_product_attention: plain, is_causal, additive attn_mask,
  /// and a boolean causal mask with a KV-cache offset, all with grouped kv heads (HF repeat_kv).
  @Test(arguments: ["sdpa_plain.json", "sdpa_causal.json", "sdpa_mask.json", "sdpa_past.json"])
  func matchesTorchGolden(_ file: String) throws {
    let g = try NNGolden.load(file)
    let heads = try g.int("heads"), kvHeads = try g.int("kv_heads")
    let lq = try g.int("lq"), lk = try g.int("lk"), d = try g.int("d")
    var out = [Float](repeating: .nan, count: heads * lq * d)
    let mask = g.arrays["mask"] ?? []
    mask.withUnsafeBufferPointer { m in
      scaledDotProductAttention(
        q: g.arrays["q"]!, k: g.arrays["k"]!, v: g.arrays["v"]!, out: &out, heads: heads,
        kvHeads: kvHeads, queryLength: lq, keyLength: lk, headDim: d,
        scale: g.meta["scale"].map { Float($0) }, causal: g.meta["causal"] == 1,
        past: Int(g.meta["past"] ?? 0), mask: mask.isEmpty ? .none : .shared(m.baseAddress!))
    }
    let expected = try g.array("out")
    #expect(allClose(out, expected, atol: 1e-5, rtol: 1e-4), "\(file): \(differenceReport(out, expected))")
  }
}
