import MMCore

/// A problem reading or writing a tensor file: which file, which tensor (when one is
/// involved), and what was expected versus what was found.
///
/// `description` reads like
/// `model.safetensors: tensor 'wte.weight': data_offsets [0, 400] hold 400 bytes but shape [10, 20] of F32 needs 800`.
/// `kind` lets callers and tests branch on the category without parsing text.
public struct WeightFileError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The category of a `WeightFileError`.
  public enum Kind: String, Sendable, Equatable {
    /// The file could not be opened, mapped, read or written (the OS said no).
    case io
    /// The file ends before the format says it should.
    case truncated
    /// The header (its length, JSON or Python literal, or a required field) is malformed.
    case header
    /// A dtype string the format or this reader does not know.
    case dtype
    /// A shape that is negative, not an integer, or whose element count overflows.
    case shape
    /// Data offsets that are out of range, overlap, leave holes, or disagree with the shape.
    case offsets
    /// The same tensor or key appears twice.
    case duplicate
    /// A tensor name that is not in the store.
    case missingTensor
    /// A valid file using a feature this reader does not support, or a tensor this writer
    /// cannot store in the format.
    case unsupported
  }

  public let path: String
  /// The tensor concerned, when the problem is about one tensor.
  public let tensor: String?
  public let kind: Kind
  /// What is wrong: what was expected and what was found.
  public let problem: String

  public init(path: String, tensor: String? = nil, kind: Kind, problem: String) {
    self.path = path
    self.tensor = tensor
    self.kind = kind
    self.problem = problem
  }

  public var description: String {
    if let tensor { return "\(path): tensor '\(tensor)': \(problem)" }
    return "\(path): \(problem)"
  }

  /// Wraps MMCore's `FileError` (from `MappedFile`) as an I/O problem.
  init(_ error: FileError) {
    self.init(path: error.path, kind: .io, problem: error.problem)
  }
}
