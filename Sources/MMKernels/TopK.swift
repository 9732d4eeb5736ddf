import MMCore

/// The k largest values and their indices, sorted descending; equal values are ordered by
/// lower index first; NaN counts as larger than +∞ (PyTorch's `topk` order). A bounded
/// min-heap of k entries: O(n log k), no copy of the input.

/// values[0..<k], indices[0..<k] ← the top k of x[0..<n]. Requires 0 ≤ k ≤ n.
public func topK(
  _ x: UnsafePointer<Float>, count n: Int, k: Int, values: UnsafeMutablePointer<Float>,
  indices: UnsafeMutablePointer<Int>
) {
  precondition(k >= 0 && k <= n, "topK: k = \(k) outside 0...\(n)")
  if k == 0 { return }
  // heap[0] is the worst kept entry; an entry beats it only if strictly greater (ties keep the
  // earlier, lower index, because indices arrive in increasing order).
  let heap = UnsafeMutablePointer<Int>.allocate(capacity: k)
  defer { heap.deallocate() }
  @inline(__always) func worse(_ i: Int, _ j: Int) -> Bool {
    ranksAbove(x[j], j, x[i], i)
  }
  func siftDown(_ start: Int, _ size: Int) {
    var p = start
    while true {
      let l = 2 * p + 1
      if l >= size { return }
      var c = l
      if l + 1 < size && worse(heap[l + 1], heap[l]) { c = l + 1 }
      if !worse(heap[c], heap[p]) { return }
      (heap[p], heap[c]) = (heap[c], heap[p])
      p = c
    }
  }
  for i in 0..<k { heap[i] = i }
  for p in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(p, k) }
  for i in k..<n where greaterValue(x[i], x[heap[0]]) {
    heap[0] = i
    siftDown(0, k)
  }
  // Pop worst-first into the back of the output.
  var size = k
  while size > 0 {
    let top = heap[0]
    values[size - 1] = x[top]
    indices[size - 1] = top
    size -= 1
    heap[0] = heap[size]
    siftDown(0, size)
  }
}

/// The top k of a vector. Throws when k is outside 0...count.
public func topK(_ x: [Float], k: Int) throws(TensorError) -> (values: [Float], indices: [Int]) {
  guard k >= 0 && k <= x.count else {
    throw .invalidArgument(op: "topK", message: "k = \(k) must be in 0...\(x.count)")
  }
  var values = [Float](repeating: 0, count: k)
  var indices = [Int](repeating: 0, count: k)
  x.withUnsafeBufferPointer { src in
    values.withUnsafeMutableBufferPointer { v in
      indices.withUnsafeMutableBufferPointer { i in
        topK(src.baseAddress!, count: src.count, k: k, values: v.baseAddress!, indices: i.baseAddress!)
      }
    }
  }
  return (values, indices)
}

/// The top k along the last axis of x: [..., n] → values f32 [..., k], indices i64 [..., k].
public func topK(_ x: Tensor, k: Int, pool: ThreadPool = .shared) throws(TensorError) -> (
  values: Tensor, indices: Tensor
) {
  guard let n = x.shape.last else {
    throw .invalidArgument(op: "topK", message: "needs rank ≥ 1, got a scalar")
  }
  guard k >= 0 && k <= n else {
    throw .invalidArgument(
      op: "topK", message: "k = \(k) must be in 0...\(n) (last axis of \(shapeText(x.shape)))")
  }
  let x = try floatOperand(x, op: "topK").contiguous()
  let shape = Array(x.shape.dropLast()) + [k]
  let values = Tensor(zeros: shape), indices = Tensor(zeros: shape, dtype: .i64)
  let rows = n == 0 ? 0 : x.count / n
  let src = x.pointer(Float.self), v = values.pointer(Float.self), idx = indices.pointer(Int64.self)
  pool.parallelRanges(rows, grain: max(1, 16_384 / max(n, 1))) { range in
    let scratch = UnsafeMutablePointer<Int>.allocate(capacity: max(k, 1))
    defer { scratch.deallocate() }
    for r in range {
      topK(src + r * n, count: n, k: k, values: v + r * k, indices: scratch)
      for j in 0..<k { idx[r * k + j] = Int64(scratch[j]) }
    }
  }
  return (values, indices)
}

/// a > b with NaN above everything.
@inline(__always)
func greaterValue(_ a: Float, _ b: Float) -> Bool {
  a.isNaN ? !b.isNaN : (!b.isNaN && a > b)
}

/// (a, i) comes before (b, j) in top-k order.
@inline(__always)
func ranksAbove(_ a: Float, _ i: Int, _ b: Float, _ j: Int) -> Bool {
  greaterValue(a, b) || (!greaterValue(b, a) && i < j)
}
