import Foundation
import MMCore
import MMWeights

/// A point cloud file could not be read. The description names the file and the problem,
/// e.g. `cloud.ply: vertex 1042: coordinate y is NaN`.
public struct PointCloudError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// The file could not be opened or read.
    case io
    /// The header is malformed or inconsistent.
    case header
    /// The file is valid but uses something this reader does not support (e.g. binary_compressed PCD).
    case unsupported
    /// The data section ends before the header's promised content.
    case truncated
    /// A value is malformed, NaN, infinite or out of range.
    case value
  }
  public let kind: Kind
  public let file: String
  public let message: String

  public init(_ kind: Kind, file: String, _ message: String) {
    self.kind = kind
    self.file = file
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}

/// The formats `PointCloud.read(contentsOf:)` recognises by extension.
public enum PointCloudFormat: String, Sendable, CaseIterable {
  case ply, pcd, xyz, npy

  /// `.ply`, `.pcd`, `.xyz`/`.txt`/`.csv`/`.pts`, `.npy`; nil for anything else.
  public init?(pathExtension: String) {
    switch pathExtension.lowercased() {
    case "ply": self = .ply
    case "pcd": self = .pcd
    case "xyz", "txt", "csv", "pts": self = .xyz
    case "npy": self = .npy
    default: return nil
    }
  }
}

/// A point cloud: `points` is `[count, 3 + features]` f32 with x, y, z first; `columns` names
/// every column (`x y z nx ny nz red green blue`). Coordinates and features are always finite.
public struct PointCloud: Sendable {
  public let points: Tensor
  public let columns: [String]

  public var count: Int { points.shape[0] }
  /// Names of the columns after x, y, z.
  public var featureNames: [String] { Array(columns.dropFirst(3)) }

  /// Validates `values` (row-major `[rows, columns.count]`): at least the three coordinates, every
  /// value finite. `item` names a row in messages (`vertex`, `point`, `row`).
  public init(values: [Float], columns: [String], file: String, item: String = "point")
    throws(PointCloudError)
  {
    let width = columns.count
    guard width >= 3 else {
      throw PointCloudError(.header, file: file, "expected at least 3 columns (x y z), found \(width)")
    }
    guard values.count % width == 0 else {
      throw PointCloudError(.value, file: file, "\(values.count) values do not fill rows of \(width)")
    }
    let rows = values.count / width
    for row in 0..<rows {
      for column in 0..<width where !values[row * width + column].isFinite {
        let value = values[row * width + column]
        let what = value.isNaN ? "NaN" : "infinite (or beyond float32 range)"
        let role = column < 3 ? "coordinate" : "feature"
        throw PointCloudError(.value, file: file, "\(item) \(row): \(role) \(columns[column]) is \(what)")
      }
    }
    self.points = Tensor(values, shape: [rows, width])
    self.columns = columns
  }

  /// A cloud from a `[points, 3 + features]` tensor of any dtype (e.g. one read with
  /// `NPY.read(contentsOf:)`); columns are named `x y z f0 f1 …` unless given.
  public init(tensor: Tensor, columns: [String]? = nil, file: String) throws(PointCloudError) {
    guard tensor.rank == 2, tensor.shape[1] >= 3 else {
      throw PointCloudError(
        .header, file: file, "expected a [points, 3 + features] array, found shape \(shapeText(tensor.shape))"
      )
    }
    let width = tensor.shape[1]
    let names = columns ?? (["x", "y", "z"] + (0..<(width - 3)).map { "f\($0)" })
    guard names.count == width else {
      throw PointCloudError(.header, file: file, "\(names.count) column names for \(width) columns")
    }
    try self.init(values: tensor.floats(), columns: names, file: file, item: "row")
  }

  /// Reads a PLY, PCD, XYZ/TXT or NPY file, chosen by extension.
  public static func read(contentsOf path: String) throws(PointCloudError) -> PointCloud {
    let url = URL(fileURLWithPath: path)
    let name = url.lastPathComponent
    guard let format = PointCloudFormat(pathExtension: url.pathExtension) else {
      throw PointCloudError(
        .unsupported, file: name,
        "unknown point cloud extension '.\(url.pathExtension)' (expected .ply, .pcd, .xyz, .txt, .npy)")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw PointCloudError(.io, file: name, "cannot read: \(error.localizedDescription)")
    }
    return try decode([UInt8](data), format: format, file: name)
  }

  /// Parses the bytes of a file; `file` is used in error messages only.
  public static func decode(_ bytes: [UInt8], format: PointCloudFormat, file: String)
    throws(PointCloudError) -> PointCloud
  {
    switch format {
    case .ply: return try PLYReader.decode(bytes, file: file)
    case .pcd: return try PCDReader.decode(bytes, file: file)
    case .xyz: return try XYZReader.decode(bytes, file: file)
    case .npy: return try decodeNPY(bytes, file: file)
    }
  }

  /// A `.npy` array `[points, 3 + features]` of float16/32/64 or integers (MMWeights' reader:
  /// header validated, big-endian and Fortran order handled); columns `x y z f0 f1 …`.
  static func decodeNPY(_ bytes: [UInt8], file: String) throws(PointCloudError) -> PointCloud {
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(WeightFileError) -> Tensor in try NPY.decode(buffer, path: file) }
    }
    let tensor: Tensor
    switch result {
    case .success(let value): tensor = value
    case .failure(let error):
      let kind: PointCloudError.Kind
      switch error.kind {
      case .io: kind = .io
      case .truncated: kind = .truncated
      case .dtype, .unsupported: kind = .unsupported
      default: kind = .header
      }
      throw PointCloudError(kind, file: file, error.problem)
    }
    guard tensor.dtype != .bool else {
      throw PointCloudError(
        .unsupported, file: file,
        "dtype bool cannot hold coordinates; expected float16, float32, float64 or an integer type")
    }
    return try PointCloud(tensor: tensor, file: file)
  }
}

/// Scalar types shared by PLY and PCD, decoded from bytes in either byte order.
enum PointCloudScalar: Sendable, Equatable {
  case int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64

  var size: Int {
    switch self {
    case .int8, .uint8: return 1
    case .int16, .uint16: return 2
    case .int32, .uint32, .float32: return 4
    case .int64, .uint64, .float64: return 8
    }
  }

  /// Reads one value at `offset` (caller checked bounds) as Double.
  func load(_ bytes: UnsafeRawBufferPointer, at offset: Int, bigEndian: Bool) -> Double {
    func raw<T: FixedWidthInteger>(_: T.Type) -> T {
      let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
      return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
    }
    switch self {
    case .int8: return Double(raw(Int8.self))
    case .uint8: return Double(raw(UInt8.self))
    case .int16: return Double(raw(Int16.self))
    case .uint16: return Double(raw(UInt16.self))
    case .int32: return Double(raw(Int32.self))
    case .uint32: return Double(raw(UInt32.self))
    case .int64: return Double(raw(Int64.self))
    case .uint64: return Double(raw(UInt64.self))
    case .float32: return Double(Float(bitPattern: raw(UInt32.self)))
    case .float64: return Double(bitPattern: raw(UInt64.self))
    }
  }

  /// Integer types' value for list counts; nil for floats.
  var isInteger: Bool { self != .float32 && self != .float64 }
}

/// Splits bytes into lines (LF or CRLF), as byte ranges.
func pointCloudLines(_ bytes: [UInt8], from start: Int = 0) -> [Range<Int>] {
  var lines: [Range<Int>] = []
  var begin = start
  for i in start..<bytes.count where bytes[i] == 0x0A {
    lines.append(begin..<(i > begin && bytes[i - 1] == 0x0D ? i - 1 : i))
    begin = i + 1
  }
  if begin < bytes.count { lines.append(begin..<bytes.count) }
  return lines
}

/// Whitespace-separated tokens of a byte range, as Strings.
func pointCloudWords(_ bytes: [UInt8], _ range: Range<Int>) -> [Substring] {
  String(decoding: bytes[range], as: UTF8.self).split(whereSeparator: {
    $0 == " " || $0 == "\t" || $0 == "\r"
  })
}
