/// pytorchvideo's clip samplers compute clip times with `fractions.Fraction`: the start of clip k is
/// the exact rational `Fraction(x) · k / d` of the Double `x`, its end that plus the clip duration,
/// and only then are they rounded to Double (`fps * start` in Python turns the Fraction into the
/// nearest float). This reproduces those values exactly: a finite Double is m·2^e with an integer
/// m < 2^53, so every quantity is an integer over `d` times a power of two, held in 128 bits, and
/// the final quotient is rounded to nearest-even with a sticky bit.
enum ExactClipTime {
  /// The correctly rounded Double of x·k/d + c, for finite x, c ≥ 0, k ≥ 0, d ≥ 1; nil when the
  /// exponents of x and c lie so far apart that 128-bit integers cannot hold the sum (never for
  /// durations and clip lengths between a millisecond and a million seconds).
  static func value(_ x: Double, times k: Int, over d: Int, plus c: Double) -> Double? {
    precondition(x >= 0 && c >= 0 && x.isFinite && c.isFinite && k >= 0 && d >= 1)
    let (mx, ex) = decompose(x)
    let (mc, ec) = decompose(c)
    let a = UInt128(mx) * UInt128(k)  // < 2^53 · 2^63
    let b = UInt128(mc) * UInt128(d)
    if a == 0 && b == 0 { return 0 }
    let e = a == 0 ? ec : (b == 0 ? ex : min(ex, ec))
    guard let sa = shifted(a, by: a == 0 ? 0 : ex - e), let sb = shifted(b, by: b == 0 ? 0 : ec - e)
    else { return nil }
    let (sum, overflow) = sa.addingReportingOverflow(sb)
    guard !overflow else { return nil }
    return rounded(sum, over: UInt128(d), exponent: e)
  }

  /// v = m · 2^e with m odd (or v = 0 → (0, 0)).
  static func decompose(_ v: Double) -> (UInt64, Int) {
    if v == 0 { return (0, 0) }
    let exponent = Int(v.exponent)
    var m = UInt64(Double(sign: .plus, exponent: 52 - exponent, significand: v))
    var e = exponent - 52
    let zeros = m.trailingZeroBitCount
    m >>= UInt64(zeros)
    e += zeros
    return (m, e)
  }

  /// value << shift, or nil when it would not fit in 127 bits.
  static func shifted(_ value: UInt128, by shift: Int) -> UInt128? {
    if value == 0 { return 0 }
    let bits = UInt128.bitWidth - value.leadingZeroBitCount
    guard shift >= 0, bits + shift <= 127 else { return nil }
    return value << UInt128(shift)
  }

  /// n/d · 2^e rounded to the nearest Double (ties to even).
  static func rounded(_ n: UInt128, over d: UInt128, exponent e: Int) -> Double? {
    if n == 0 { return 0 }
    let nBits = UInt128.bitWidth - n.leadingZeroBitCount
    let dBits = UInt128.bitWidth - d.leadingZeroBitCount
    // Scale n so the quotient has at least 55 bits: 53 kept, a rounding bit, and room for a sticky
    // bit folded into the lowest one.
    let s = max(0, 56 + dBits - nBits)
    guard let scaled = shifted(n, by: s) else { return nil }
    let (q, r) = scaled.quotientAndRemainder(dividingBy: d)
    let withSticky = r == 0 ? q : q | 1
    return Double(sign: .plus, exponent: e - s, significand: Double(withSticky))
  }
}
