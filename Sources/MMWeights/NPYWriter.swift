import MMCore

extension NPY {
  /// Writes `tensor` to `path` as NumPy would with `np.save`: little-endian, C order, version
  /// 1.0 when the header fits (else 2.0), the header padded so the data starts at a multiple
  /// of 64 bytes. Atomic: a failure leaves no partial file under `path`. Throws `.unsupported`
  /// for dtypes NumPy lacks (bf16, f8): convert them first, e.g. `tensor.converted(to: .f32)`.
  public static func write(_ tensor: Tensor, to path: String) throws(WeightFileError) {
    let header = try headerBytes(dtype: tensor.dtype, shape: tensor.shape, path: path)
    try writeAtomically(to: path) { (sink) throws(WeightFileError) in
      try sink.write(header)
      let dense = tensor.contiguous()
      try sink.write(UnsafeRawBufferPointer(start: dense.baseAddress, count: dense.byteCount))
    }
  }

  /// The whole `.npy` file for `tensor`, in memory.
  public static func encode(_ tensor: Tensor) throws(WeightFileError) -> [UInt8] {
    var bytes = try headerBytes(dtype: tensor.dtype, shape: tensor.shape, path: "<memory>")
    let dense = tensor.contiguous()
    bytes.append(contentsOf: UnsafeRawBufferPointer(start: dense.baseAddress, count: dense.byteCount))
    return bytes
  }

  /// Magic, version, length and padded header, byte for byte as NumPy's `_write_array_header`.
  static func headerBytes(dtype: DType, shape: [Int], path: String) throws(WeightFileError)
    -> [UInt8]
  {
    guard let descr = NPYDescr.descr(for: dtype) else {
      throw WeightFileError(
        path: path, kind: .unsupported,
        problem:
          "dtype \(dtype.rawValue) has no NumPy equivalent; convert it first, e.g. tensor.converted(to: .f32)"
      )
    }
    let dims = shape.map(String.init)
    let shapeText = "(" + dims.joined(separator: ", ") + (dims.count == 1 ? ",)" : ")")
    var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
    // NumPy leaves room for the first axis to grow to 21 digits.
    if let first = dims.first { text += String(repeating: " ", count: max(0, 21 - first.count)) }
    let body = Array(text.utf8)
    let length = body.count + 1  // + the final newline
    for (major, lengthSize) in [(UInt8(1), 2), (UInt8(2), 4)] {
      let padding = 64 - (8 + lengthSize + length) % 64
      let total = length + padding
      guard lengthSize == 4 || total < 65536 else { continue }
      var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
      if lengthSize == 2 {
        withUnsafeBytes(of: UInt16(total).littleEndian) { bytes.append(contentsOf: $0) }
      } else {
        withUnsafeBytes(of: UInt32(total).littleEndian) { bytes.append(contentsOf: $0) }
      }
      bytes += body
      bytes += [UInt8](repeating: 0x20, count: padding)
      bytes.append(0x0A)
      return bytes
    }
    preconditionFailure("version 2.0 always fits")
  }
}
