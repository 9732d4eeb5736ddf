import MMCore
import MMKernels
import MMMediaIO
import MMTestSupport
import Testing

@Suite("Point cloud sampling")
struct PointCloudSamplingTests {
  /// ULIP's pc_normalize (numpy float32) on the seeded cloud, within 1e-6.
  @Test func normalizeMatchesULIP() throws {
    let golden = try PointCloudFiles.golden("sampling_normalized.json")
    let source = PointCloudFiles.floats(golden["source"])
    let expected = PointCloudFiles.floats(golden["points"])
    let cloud = try PointCloud(values: source, columns: ["x", "y", "z"], file: "golden")
    let got = cloud.normalizedToUnitSphere().points.floats()
    #expect(maxAbsDifference(got, expected).value <= 1e-6, "\(differenceReport(got, expected))")
    let reference = Reference.normalizeToUnitSphere(source, count: source.count / 3, stride: 3)
    #expect(maxAbsDifference(reference, expected).value <= 1e-6, "\(differenceReport(reference, expected))")
  }

  /// FPS and kNN against numpy: indices exactly equal, neighbourhoods within 1e-6. The grid golden
  /// has many exact ties, so it checks the lowest-index tie rules.
  @Test(arguments: ["sampling_normalized.json", "sampling_grid_ties.json"])
  func groupMatchesNumpy(name: String) throws {
    let golden = try PointCloudFiles.golden(name)
    let points = PointCloudFiles.floats(golden["points"])
    let groups = golden["groups"] as? Int ?? 0, k = golden["k"] as? Int ?? 0
    let cloud = try PointCloud(values: points, columns: ["x", "y", "z"], file: name)
    let result = try cloud.group(groups: groups, k: k)
    #expect(result.centreIndices == PointCloudFiles.ints(golden["fps"]), "\(name): FPS order")
    let indices = try result.indices.scalars(Int32.self).map(Int.init)
    #expect(indices == PointCloudFiles.ints(golden["knn_indices"]), "\(name): kNN indices")
    let neighbourhoods = result.neighbourhoods.floats(),
      expected = PointCloudFiles.floats(golden["neighbourhoods"])
    #expect(result.neighbourhoods.shape == [groups, k, 3])
    #expect(
      maxAbsDifference(neighbourhoods, expected).value <= 1e-6,
      "\(differenceReport(neighbourhoods, expected))")
  }

  /// Fast kernels against the plain-loop twins over a table of sizes (the large one takes the
  /// parallel FPS path); some clouds are quantized so that exact ties occur.
  @Test(arguments: [
    (1, 1, 1, false), (2, 2, 2, false), (7, 3, 5, true), (13, 13, 13, false), (97, 16, 8, true),
    (1031, 64, 32, false), (40_000, 24, 20, true),
  ])
  func fastMatchesReference(count: Int, groups: Int, k: Int, quantized: Bool) throws {
    let stride = 4
    var values = randomFloats(count * stride, seed: UInt64(count * 31 + k), low: -3, high: 3)
    if quantized { values = values.map { ($0 * 2).rounded() } }
    let fastNormalized = values.withUnsafeBufferPointer { _ in
      var copy = values
      copy.withUnsafeMutableBufferPointer {
        normalizeToUnitSphere($0.baseAddress!, count: count, stride: stride)
      }
      return copy
    }
    let reference = Reference.normalizeToUnitSphere(values, count: count, stride: stride)
    #expect(
      maxAbsDifference(fastNormalized, reference).value <= 1e-6,
      "\(differenceReport(fastNormalized, reference))")

    var centres = [Int32](repeating: 0, count: groups)
    values.withUnsafeBufferPointer {
      farthestPointSample($0.baseAddress!, count: count, stride: stride, samples: groups, into: &centres)
    }
    let referenceCentres = Reference.farthestPointSample(
      values, count: count, stride: stride, samples: groups)
    #expect(centres.map(Int.init) == referenceCentres, "FPS count \(count)")

    var indices = [Int32](repeating: 0, count: groups * k)
    var neighbourhoods = [Float](repeating: 0, count: groups * k * 3)
    values.withUnsafeBufferPointer {
      knnGroup(
        $0.baseAddress!, count: count, stride: stride, centres: centres, centreCount: groups, k: k,
        indices: &indices, neighbourhoods: &neighbourhoods)
    }
    let expected = Reference.knnGroup(values, count: count, stride: stride, centres: referenceCentres, k: k)
    #expect(indices.map(Int.init) == expected.indices, "kNN count \(count)")
    #expect(neighbourhoods == expected.neighbourhoods)
  }

  @Test func groupRejectsBadSizes() throws {
    let cloud = try PointCloud(values: [0, 0, 0, 1, 1, 1], columns: ["x", "y", "z"], file: "c")
    #expect(throws: TensorError.self) { try cloud.group(groups: 3, k: 1) }
    #expect(throws: TensorError.self) { try cloud.group(groups: 1, k: 0) }
    // An empty cloud (a PLY with `element vertex 0`) normalizes to itself and cannot be grouped.
    let empty = try PointCloud(values: [], columns: ["x", "y", "z"], file: "c")
    #expect(empty.normalizedToUnitSphere().points.shape == [0, 3])
    #expect(throws: TensorError.self) { try empty.group(groups: 1, k: 1) }
    // All points equal: normalization only centres (no division by zero).
    let flat = try PointCloud(values: [2, 2, 2, 2, 2, 2], columns: ["x", "y", "z"], file: "c")
    #expect(flat.normalizedToUnitSphere().points.floats() == [0, 0, 0, 0, 0, 0])
  }
}
