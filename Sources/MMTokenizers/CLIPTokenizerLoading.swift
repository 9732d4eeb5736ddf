import Foundation
import MMCore

extension CLIPTokenizer {
  /// The OpenAI CLIP / ImageBind vocabulary file `bpe_simple_vocab_16e6.txt.gz`: a version line,
  /// then one merge per line. As `SimpleTokenizer`, the merges are lines 1…48894 (fewer when the
  /// file has fewer), the ids are the 256 byte symbols (in GPT-2's alphabet order), the same with
  /// `</w>`, one per merge, then `<|startoftext|>` and `<|endoftext|>`: 49,408 for the full file.
  /// - Throws: `TokenizerError`: unreadable file, data that is not gzip or not UTF-8, a line
  ///   that is not two symbols, a merge naming a symbol no earlier line made.
  public init(contentsOfGzip path: String, cleanup: TextCleanup = .openAI) throws(TokenizerError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TokenizerError(file: path, kind: .io, problem: "cannot read the file")
    }
    let text = try Gzip.decompress([UInt8](data), file: path)
    try self.init(bpeMergesText: text, file: path, cleanup: cleanup)
  }

  /// The decompressed text of `bpe_simple_vocab_16e6.txt` (see `init(contentsOfGzip:)`).
  public init(bpeMergesText bytes: [UInt8], file: String, cleanup: TextCleanup = .openAI)
    throws(TokenizerError)
  {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw TokenizerError(file: file, kind: .syntax, problem: "expected UTF-8 text, found invalid UTF-8")
    }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    // SimpleTokenizer: merges = lines[1 : 49152 - 256 - 2 + 1].
    let mergeLines = lines.dropFirst().prefix(49152 - 256 - 2)
    var pairs: [(String, String)] = []
    pairs.reserveCapacity(mergeLines.count)
    for (index, line) in mergeLines.enumerated() {
      let parts = line.split(whereSeparator: { $0.unicodeScalars.allSatisfy(CLIPTextCleanup.isPythonSpace) })
      guard parts.count == 2 else {
        throw TokenizerError(
          file: file, location: "line \(index + 2)", kind: .syntax,
          problem: "expected a merge of two symbols separated by a space, found \(parts.count) "
            + "(\(JSONValue.quoted(String(line.prefix(60)))))")
      }
      pairs.append((String(parts[0]), String(parts[1])))
    }
    var tokens: [String] = ByteLevel.openAIOrder.map { String(ByteLevel.scalarForByte[Int($0)]) }
    tokens += tokens.map { $0 + "</w>" }
    tokens += pairs.map { $0.0 + $0.1 }
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    var vocabulary: [String: Int32] = [:]
    // A later duplicate wins, as dict(zip()) does.
    for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }
    try self.init(
      vocabulary: vocabulary, merges: pairs, cleanup: cleanup, file: file, location: { "line \($0 + 2)" })
  }

  /// Hugging Face's slow-tokenizer files: `vocab.json` (token → id) and `merges.txt`
  /// (`#version` line, then `left right` per line).
  /// - Throws: `TokenizerError` naming the file and the JSON location or line.
  public init(vocabJSON vocabPath: String, merges mergesPath: String, cleanup: TextCleanup = .huggingFace)
    throws(TokenizerError)
  {
    guard let vocabData = FileManager.default.contents(atPath: vocabPath) else {
      throw TokenizerError(file: vocabPath, kind: .io, problem: "cannot read the file")
    }
    guard let mergesData = FileManager.default.contents(atPath: mergesPath) else {
      throw TokenizerError(file: mergesPath, kind: .io, problem: "cannot read the file")
    }
    let root = try JSONSource(file: vocabPath, bytes: [UInt8](vocabData)).parse()
    let vocabulary = try Self.vocabulary(root)
    guard let text = String(validating: [UInt8](mergesData), as: UTF8.self) else {
      throw TokenizerError(
        file: mergesPath, kind: .syntax, problem: "expected UTF-8 text, found invalid UTF-8")
    }
    var pairs: [(String, String)] = []
    var lineNumbers: [Int] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let trimmed = line.hasSuffix("\r") ? line.dropLast() : line[...]
      if trimmed.isEmpty || (index == 0 && trimmed.hasPrefix("#version")) { continue }
      let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count == 2 else {
        throw TokenizerError(
          file: mergesPath, location: "line \(index + 1)", kind: .syntax,
          problem: "expected 'left right', found \(JSONValue.quoted(String(trimmed.prefix(60))))")
      }
      pairs.append((String(parts[0]), String(parts[1])))
      lineNumbers.append(index + 1)
    }
    try self.init(
      vocabulary: vocabulary, merges: pairs, cleanup: cleanup, file: mergesPath,
      location: { "line \(lineNumbers[$0])" })
  }

  /// A Hugging Face `tokenizer.json` whose model is CLIP's BPE (`end_of_word_suffix` `</w>`).
  /// - Throws: `TokenizerError` naming the JSON location: not BPE, another suffix, a bad vocab
  ///   or merge.
  public init(tokenizerJSON path: String, cleanup: TextCleanup = .huggingFace) throws(TokenizerError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TokenizerError(file: path, kind: .io, problem: "cannot read the file")
    }
    let root = try JSONSource(file: path, bytes: [UInt8](data)).parse()
    let model = try root.required("model", "the BPE model")
    if let type = try model.optionalString("type"), type != "BPE" {
      throw model.child("type", .string(type)).fail(
        "expected a BPE model for CLIP, found \(type)", .unsupported)
    }
    let suffix = try model.optionalString("end_of_word_suffix")
    guard suffix == "</w>" else {
      throw (model.optional("end_of_word_suffix") ?? model).fail(
        "expected end_of_word_suffix \"</w>\" (a CLIP tokenizer), found \(suffix.map(JSONValue.quoted) ?? "none")",
        .unsupported)
    }
    let vocabulary = try Self.vocabulary(try model.required("vocab", "an object of token → id"))
    let mergesNode = try model.required("merges", "an array of merges")
    var pairs: [(String, String)] = []
    for item in try mergesNode.array() {
      if case .string(let s) = item.value {
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw item.fail("expected a merge 'left right', found \(item.found)") }
        pairs.append((String(parts[0]), String(parts[1])))
      } else {
        let parts = try item.array()
        guard parts.count == 2 else {
          throw item.fail("expected a merge [left, right], found \(parts.count) items")
        }
        pairs.append((try parts[0].string(), try parts[1].string()))
      }
    }
    do {
      try self.init(
        vocabulary: vocabulary, merges: pairs, cleanup: cleanup, file: path,
        location: { "/model/merges/\($0)" })
    } catch {
      throw error.location.map { mergesNode.source.error(at: $0, error.kind, error.problem) } ?? error
    }
  }

  /// The tokenizer of a Hugging Face CLIP checkpoint folder: `tokenizer.json`, or else
  /// `vocab.json` + `merges.txt`.
  public init(folder: String, cleanup: TextCleanup = .huggingFace) throws(TokenizerError) {
    let manager = FileManager.default
    let json = (folder as NSString).appendingPathComponent("tokenizer.json")
    if manager.fileExists(atPath: json) {
      try self.init(tokenizerJSON: json, cleanup: cleanup)
      return
    }
    let vocab = (folder as NSString).appendingPathComponent("vocab.json")
    let merges = (folder as NSString).appendingPathComponent("merges.txt")
    guard manager.fileExists(atPath: vocab), manager.fileExists(atPath: merges) else {
      throw TokenizerError(
        file: folder, kind: .io,
        problem: "expected a CLIP tokenizer: tokenizer.json, or vocab.json and merges.txt; found neither")
    }
    try self.init(vocabJSON: vocab, merges: merges, cleanup: cleanup)
  }

  private static func vocabulary(_ node: JSONNode) throws(TokenizerError) -> [String: Int32] {
    var vocabulary: [String: Int32] = [:]
    var seen: [Int32: String] = [:]
    for member in try node.members() {
      let child = node.child(member.key, member.value)
      let id = try child.tokenID()
      if let other = seen[id] {
        throw child.fail(
          "id \(id) is given to both \(JSONValue.quoted(other)) and \(JSONValue.quoted(member.key))",
          .vocabulary)
      }
      seen[id] = member.key
      vocabulary[member.key] = id
    }
    return vocabulary
  }
}

extension ByteLevel {
  /// The bytes in `bytes_to_unicode()`'s insertion order (`!`…`~`, `¡`…`¬`, `®`…`ÿ`, then the
  /// rest ascending): the order of CLIP's first 256 ids.
  static let openAIOrder: [UInt8] = {
    let printable = (0..<256).filter {
      (0x21...0x7E).contains($0) || (0xA1...0xAC).contains($0) || (0xAE...0xFF).contains($0)
    }
    let rest = (0..<256).filter { !printable.contains($0) }
    return (printable + rest).map { UInt8($0) }
  }()
}
