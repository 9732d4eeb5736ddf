import MMCore

/// A ggml tensor type as GGUF stores it (the `ggml_type` enum of ggml.h): its id, its name and
/// its block layout. Quantized types pack `blockLength` elements into `blockByteCount` bytes;
/// plain types have blocks of one element.
///
/// Every type the reference `gguf` package (0.19) knows is listed, so that a file holding, say,
/// IQ2_XS tensors still opens and exposes them as raw blocks; which types the kernels compute
/// on is MMKernels' business (`QuantFormat(rawValue: type.rawValue)`).
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0
  case f16 = 1
  case q4_0 = 2
  case q4_1 = 3
  case q5_0 = 6
  case q5_1 = 7
  case q8_0 = 8
  case q8_1 = 9
  case q2_K = 10
  case q3_K = 11
  case q4_K = 12
  case q5_K = 13
  case q6_K = 14
  case q8_K = 15
  case iq2_xxs = 16
  case iq2_xs = 17
  case iq3_xxs = 18
  case iq1_s = 19
  case iq4_nl = 20
  case iq3_s = 21
  case iq2_s = 22
  case iq4_xs = 23
  case i8 = 24
  case i16 = 25
  case i32 = 26
  case i64 = 27
  case f64 = 28
  case iq1_m = 29
  case bf16 = 30
  case tq1_0 = 34
  case tq2_0 = 35
  case mxfp4 = 39
  case nvfp4 = 40
  case q1_0 = 41

  /// The name ggml and the `gguf` package use: `Q4_K`, `F16`, `IQ2_XS`.
  public var name: String { Self.layout[self]!.name }

  public var description: String { name }

  /// Elements per block (1 for plain types, 32 or 256 for most quantized ones).
  public var blockLength: Int { Self.layout[self]!.elements }
  /// Bytes per block.
  public var blockByteCount: Int { Self.layout[self]!.bytes }
  /// Whether elements are packed in blocks with scales (not a plain number type).
  public var isQuantized: Bool { dtype == nil }

  /// The `DType` of a plain type, nil for quantized ones.
  public var dtype: DType? {
    switch self {
    case .f32: return .f32
    case .f16: return .f16
    case .bf16: return .bf16
    case .f64: return .f64
    case .i8: return .i8
    case .i16: return .i16
    case .i32: return .i32
    case .i64: return .i64
    default: return nil
    }
  }

  /// Name, elements and bytes per block, as `GGML_QUANT_SIZES` in the `gguf` package.
  private static let layout: [GGMLType: (name: String, elements: Int, bytes: Int)] = {
    let qk = 256
    return [
      .f32: ("F32", 1, 4), .f16: ("F16", 1, 2), .q4_0: ("Q4_0", 32, 18), .q4_1: ("Q4_1", 32, 20),
      .q5_0: ("Q5_0", 32, 22), .q5_1: ("Q5_1", 32, 24), .q8_0: ("Q8_0", 32, 34), .q8_1: ("Q8_1", 32, 40),
      .q2_K: ("Q2_K", qk, 4 + qk / 16 + qk / 4), .q3_K: ("Q3_K", qk, 2 + qk / 4 + qk / 8 + 12),
      .q4_K: ("Q4_K", qk, 4 + qk / 2 + 12), .q5_K: ("Q5_K", qk, 4 + qk / 2 + qk / 8 + 12),
      .q6_K: ("Q6_K", qk, 2 + qk / 2 + qk / 4 + qk / 16), .q8_K: ("Q8_K", qk, 4 + qk + qk / 8),
      .iq2_xxs: ("IQ2_XXS", qk, 2 + qk / 4), .iq2_xs: ("IQ2_XS", qk, 2 + qk / 4 + qk / 32),
      .iq3_xxs: ("IQ3_XXS", qk, 2 + qk / 4 + qk / 8), .iq1_s: ("IQ1_S", qk, 2 + qk / 8 + qk / 16),
      .iq4_nl: ("IQ4_NL", 32, 18), .iq3_s: ("IQ3_S", qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4),
      .iq2_s: ("IQ2_S", qk, 2 + qk / 4 + qk / 16), .iq4_xs: ("IQ4_XS", qk, 4 + qk / 2 + qk / 64),
      .i8: ("I8", 1, 1), .i16: ("I16", 1, 2), .i32: ("I32", 1, 4), .i64: ("I64", 1, 8),
      .f64: ("F64", 1, 8), .iq1_m: ("IQ1_M", qk, qk / 8 + qk / 16 + qk / 32), .bf16: ("BF16", 1, 2),
      .tq1_0: ("TQ1_0", qk, 2 + 4 * 13), .tq2_0: ("TQ2_0", qk, 2 + 64), .mxfp4: ("MXFP4", 32, 17),
      .nvfp4: ("NVFP4", 64, 36), .q1_0: ("Q1_0", 128, 18),
    ]
  }()
}

/// The type tag of a GGUF metadata value (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  case uint8 = 0
  case int8 = 1
  case uint16 = 2
  case int16 = 3
  case uint32 = 4
  case int32 = 5
  case float32 = 6
  case bool = 7
  case string = 8
  case array = 9
  case uint64 = 10
  case int64 = 11
  case float64 = 12

  /// The spelling of the GGUF specification: `UINT32`, `STRING`.
  public var description: String {
    [
      "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64",
      "INT64", "FLOAT64",
    ][Int(rawValue)]
  }

  /// Bytes of one value of a fixed-size type; nil for strings and arrays.
  public var byteSize: Int? {
    switch self {
    case .uint8, .int8, .bool: return 1
    case .uint16, .int16: return 2
    case .uint32, .int32, .float32: return 4
    case .uint64, .int64, .float64: return 8
    case .string, .array: return nil
    }
  }

  /// The fewest bytes a value of this type takes in a file (a string's length field, an
  /// array's type and count), which bounds element counts before anything is allocated.
  var minimumByteSize: Int { byteSize ?? (self == .string ? 8 : 12) }
}

/// One GGUF metadata value.
public enum GGUFValue: Equatable, Sendable, CustomStringConvertible {
  case uint8(UInt8)
  case int8(Int8)
  case uint16(UInt16)
  case int16(Int16)
  case uint32(UInt32)
  case int32(Int32)
  case float32(Float)
  case bool(Bool)
  case string(String)
  case array(GGUFArray)
  case uint64(UInt64)
  case int64(Int64)
  case float64(Double)

  public var type: GGUFValueType {
    switch self {
    case .uint8: return .uint8
    case .int8: return .int8
    case .uint16: return .uint16
    case .int16: return .int16
    case .uint32: return .uint32
    case .int32: return .int32
    case .float32: return .float32
    case .bool: return .bool
    case .string: return .string
    case .array: return .array
    case .uint64: return .uint64
    case .int64: return .int64
    case .float64: return .float64
    }
  }

  /// The value of any integer type, when it fits in `Int`.
  public var intValue: Int? {
    switch self {
    case .uint8(let v): return Int(v)
    case .int8(let v): return Int(v)
    case .uint16(let v): return Int(v)
    case .int16(let v): return Int(v)
    case .uint32(let v): return Int(v)
    case .int32(let v): return Int(v)
    case .uint64(let v): return Int(exactly: v)
    case .int64(let v): return Int(v)
    default: return nil
    }
  }

  /// The value of a float type, or of an integer type converted.
  public var doubleValue: Double? {
    switch self {
    case .float32(let v): return Double(v)
    case .float64(let v): return v
    case .uint64(let v): return Double(v)
    default: return intValue.map(Double.init)
    }
  }

  /// The type and value for messages: `UINT32 32`, `STRING "llama"`, `ARRAY[FLOAT32] of 3`.
  public var description: String {
    switch self {
    case .string(let s): return "STRING \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
    case .array(let a): return "ARRAY[\(a.elementType)] of \(a.count)"
    case .bool(let b): return "BOOL \(b)"
    case .float32(let v): return "FLOAT32 \(v)"
    case .float64(let v): return "FLOAT64 \(v)"
    case .uint64(let v): return "UINT64 \(v)"
    default: return "\(type) \(intValue ?? 0)"
    }
  }
}

/// A GGUF array, stored compactly by element type (a 256k-entry token score list is one
/// `[Float]`, not 256k enum values). Nested arrays hold `GGUFArray`s.
public enum GGUFArray: Equatable, Sendable {
  case uint8([UInt8])
  case int8([Int8])
  case uint16([UInt16])
  case int16([Int16])
  case uint32([UInt32])
  case int32([Int32])
  case float32([Float])
  case bool([Bool])
  case string([String])
  case array([GGUFArray])
  case uint64([UInt64])
  case int64([Int64])
  case float64([Double])

  public var elementType: GGUFValueType {
    switch self {
    case .uint8: return .uint8
    case .int8: return .int8
    case .uint16: return .uint16
    case .int16: return .int16
    case .uint32: return .uint32
    case .int32: return .int32
    case .float32: return .float32
    case .bool: return .bool
    case .string: return .string
    case .array: return .array
    case .uint64: return .uint64
    case .int64: return .int64
    case .float64: return .float64
    }
  }

  public var count: Int {
    switch self {
    case .uint8(let a): return a.count
    case .int8(let a): return a.count
    case .uint16(let a): return a.count
    case .int16(let a): return a.count
    case .uint32(let a): return a.count
    case .int32(let a): return a.count
    case .float32(let a): return a.count
    case .bool(let a): return a.count
    case .string(let a): return a.count
    case .array(let a): return a.count
    case .uint64(let a): return a.count
    case .int64(let a): return a.count
    case .float64(let a): return a.count
    }
  }

  /// Every element as a `GGUFValue`.
  public var values: [GGUFValue] {
    switch self {
    case .uint8(let a): return a.map { .uint8($0) }
    case .int8(let a): return a.map { .int8($0) }
    case .uint16(let a): return a.map { .uint16($0) }
    case .int16(let a): return a.map { .int16($0) }
    case .uint32(let a): return a.map { .uint32($0) }
    case .int32(let a): return a.map { .int32($0) }
    case .float32(let a): return a.map { .float32($0) }
    case .bool(let a): return a.map { .bool($0) }
    case .string(let a): return a.map { .string($0) }
    case .array(let a): return a.map { .array($0) }
    case .uint64(let a): return a.map { .uint64($0) }
    case .int64(let a): return a.map { .int64($0) }
    case .float64(let a): return a.map { .float64($0) }
    }
  }

  /// The elements of an integer array as `Int`s (nil for other arrays or a u64 past Int.max).
  public var ints: [Int]? {
    switch self {
    case .uint8(let a): return a.map(Int.init)
    case .int8(let a): return a.map(Int.init)
    case .uint16(let a): return a.map(Int.init)
    case .int16(let a): return a.map(Int.init)
    case .uint32(let a): return a.map(Int.init)
    case .int32(let a): return a.map(Int.init)
    case .int64(let a): return a.map(Int.init)
    case .uint64(let a):
      var out: [Int] = []
      out.reserveCapacity(a.count)
      for v in a {
        guard let i = Int(exactly: v) else { return nil }
        out.append(i)
      }
      return out
    default: return nil
    }
  }

  /// The elements of a float array (f32 widened) as `Double`s.
  public var doubles: [Double]? {
    switch self {
    case .float32(let a): return a.map(Double.init)
    case .float64(let a): return a
    default: return nil
    }
  }
}

/// One tensor's entry in a GGUF header.
public struct GGUFTensorInfo: Equatable, Sendable, CustomStringConvertible {
  public let name: String
  public let type: GGMLType
  /// The dimensions as the file lists them, fastest-varying first (ggml's `ne`).
  public let dimensions: [Int]
  /// File offset of the tensor's first byte (the data section start plus the header's
  /// offset; a multiple of the file's alignment).
  public let fileOffset: Int
  /// Bytes of data: rows × blocks per row × block size.
  public let byteCount: Int

  /// The row-major shape (`dimensions` reversed): a ggml `[ne0 = 4096, ne1 = 11008]` weight
  /// is `[11008, 4096]`, rows of 4096 contiguous elements, like the safetensors original.
  public var shape: [Int] { dimensions.reversed() }
  /// Elements in the last (contiguous) dimension; 1 for a scalar.
  public var rowLength: Int { dimensions.first ?? 1 }
  /// Number of rows: the product of all other dimensions.
  public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
  /// Bytes per row (a whole number of blocks).
  public var rowByteCount: Int { rowLength / type.blockLength * type.blockByteCount }
  public var elementCount: Int { dimensions.reduce(1, *) }

  public var description: String { "\(type.name) \(shapeText(shape))" }
}
