import MMCore

/// The result of `PointCloud.group`: FPS centres and their k-nearest neighbourhoods, as Point-BERT's
/// `Group` returns them.
public struct PointGroups: Sendable {
  /// [groups] — indices into the cloud picked by farthest point sampling.
  public let centreIndices: [Int]
  /// [groups, 3] f32 — the centres' coordinates.
  public let centres: Tensor
  /// [groups, k] i32 — each group's point indices, nearest first.
  public let indices: Tensor
  /// [groups, k, 3] f32 — each neighbour's coordinates minus its centre.
  public let neighbourhoods: Tensor
}

extension PointCloud {
  /// The cloud with x, y, z centred on the centroid and scaled into the unit sphere (ULIP's
  /// `pc_normalize`); features unchanged.
  public func normalizedToUnitSphere() -> PointCloud {
    if count == 0 { return self }
    var values = points.floats()
    values.withUnsafeMutableBufferPointer {
      normalizeToUnitSphere($0.baseAddress!, count: count, stride: columns.count)
    }
    return PointCloud(validated: Tensor(values, shape: points.shape), columns: columns)
  }

  /// Farthest point sampling of `groups` centres, then the `k` nearest points of each.
  public func group(groups: Int, k: Int, pool: ThreadPool = .shared) throws(TensorError) -> PointGroups {
    guard groups >= 1, groups <= count, k >= 1, k <= count else {
      throw .invalidArgument(
        op: "PointCloud.group",
        message: "needs 1 ≤ groups (\(groups)) ≤ points (\(count)) and 1 ≤ k (\(k)) ≤ points")
    }
    let values = points.floats()
    let stride = columns.count
    var centreIndices = [Int32](repeating: 0, count: groups)
    var indices = [Int32](repeating: 0, count: groups * k)
    var neighbourhoods = [Float](repeating: 0, count: groups * k * 3)
    values.withUnsafeBufferPointer { p in
      farthestPointSample(
        p.baseAddress!, count: count, stride: stride, samples: groups, into: &centreIndices, pool: pool)
      knnGroup(
        p.baseAddress!, count: count, stride: stride, centres: centreIndices, centreCount: groups, k: k,
        indices: &indices, neighbourhoods: &neighbourhoods, pool: pool)
    }
    let centres = centreIndices.flatMap { c in (0..<3).map { values[Int(c) * stride + $0] } }
    return PointGroups(
      centreIndices: centreIndices.map(Int.init), centres: Tensor(centres, shape: [groups, 3]),
      indices: try Tensor(shape: [groups, k], values: indices),
      neighbourhoods: Tensor(neighbourhoods, shape: [groups, k, 3]))
  }
}

extension PointCloud {
  /// For values already known to be finite (library-internal transforms).
  init(validated points: Tensor, columns: [String]) {
    self.points = points
    self.columns = columns
  }
}
