/// The element types a tensor can hold: every dtype of the safetensors format, plus the
/// common NumPy ones. The raw value is the safetensors spelling.
public enum DType: String, Sendable, CaseIterable, Codable {
  case bool = "BOOL"
  case u8 = "U8"
  case i8 = "I8"
  case f8e4m3 = "F8_E4M3"
  case f8e5m2 = "F8_E5M2"
  case i16 = "I16"
  case u16 = "U16"
  case f16 = "F16"
  case bf16 = "BF16"
  case i32 = "I32"
  case u32 = "U32"
  case f32 = "F32"
  case f64 = "F64"
  case i64 = "I64"
  case u64 = "U64"

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
    case .i16, .u16, .f16, .bf16: return 2
    case .i32, .u32, .f32: return 4
    case .f64, .i64, .u64: return 8
    }
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .f8e4m3, .f8e5m2, .f16, .bf16, .f32, .f64: return true
    default: return false
    }
  }

  /// Short lowercase name for messages: `f32`, `bf16`, `u8`.
  public var name: String { rawValue.lowercased() }
}

/// A Swift type that is the element type of some `DType`.
public protocol TensorScalar: Sendable {
  static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .f32 } }
extension Double: TensorScalar { public static var dtype: DType { .f64 } }
extension Float16: TensorScalar { public static var dtype: DType { .f16 } }
extension BFloat16: TensorScalar { public static var dtype: DType { .bf16 } }
extension Int8: TensorScalar { public static var dtype: DType { .i8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .u8 } }
extension Int16: TensorScalar { public static var dtype: DType { .i16 } }
extension UInt16: TensorScalar { public static var dtype: DType { .u16 } }
extension Int32: TensorScalar { public static var dtype: DType { .i32 } }
extension UInt32: TensorScalar { public static var dtype: DType { .u32 } }
extension Int64: TensorScalar { public static var dtype: DType { .i64 } }
extension UInt64: TensorScalar { public static var dtype: DType { .u64 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
