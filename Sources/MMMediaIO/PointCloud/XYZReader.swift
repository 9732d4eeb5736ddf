import MMCore

/// XYZ / TXT / CSV point lists: one point per line, values separated by whitespace or commas,
/// at least x y z, every row the same width. `#` starts a comment. A first line of non-numeric
/// words is taken as the column names; otherwise columns are `x y z f0 f1 …`.
enum XYZReader {
  static func decode(_ bytes: [UInt8], file: String) throws(PointCloudError) -> PointCloud {
    var values: [Float] = []
    var columns: [String]?
    var width = 0
    var row = 0
    for (lineIndex, range) in pointCloudLines(bytes).enumerated() {
      var line = String(decoding: bytes[range], as: UTF8.self)
      if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
      let words = line.split(whereSeparator: {
        $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" || $0 == ";"
      })
      if words.isEmpty { continue }
      if width == 0 {
        width = words.count
        guard width >= 3 else {
          throw PointCloudError(
            .value, file: file, "line \(lineIndex + 1): expected at least 3 columns (x y z), found \(width)")
        }
        if words.allSatisfy({ Double($0) == nil }) {
          columns = words.map(String.init)
          continue
        }
      }
      guard words.count == width else {
        throw PointCloudError(
          .value, file: file, "line \(lineIndex + 1): expected \(width) values, found \(words.count)")
      }
      for word in words {
        guard let value = Double(word) else {
          throw PointCloudError(.value, file: file, "line \(lineIndex + 1): '\(word)' is not a number")
        }
        values.append(Float(value))
      }
      row += 1
    }
    guard width > 0 else {
      throw PointCloudError(.value, file: file, "no points (empty file or only comments)")
    }
    let names = columns ?? (["x", "y", "z"] + (0..<(width - 3)).map { "f\($0)" })
    return try PointCloud(values: values, columns: names, file: file, item: "row")
  }
}
