/// A tensor operation got operands it cannot work with. Each case names the operation and
/// says what was expected and what was found.
public enum TensorError: Error, CustomStringConvertible, Equatable, Sendable {
  case shapeMismatch(op: String, expected: String, found: String)
  case dtypeMismatch(op: String, expected: DType, found: DType)
  case invalidArgument(op: String, message: String)
  case notContiguous(op: String)

  public var description: String {
    switch self {
    case .shapeMismatch(let op, let expected, let found):
      return "\(op): shape mismatch: expected \(expected), found \(found)"
    case .dtypeMismatch(let op, let expected, let found):
      return "\(op): dtype mismatch: expected \(expected.name), found \(found.name)"
    case .invalidArgument(let op, let message):
      return "\(op): \(message)"
    case .notContiguous(let op):
      return "\(op): needs a contiguous tensor; call .contiguous() first"
    }
  }
}

/// `[2, 3, 4]` as text for messages.
public func shapeText(_ shape: [Int]) -> String {
  "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// Product of dimensions, or nil when it overflows `Int` (hostile headers).
public func checkedElementCount(_ shape: [Int]) -> Int? {
  var count = 1
  for dim in shape {
    guard dim >= 0 else { return nil }
    let (product, overflow) = count.multipliedReportingOverflow(by: dim)
    if overflow { return nil }
    count = product
  }
  return count
}
