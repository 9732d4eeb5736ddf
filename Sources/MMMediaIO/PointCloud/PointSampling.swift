import MMCore

// Point-BERT / ULIP input preparation: unit-sphere normalization, farthest point sampling and
// k-nearest-neighbour grouping. Distances are squared Euclidean in float32, computed as
// `(dx*dx + dy*dy) + dz*dz` (no FMA) so that ties and orderings match a numpy float32 transcription
// bit for bit. Points are rows of `stride` floats with x, y, z first.

/// ULIP's `pc_normalize`, in place on the x, y, z of each row: subtract the centroid, divide by the
/// largest distance from it. A cloud whose points all coincide is only centred (no division by 0).
/// points: [count, stride] → [count, stride] (columns ≥ 3 untouched)
public func normalizeToUnitSphere(_ points: UnsafeMutablePointer<Float>, count: Int, stride: Int) {
  precondition(stride >= 3 && count >= 0)
  if count == 0 { return }
  var sum = (0.0, 0.0, 0.0)
  for i in 0..<count {
    let p = points + i * stride
    sum.0 += Double(p[0])
    sum.1 += Double(p[1])
    sum.2 += Double(p[2])
  }
  let centre = (Float(sum.0 / Double(count)), Float(sum.1 / Double(count)), Float(sum.2 / Double(count)))
  var largest: Float = 0
  for i in 0..<count {
    let p = points + i * stride
    p[0] -= centre.0
    p[1] -= centre.1
    p[2] -= centre.2
    largest = max(largest, (p[0] * p[0] + p[1] * p[1]) + p[2] * p[2])
  }
  let radius = largest.squareRoot()
  guard radius > 0 else { return }
  for i in 0..<count {
    let p = points + i * stride
    p[0] /= radius
    p[1] /= radius
    p[2] /= radius
  }
}

/// x, y, z split into three padded arrays (structure of arrays) for SIMD8 distance loops.
struct PointCoordinateColumns {
  var x: [Float], y: [Float], z: [Float]
  let count: Int
  var padded: Int { x.count }

  init(_ points: UnsafePointer<Float>, count: Int, stride: Int) {
    self.count = count
    let padded = (count + 7) / 8 * 8
    x = [Float](repeating: 0, count: padded)
    y = x
    z = x
    for i in 0..<count {
      x[i] = points[i * stride]
      y[i] = points[i * stride + 1]
      z[i] = points[i * stride + 2]
    }
  }

  /// Squared distances from (cx, cy, cz) to points 8·block…8·block+7.
  @inline(__always)
  func distances(block: Int, _ cx: Float, _ cy: Float, _ cz: Float) -> SIMD8<Float> {
    x.withUnsafeBytes { xs in
      y.withUnsafeBytes { ys in
        z.withUnsafeBytes { zs in
          let dx = xs.loadUnaligned(fromByteOffset: block * 32, as: SIMD8<Float>.self) - cx
          let dy = ys.loadUnaligned(fromByteOffset: block * 32, as: SIMD8<Float>.self) - cy
          let dz = zs.loadUnaligned(fromByteOffset: block * 32, as: SIMD8<Float>.self) - cz
          return (dx * dx + dy * dy) + dz * dz
        }
      }
    }
  }
}

/// Farthest point sampling: starts at index 0; each step picks the point whose squared distance to
/// the nearest already-picked point is largest, ties to the lowest index.
/// points: [count, stride] → indices: [samples], 1 ≤ samples ≤ count
public func farthestPointSample(
  _ points: UnsafePointer<Float>, count: Int, stride: Int, samples: Int,
  into indices: UnsafeMutablePointer<Int32>, pool: ThreadPool = .shared
) {
  precondition(stride >= 3 && samples >= 1 && samples <= count && count <= Int(Int32.max))
  let columns = PointCoordinateColumns(points, count: count, stride: stride)
  let blocks = columns.padded / 8
  // Padding lanes start at -inf so they are never the farthest.
  var nearest = [Float](repeating: .infinity, count: columns.padded)
  for i in count..<columns.padded { nearest[i] = -.infinity }
  let grain = 2048  // blocks per task: parallel only for large clouds
  let chunks = max(1, (blocks + grain - 1) / grain)
  var chunkBest = [(value: Float, index: Int)](repeating: (0, 0), count: chunks)
  var current = 0
  nearest.withUnsafeMutableBufferPointer { nearestBuffer in
    chunkBest.withUnsafeMutableBufferPointer { chunkBuffer in
      let nearest = nearestBuffer.baseAddress!, chunkBest = chunkBuffer.baseAddress!
      for s in 0..<samples {
        indices[s] = Int32(current)
        if s == samples - 1 { break }
        let (cx, cy, cz) = (columns.x[current], columns.y[current], columns.z[current])
        func body(_ chunk: Int) {
          var bestValue = SIMD8<Float>(repeating: -.infinity)
          var bestIndex = SIMD8<Int32>(repeating: 0)
          let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
          for block in chunk * grain..<min(blocks, (chunk + 1) * grain) {
            let d = columns.distances(block: block, cx, cy, cz)
            let raw = UnsafeMutableRawPointer(nearest + block * 8)
            let updated = pointwiseMin(raw.loadUnaligned(as: SIMD8<Float>.self), d)
            raw.storeBytes(of: updated, as: SIMD8<Float>.self)
            let better = updated .> bestValue  // strict: earlier blocks win ties within a lane
            bestValue.replace(with: updated, where: better)
            bestIndex.replace(with: lane &+ Int32(block * 8), where: better)
          }
          let top = bestValue.max()
          var index = Int32.max
          for l in 0..<8 where bestValue[l] == top { index = min(index, bestIndex[l]) }
          chunkBest[chunk] = (top, Int(index))
        }
        if chunks == 1 { body(0) } else { pool.parallelFor(chunks, body) }
        var best = chunkBest[0]
        for c in 1..<chunks where chunkBest[c].value > best.value { best = chunkBest[c] }
        current = best.index
      }
    }
  }
}

/// k-nearest-neighbour grouping as Point-BERT's `Group`: for each centre (an index into the cloud)
/// the `k` nearest points by squared distance in ascending order, ties to the lower index, and their
/// coordinates relative to the centre.
/// points: [count, stride], centres: [centreCount] → indices: [centreCount, k],
/// neighbourhoods: [centreCount, k, 3]; 1 ≤ k ≤ count
public func knnGroup(
  _ points: UnsafePointer<Float>, count: Int, stride: Int,
  centres: UnsafePointer<Int32>, centreCount: Int, k: Int,
  indices: UnsafeMutablePointer<Int32>, neighbourhoods: UnsafeMutablePointer<Float>,
  pool: ThreadPool = .shared
) {
  precondition(stride >= 3 && k >= 1 && k <= count && count <= Int(Int32.max))
  let columns = PointCoordinateColumns(points, count: count, stride: stride)
  pool.parallelFor(centreCount) { g in
    let c = Int(centres[g])
    precondition(c >= 0 && c < count, "centre index out of range")
    let (cx, cy, cz) = (columns.x[c], columns.y[c], columns.z[c])
    // Sorted (distance, index) list of the best k so far; points arrive in index order, so an
    // equal distance never displaces an earlier point.
    var dist = [Float](repeating: .infinity, count: k)
    var index = [Int32](repeating: Int32.max, count: k)
    var filled = 0
    for block in 0..<(columns.padded / 8) {
      let d = columns.distances(block: block, cx, cy, cz)
      let worst = filled < k ? Float.infinity : dist[k - 1]
      if filled == k && !any(d .< worst) { continue }
      for l in 0..<8 {
        let i = block * 8 + l
        guard i < count else { break }
        let value = d[l]
        if filled == k && !(value < dist[k - 1]) { continue }
        var slot = min(filled, k - 1)
        while slot > 0 && dist[slot - 1] > value {
          dist[slot] = dist[slot - 1]
          index[slot] = index[slot - 1]
          slot -= 1
        }
        dist[slot] = value
        index[slot] = Int32(i)
        filled = min(filled + 1, k)
      }
    }
    for j in 0..<k {
      let i = Int(index[j])
      indices[g * k + j] = Int32(i)
      let out = neighbourhoods + (g * k + j) * 3
      out[0] = columns.x[i] - cx
      out[1] = columns.y[i] - cy
      out[2] = columns.z[i] - cz
    }
  }
}
