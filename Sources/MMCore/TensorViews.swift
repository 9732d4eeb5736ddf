/// Views that share storage with their source: no element is copied.
extension Tensor {
  /// Same elements, new shape. One dimension may be -1 (inferred). Needs a contiguous view.
  public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
    var resolved = newShape
    let inferred = newShape.indices.filter { newShape[$0] == -1 }
    guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
      throw .invalidArgument(op: "reshape", message: "invalid shape \(shapeText(newShape))")
    }
    if let axis = inferred.first {
      let known = newShape.filter { $0 != -1 }.reduce(1, *)
      guard known > 0, count % known == 0 else {
        throw .shapeMismatch(
          op: "reshape", expected: "a shape with \(count) elements", found: shapeText(newShape))
      }
      resolved[axis] = count / known
    }
    guard checkedElementCount(resolved) == count else {
      throw .shapeMismatch(
        op: "reshape", expected: "a shape with \(count) elements", found: shapeText(newShape))
    }
    guard isContiguous else { throw .notContiguous(op: "reshape") }
    return Tensor(
      storage: storage, dtype: dtype, shape: resolved,
      strides: Tensor.contiguousStrides(resolved), offset: offset)
  }

  /// Axes reordered: result axis i is source axis `order[i]`.
  public func permuted(_ order: [Int]) throws(TensorError) -> Tensor {
    guard order.count == rank, Set(order) == Set(0..<rank) else {
      throw .invalidArgument(
        op: "permute", message: "\(order) is not a permutation of 0..<\(rank)")
    }
    return Tensor(
      storage: storage, dtype: dtype, shape: order.map { shape[$0] },
      strides: order.map { strides[$0] }, offset: offset)
  }

  /// Two axes swapped (default: the last two, a matrix transpose).
  public func transposed(_ a: Int = -2, _ b: Int = -1) throws(TensorError) -> Tensor {
    let first = try axis(a, op: "transpose")
    let second = try axis(b, op: "transpose")
    var order = Array(0..<rank)
    order.swapAt(first, second)
    return try permuted(order)
  }

  /// `range` of axis `axis`, with an optional step.
  public func sliced(axis: Int, _ range: Range<Int>, step: Int = 1) throws(TensorError) -> Tensor {
    let a = try self.axis(axis, op: "slice")
    guard range.lowerBound >= 0, range.upperBound <= shape[a], step >= 1 else {
      throw .invalidArgument(
        op: "slice", message: "range \(range) step \(step) outside axis \(a) of size \(shape[a])")
    }
    var newShape = shape
    var newStrides = strides
    newShape[a] = (range.count + step - 1) / step
    newStrides[a] = strides[a] * step
    return Tensor(
      storage: storage, dtype: dtype, shape: newShape, strides: newStrides,
      offset: offset + range.lowerBound * strides[a])
  }

  /// Index `index` of axis `axis`, with that axis removed.
  public func selecting(axis: Int, _ index: Int) throws(TensorError) -> Tensor {
    let a = try self.axis(axis, op: "select")
    guard index >= 0 && index < shape[a] else {
      throw .invalidArgument(op: "select", message: "index \(index) outside axis \(a) of size \(shape[a])")
    }
    var newShape = shape
    var newStrides = strides
    newShape.remove(at: a)
    newStrides.remove(at: a)
    return Tensor(
      storage: storage, dtype: dtype, shape: newShape, strides: newStrides,
      offset: offset + index * strides[a])
  }

  /// A new axis of size 1 at `axis`.
  public func unsqueezed(_ axis: Int) throws(TensorError) -> Tensor {
    let a = axis < 0 ? axis + rank + 1 : axis
    guard a >= 0 && a <= rank else {
      throw .invalidArgument(op: "unsqueeze", message: "axis \(axis) out of range for rank \(rank)")
    }
    var newShape = shape
    var newStrides = strides
    newShape.insert(1, at: a)
    newStrides.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
    return Tensor(storage: storage, dtype: dtype, shape: newShape, strides: newStrides, offset: offset)
  }

  /// NumPy broadcasting of two shapes, or nil when they are incompatible.
  public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      guard x == y || x == 1 || y == 1 else { return nil }
      result[i] = x == 1 ? y : x
    }
    return result
  }

  /// A view of this tensor broadcast to `target` (stride 0 on repeated axes).
  public func broadcast(to target: [Int]) throws(TensorError) -> Tensor {
    guard target.count >= rank, Tensor.broadcastShape(shape, target) == target else {
      throw .shapeMismatch(
        op: "broadcast", expected: "broadcastable to \(shapeText(target))", found: shapeText(shape))
    }
    let lead = target.count - rank
    var newStrides = [Int](repeating: 0, count: target.count)
    for i in 0..<rank where shape[i] != 1 || target[lead + i] == 1 {
      newStrides[lead + i] = shape[i] == 1 ? 0 : strides[i]
    }
    return Tensor(storage: storage, dtype: dtype, shape: target, strides: newStrides, offset: offset)
  }
}
