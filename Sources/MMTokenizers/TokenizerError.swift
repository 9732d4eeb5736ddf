/// A problem loading a tokenizer or decoding ids: which file, where in it (a JSON pointer and its
/// line and column, or a GGUF key and index), and what was expected versus what was found.
///
/// `description` reads like
/// `tokenizer.json:14:7: /model/merges/3: merge 'Ġ t' names 'Ġ', which is not in /model/vocab`.
/// `kind` lets callers and tests branch on the category without parsing text.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The category of a `TokenizerError`.
  public enum Kind: String, Sendable, Equatable {
    /// The file could not be read.
    case io
    /// The text is not JSON (the parser's message, with its line and column).
    case syntax
    /// A required field is missing or has the wrong JSON type or value.
    case schema
    /// A valid component this library does not implement (a model type, normalizer,
    /// pre-tokenizer, decoder or post-processor, or a regex it has no scanner for).
    case unsupported
    /// The vocabulary is inconsistent: merges naming unknown tokens, duplicate ids, a special
    /// token that is not in the vocabulary.
    case vocabulary
    /// An id passed to `decode` that no token has.
    case idOutOfRange
  }

  /// The file (or a label such as `<gguf>` for in-memory arrays).
  public let file: String
  /// Where in the file: an RFC 6901 JSON pointer (`/model/merges/3`) or a GGUF key with an index
  /// (`tokenizer.ggml.merges[3]`); nil when the problem is about the whole input.
  public let location: String?
  /// The line and column of `location` in the file, when known.
  public let line: Int?
  public let column: Int?
  public let kind: Kind
  /// What is wrong: what was expected and what was found.
  public let problem: String

  public init(
    file: String, location: String? = nil, line: Int? = nil, column: Int? = nil, kind: Kind,
    problem: String
  ) {
    self.file = file
    self.location = location
    self.line = line
    self.column = column
    self.kind = kind
    self.problem = problem
  }

  public var description: String {
    var text = file
    if let line, let column { text += ":\(line):\(column)" }
    text += ": "
    if let location, !location.isEmpty { text += "\(location): " }
    return text + problem
  }
}
