import Foundation
import MMCore

/// CLIP's byte-level BPE tokenizer (OpenAI CLIP, ImageBind, Hugging Face `CLIPTokenizer`).
///
/// Text is cleaned (`CLIPTextCleanup`: the OpenAI/ImageBind ftfy-based cleanup or Hugging Face's
/// normalizer), split by CLIP's pattern
/// `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (Hugging Face's `tokenizers` never matches the first two alternatives: there an upper-case
/// `<|ENDOFTEXT|>` splits as `<|`, `endoftext`, `|>`),
/// each piece's UTF-8 bytes mapped to GPT-2's byte alphabet with `</w>` on its last symbol, and
/// merged by rank.
///
///     let tokenizer = try CLIPTokenizer(contentsOfGzip: "bpe_simple_vocab_16e6.txt.gz")
///     tokenizer.encode("a dog")   // [320, 1929]
///     tokenizer.padded("a dog")   // [49406, 320, 1929, 49407, 0, …] (77 ids)
public struct CLIPTokenizer: Sendable {
  /// Which reference's text cleanup to reproduce (see `CLIPTextCleanup`).
  public enum TextCleanup: Sendable, Equatable {
    /// OpenAI CLIP / ImageBind `SimpleTokenizer`: ftfy (without mojibake repair), HTML
    /// unescaping, whitespace collapse, Python `lower()`. `<|startoftext|>` and
    /// `<|endoftext|>` in the text (any case) become the special ids.
    case openAI
    /// Hugging Face `CLIPTokenizer`: special tokens matched verbatim in the raw text, then NFC,
    /// whitespace collapse, per-scalar lowercase.
    case huggingFace
  }

  /// The context length of CLIP's text encoders.
  public static let contextLength = 77

  public let cleanup: TextCleanup
  /// `<|startoftext|>` and `<|endoftext|>`.
  public let startOfText: Int32
  public let endOfText: Int32
  /// The number of ids (the largest id + 1).
  public let vocabularySize: Int

  private let ids: [[UInt8]: Int32]
  /// (left id, right id) → (rank, merged id).
  private let merges: [UInt64: (rank: Int32, id: Int32)]
  /// The id of each byte's symbol, and of the byte's symbol with `</w>`.
  private let byteIDs: [Int32?]
  private let byteEndIDs: [Int32?]
  private let unknown: Int32?
  private static let specialTexts = ["<|startoftext|>", "<|endoftext|>"]

  /// The vocabulary and merge ranks from token texts (byte-level strings) and merge pairs.
  /// - Throws: `TokenizerError` of kind `.vocabulary` when a merge's parts or result, or a
  ///   special token, is not in the vocabulary.
  public init(
    vocabulary: [String: Int32], merges pairs: [(String, String)], cleanup: TextCleanup, file: String,
    location: (Int) -> String = { "merge \($0)" }
  ) throws(TokenizerError) {
    var ids: [[UInt8]: Int32] = [:]
    ids.reserveCapacity(vocabulary.count)
    var largest: Int32 = -1
    for (text, id) in vocabulary {
      ids[Array(text.utf8)] = id
      largest = max(largest, id)
    }
    func id(_ text: String) -> Int32? { ids[Array(text.utf8)] }
    var table: [UInt64: (rank: Int32, id: Int32)] = [:]
    table.reserveCapacity(pairs.count)
    for (rank, (left, right)) in pairs.enumerated() {
      guard let a = id(left), let b = id(right), let merged = id(left + right) else {
        let missing = [left, right, left + right].first { id($0) == nil } ?? left
        throw TokenizerError(
          file: file, location: location(rank), kind: .vocabulary,
          problem:
            "merge '\(left) \(right)' needs \(JSONValue.quoted(missing)), which is not in the vocabulary")
      }
      let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
      if table[key] == nil { table[key] = (Int32(rank), merged) }
    }
    guard let start = id("<|startoftext|>"), let end = id("<|endoftext|>") else {
      throw TokenizerError(
        file: file, kind: .vocabulary,
        problem: "expected the special tokens <|startoftext|> and <|endoftext|> in the vocabulary, found "
          + (id("<|startoftext|>") == nil ? "no <|startoftext|>" : "no <|endoftext|>"))
    }
    self.ids = ids
    self.merges = table
    self.cleanup = cleanup
    self.startOfText = start
    self.endOfText = end
    self.vocabularySize = Int(largest) + 1
    self.byteIDs = (0..<256).map { ids[String(ByteLevel.scalarForByte[$0]).utf8.map { $0 }] }
    self.byteEndIDs = (0..<256).map { ids[Array((String(ByteLevel.scalarForByte[$0]) + "</w>").utf8)] }
    self.unknown = cleanup == .huggingFace ? end : nil
  }

  // MARK: Encoding

  /// The ids of `text`, without `<|startoftext|>`/`<|endoftext|>` around them
  /// (`SimpleTokenizer.encode`; Hugging Face's `input_ids[1:-1]`).
  public func encode(_ text: String) -> [Int32] {
    var out: [Int32] = []
    var cache: [[UInt8]: [Int32]] = [:]
    switch cleanup {
    case .openAI:
      encodePieces(CLIPTextCleanup.openAI(text), specialsInText: true, cache: &cache, into: &out)
    case .huggingFace:
      // Added special tokens are matched in the raw text before normalization.
      let scalars = Array(text.unicodeScalars)
      var start = 0
      var i = 0
      while i < scalars.count {
        if scalars[i] == "<", let (id, length) = special(in: scalars[...], at: i, ignoringCase: false) {
          encodePieces(
            CLIPTextCleanup.huggingFace(Array(scalars[start..<i])), specialsInText: false, cache: &cache,
            into: &out)
          out.append(id)
          i += length
          start = i
        } else {
          i += 1
        }
      }
      encodePieces(
        CLIPTextCleanup.huggingFace(Array(scalars[start...])), specialsInText: false, cache: &cache,
        into: &out)
    }
    return out
  }

  /// `<|startoftext|>`, the ids of `text`, `<|endoftext|>` (Hugging Face's `input_ids`).
  public func encodeWithSpecialTokens(_ text: String) -> [Int32] {
    [startOfText] + encode(text) + [endOfText]
  }

  /// ImageBind's and OpenAI CLIP's `tokenize` row: `<|startoftext|>`, the ids, `<|endoftext|>`,
  /// truncated to `contextLength` (the last kept id replaced by `<|endoftext|>`) and padded with
  /// `padding` (0 as the references return; Hugging Face pads with `<|endoftext|>`).
  /// Returns exactly `contextLength` ids (at least 2).
  public func padded(_ text: String, contextLength: Int = CLIPTokenizer.contextLength, padding: Int32 = 0)
    -> [Int32]
  {
    let length = max(2, contextLength)
    var ids = [startOfText] + encode(text)
    if ids.count > length - 1 { ids.removeLast(ids.count - (length - 1)) }
    ids.append(endOfText)
    ids.append(contentsOf: repeatElement(padding, count: length - ids.count))
    return ids
  }

  /// `padded` for each text, row after row: [texts.count × contextLength] ids.
  public func batch(_ texts: [String], contextLength: Int = CLIPTokenizer.contextLength, padding: Int32 = 0)
    -> [Int32]
  {
    texts.flatMap { padded($0, contextLength: contextLength, padding: padding) }
  }

  /// Splits cleaned text with CLIP's pattern and appends each piece's BPE ids.
  private func encodePieces(
    _ s: [Unicode.Scalar], specialsInText: Bool, cache: inout [[UInt8]: [Int32]], into out: inout [Int32]
  ) {
    var i = 0
    while i < s.count {
      let c = s[i]
      if UnicodeClass.isWhitespace(c) {
        i += 1
        continue
      }
      var end = i + 1
      // SimpleTokenizer's pattern matches the special texts (its cache maps them to themselves);
      // Hugging Face's Split never yields them as one piece (`<|`, `endoftext`, `|>`).
      if specialsInText, c == "<", let (id, length) = special(in: s[...], at: i, ignoringCase: true) {
        out.append(id)
        i += length
        continue
      } else if c == "'", let length = contraction(s, at: i) {
        end = i + length
      } else if UnicodeClass.isLetter(c) {
        while end < s.count && UnicodeClass.isLetter(s[end]) { end += 1 }
      } else if UnicodeClass.isNumber(c) {
        end = i + 1
      } else {
        while end < s.count && !UnicodeClass.isWhitespace(s[end]) && !UnicodeClass.isLetter(s[end])
          && !UnicodeClass.isNumber(s[end])
        {
          end += 1
        }
      }
      let bytes = s[i..<end].utf8Bytes
      if let known = cache[bytes] {
        out.append(contentsOf: known)
      } else {
        let ids = bpe(bytes)
        cache[bytes] = ids
        out.append(contentsOf: ids)
      }
      i = end
    }
  }

  /// `<|startoftext|>` or `<|endoftext|>` at `i`: its id and length in scalars.
  private func special(in s: ArraySlice<Unicode.Scalar>, at i: Int, ignoringCase: Bool) -> (Int32, Int)? {
    for (index, text) in Self.specialTexts.enumerated() {
      let pattern = Array(text.unicodeScalars)
      guard i + pattern.count <= s.endIndex else { continue }
      var matches = true
      for k in 0..<pattern.count {
        var c = s[i + k].value
        if ignoringCase && c >= 0x41 && c <= 0x5A { c += 32 }
        if c != pattern[k].value {
          matches = false
          break
        }
      }
      if matches { return (index == 0 ? startOfText : endOfText, pattern.count) }
    }
    return nil
  }

  /// `'s|'t|'re|'ve|'m|'ll|'d` (case-insensitive) at `i`: its length.
  private func contraction(_ s: [Unicode.Scalar], at i: Int) -> Int? {
    func lower(_ k: Int) -> UInt32 {
      guard k < s.count else { return 0 }
      let v = s[k].value
      return v >= 0x41 && v <= 0x5A ? v + 32 : v
    }
    switch lower(i + 1) {
    case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
    case 0x72 where lower(i + 2) == 0x65, 0x76 where lower(i + 2) == 0x65: return 3  // re ve
    case 0x6C where lower(i + 2) == 0x6C: return 3  // ll
    default: return nil
    }
  }

  /// Byte-pair merges of one piece: the lowest-ranked adjacent pair merged everywhere (left to
  /// right), until no pair has a rank.
  private func bpe(_ bytes: [UInt8]) -> [Int32] {
    var word: [Int32] = []
    word.reserveCapacity(bytes.count)
    for (k, b) in bytes.enumerated() {
      let id = k == bytes.count - 1 ? byteEndIDs[Int(b)] : byteIDs[Int(b)]
      if let symbol = id ?? unknown { word.append(symbol) }
    }
    while word.count > 1 {
      var best: (rank: Int32, id: Int32, left: Int32, right: Int32)?
      for k in 0..<(word.count - 1) {
        if let merge = merges[pairKey(word[k], word[k + 1])], merge.rank < (best?.rank ?? .max) {
          best = (merge.rank, merge.id, word[k], word[k + 1])
        }
      }
      guard let best else { break }
      var merged: [Int32] = []
      merged.reserveCapacity(word.count)
      var k = 0
      while k < word.count {
        if k + 1 < word.count && word[k] == best.left && word[k + 1] == best.right {
          merged.append(best.id)
          k += 2
        } else {
          merged.append(word[k])
          k += 1
        }
      }
      word = merged
    }
    return word
  }

  @inline(__always) private func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
  }

  /// The id of a token text, if the vocabulary has it.
  public func id(of token: String) -> Int32? { ids[Array(token.utf8)] }
}
