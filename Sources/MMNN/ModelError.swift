import MMCore
import MMWeights

/// Why a model could not be built or run. Every message names the file and, for weights, the
/// full checkpoint key, with what was expected and what was found.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A configuration file is missing a key or holds a value this model cannot use.
  case configuration(source: String, problem: String)
  /// A checkpoint tensor is missing, has the wrong shape or dtype.
  case weights(path: String, tensor: String, problem: String)
  /// An input of the wrong shape, an out-of-range token, an empty batch.
  case invalidInput(String)

  public var description: String {
    switch self {
    case .configuration(let source, let problem): return "\(source): \(problem)"
    case .weights(let path, let tensor, let problem): return "\(path): tensor '\(tensor)': \(problem)"
    case .invalidInput(let problem): return "invalid input: \(problem)"
    }
  }

  /// A `WeightFileError` (missing tensor with its nearest names, truncated data) as a model error.
  public init(_ error: WeightFileError) {
    self = .weights(path: error.path, tensor: error.tensor ?? "", problem: error.problem)
  }
}
