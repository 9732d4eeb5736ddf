import MMCore
import MMKernels

extension Reference {
  /// Plain-loop twin of `normalizeToUnitSphere` (Double accumulators throughout).
  public static func normalizeToUnitSphere(_ points: [Float], count: Int, stride: Int) -> [Float] {
    var out = points
    if count == 0 { return out }
    var centre = [0.0, 0.0, 0.0]
    for i in 0..<count { for a in 0..<3 { centre[a] += Double(points[i * stride + a]) } }
    for a in 0..<3 { centre[a] /= Double(count) }
    var radius = 0.0
    for i in 0..<count {
      var d = 0.0
      for a in 0..<3 {
        d += (Double(points[i * stride + a]) - centre[a]) * (Double(points[i * stride + a]) - centre[a])
      }
      radius = max(radius, d.squareRoot())
    }
    for i in 0..<count {
      for a in 0..<3 {
        let centred = Double(points[i * stride + a]) - centre[a]
        out[i * stride + a] = Float(radius > 0 ? centred / radius : centred)
      }
    }
    return out
  }

  /// Squared distance in float32, `(dx*dx + dy*dy) + dz*dz` — the definition FPS and kNN use, so
  /// the twins make the same tie decisions as the fast kernels (a Double distance would not).
  static func squaredDistance(_ points: [Float], _ i: Int, _ j: Int, stride: Int) -> Float {
    let dx = points[i * stride] - points[j * stride]
    let dy = points[i * stride + 1] - points[j * stride + 1]
    let dz = points[i * stride + 2] - points[j * stride + 2]
    return (dx * dx + dy * dy) + dz * dz
  }

  /// Plain-loop twin of `farthestPointSample`.
  public static func farthestPointSample(_ points: [Float], count: Int, stride: Int, samples: Int) -> [Int] {
    var nearest = [Float](repeating: .infinity, count: count)
    var picked = [0]
    while picked.count < samples {
      let last = picked[picked.count - 1]
      var best = 0
      for i in 0..<count {
        nearest[i] = min(nearest[i], squaredDistance(points, i, last, stride: stride))
        if nearest[i] > nearest[best] { best = i }
      }
      picked.append(best)
    }
    return picked
  }

  /// Plain-loop twin of `knnGroup`: a full stable sort of every point by distance per centre.
  public static func knnGroup(_ points: [Float], count: Int, stride: Int, centres: [Int], k: Int)
    -> (indices: [Int], neighbourhoods: [Float])
  {
    var indices: [Int] = [], neighbourhoods: [Float] = []
    for c in centres {
      var distance = [Float](repeating: 0, count: count)
      for i in 0..<count { distance[i] = squaredDistance(points, i, c, stride: stride) }
      let order = Array(0..<count).sorted { (a: Int, b: Int) -> Bool in
        distance[a] < distance[b] || (distance[a] == distance[b] && a < b)
      }
      for i in order.prefix(k) {
        indices.append(i)
        for a in 0..<3 { neighbourhoods.append(points[i * stride + a] - points[c * stride + a]) }
      }
    }
    return (indices, neighbourhoods)
  }
}
