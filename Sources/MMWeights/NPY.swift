import MMCore

/// NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// the magic `\x93NUMPY`, a version byte pair (1.0, 2.0 or 3.0), a little-endian header length
/// (2 bytes in 1.0, 4 in 2.0 and 3.0), a Python-literal dict
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a
/// newline, then the raw elements.
///
/// Reading copies the data into fresh aligned storage (npy files are small, and big-endian or
/// Fortran-order data need a rearranging copy anyway), so the tensor does not keep the file
/// mapped. The header is parsed as a literal, never evaluated, and validated like untrusted input.
public enum NPY {
  /// A validated `.npy` header.
  public struct Header: Equatable, Sendable {
    public let version: String
    /// The dtype descriptor as written, e.g. `>i4`.
    public let descr: String
    public let dtype: DType
    /// Whether the elements are stored big-endian (they are swapped to native when read).
    public let bigEndian: Bool
    /// Whether the elements are stored column-major (they are reordered when read).
    public let fortranOrder: Bool
    public let shape: [Int]
    /// File offset of the first data byte.
    public let dataOffset: Int
    public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
  }

  /// Headers longer than this are refused.
  public static let maxHeaderLength = 1 << 20

  /// Reads the `.npy` file at `path` into a contiguous row-major tensor in native byte order.
  public static func read(contentsOf path: String) throws(WeightFileError) -> Tensor {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw WeightFileError(error) }
    return try decode(file.buffer(0..<file.size), path: path)
  }

  /// Decodes `.npy` bytes; `path` names the source in errors.
  public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(WeightFileError)
    -> Tensor
  {
    let header = try parseHeader(bytes, path: path)
    let size = header.dtype.byteSize
    let storageShape = header.fortranOrder ? Array(header.shape.reversed()) : header.shape
    let stored = Tensor(zeros: storageShape, dtype: header.dtype)
    if header.byteCount > 0 {
      stored.baseAddress.copyMemory(
        from: bytes.baseAddress! + header.dataOffset, byteCount: header.byteCount)
    }
    if header.bigEndian {
      let raw = stored.baseAddress.assumingMemoryBound(to: UInt8.self)
      for element in 0..<header.shape.reduce(1, *) {
        var item = UnsafeMutableBufferPointer(start: raw + element * size, count: size)
        item.reverse()
      }
    }
    guard header.fortranOrder, header.shape.count > 1 else { return stored }
    // Column-major data is the row-major array of the reversed shape; reversing its axes
    // gives the right view, which `contiguous()` lays out row-major.
    do {
      return try stored.permuted(Array((0..<header.shape.count).reversed())).contiguous()
    } catch {
      preconditionFailure("a reversed axis order is always a permutation: \(error)")
    }
  }

  /// Parses and validates the header of the `.npy` bytes, including that the data that
  /// follows is exactly as long as the shape and dtype say.
  public static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String)
    throws(WeightFileError) -> Header
  {
    let fail = Fail(path: path)
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard bytes.count >= 10 else {
      throw fail(.truncated, "file is \(bytes.count) bytes, too short for the 10-byte npy preamble")
    }
    guard bytes.prefix(6).elementsEqual(magic) else {
      let found = bytes.prefix(6).map { String($0, radix: 16) }.joined(separator: " ")
      throw fail(.header, "expected the npy magic 93 4e 55 4d 50 59 (\\x93NUMPY), found \(found)")
    }
    let (major, minor) = (bytes[6], bytes[7])
    guard [1, 2, 3].contains(major), minor == 0 else {
      throw fail(.unsupported, "npy version \(major).\(minor) is not supported; expected 1.0, 2.0 or 3.0")
    }
    let lengthSize = major == 1 ? 2 : 4
    guard bytes.count >= 8 + lengthSize else {
      throw fail(
        .truncated, "file is \(bytes.count) bytes, too short for the version \(major).0 header length")
    }
    let headerLength =
      major == 1
      ? Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
      : Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    let headerStart = 8 + lengthSize
    guard headerLength <= maxHeaderLength else {
      throw fail(.header, "header length \(headerLength) exceeds the limit of \(maxHeaderLength) bytes")
    }
    guard headerStart + headerLength <= bytes.count else {
      throw fail(
        .truncated,
        "header length \(headerLength) needs \(headerStart + headerLength) bytes but the file has \(bytes.count)"
      )
    }
    let headerBytes = Array(bytes[headerStart..<(headerStart + headerLength)])
    if major == 3 && String(validating: headerBytes, as: UTF8.self) == nil {
      throw fail(.header, "version 3.0 header is not valid UTF-8")
    }
    let literal: PythonLiteral
    do { literal = try parsePythonLiteral(headerBytes) } catch {
      throw fail(error.message.hasPrefix("duplicate") ? .duplicate : .header, error.message)
    }
    guard case .dict(let pairs) = literal else {
      throw fail(.header, "header must be a dict, found \(literal.text)")
    }
    let keys = pairs.map(\.key).sorted()
    guard keys == ["descr", "fortran_order", "shape"] else {
      throw fail(.header, "header keys must be 'descr', 'fortran_order', 'shape', found \(keys)")
    }
    let values = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })

    guard case .string(let descr) = values["descr"]! else {
      throw fail(
        .unsupported,
        "descr \(values["descr"]!.text) is a structured dtype; only plain numeric dtypes are supported")
    }
    guard let (dtype, bigEndian) = NPYDescr.parse(descr) else {
      let known = NPYDescr.table.keys.sorted().joined(separator: ", ")
      throw fail(
        .dtype, "dtype '\(descr)' is not supported; expected a byte order <, >, | or = and one of \(known)")
    }
    guard case .bool(let fortranOrder) = values["fortran_order"]! else {
      throw fail(.header, "fortran_order must be True or False, found \(values["fortran_order"]!.text)")
    }
    guard case .tuple(let dims) = values["shape"]! else {
      throw fail(.shape, "shape must be a tuple of integers, found \(values["shape"]!.text)")
    }
    var shape: [Int] = []
    for dim in dims {
      guard case .integer(let text) = dim, let value = Int(text), value >= 0 else {
        throw fail(
          .shape, "shape \(values["shape"]!.text) must hold non-negative integers that fit in 64 bits")
      }
      shape.append(value)
    }
    guard let count = checkedElementCount(shape),
      case (let byteCount, false) = count.multipliedReportingOverflow(by: dtype.byteSize)
    else {
      throw fail(.shape, "shape \(shapeText(shape)) of \(descr) overflows the byte count")
    }
    // A zero extent makes the count 0, but the tensor's strides (products of the other extents)
    // must still fit in 64 bits.
    guard checkedElementCount(shape.map { max($0, 1) }) != nil else {
      throw fail(
        .shape, "shape \(shapeText(shape)) of \(descr): the product of its nonzero extents overflows 64 bits")
    }
    let dataOffset = headerStart + headerLength
    let available = bytes.count - dataOffset
    guard available >= byteCount else {
      throw fail(
        .truncated,
        "shape \(shapeText(shape)) of \(descr) needs \(byteCount) data bytes but the file has \(available)")
    }
    guard available == byteCount else {
      throw fail(
        .offsets,
        "shape \(shapeText(shape)) of \(descr) needs \(byteCount) data bytes but \(available) follow the header"
      )
    }
    return Header(
      version: "\(major).0", descr: descr, dtype: dtype, bigEndian: bigEndian,
      fortranOrder: fortranOrder, shape: shape, dataOffset: dataOffset)
  }
}
