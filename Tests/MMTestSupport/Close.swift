import MMCore

/// Largest |a[i] - b[i]| and the index where it occurs.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> (value: Float, index: Int) {
  precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
  var worst: Float = 0
  var at = -1
  for i in a.indices {
    let d = abs(a[i] - b[i])
    if d > worst || d.isNaN || (a[i].isNaN != b[i].isNaN) {
      worst = d.isNaN ? .infinity : d
      at = i
    }
  }
  return (worst, at)
}

/// True when every element satisfies |a - b| ≤ atol + rtol·|b| (NumPy's `allclose`).
public func allClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-5) -> Bool {
  guard a.count == b.count else { return false }
  for i in a.indices {
    if a[i].isNaN || b[i].isNaN { return false }
    if abs(a[i] - b[i]) > atol + rtol * abs(b[i]) { return false }
  }
  return true
}

/// A description of how `a` differs from `b`, for test failure messages.
public func differenceReport(_ a: [Float], _ b: [Float]) -> String {
  let (value, index) = maxAbsDifference(a, b)
  guard index >= 0 else { return "identical" }
  return "max |Δ| = \(value) at \(index): \(a[index]) vs \(b[index])"
}

/// Deterministic random floats in [low, high).
public func randomFloats(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
  var rng = SeededRandom(seed: seed)
  return rng.uniform(count, low, high)
}
