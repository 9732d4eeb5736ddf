/// A decoder of the `tokenizers` library (tokenizer.json `decoder`): turns token texts back
/// into text. Each step maps the list of token texts to a new list (`decode_chain`); the
/// result is their concatenation.
public enum Decoder: Sendable {
  /// Byte-level characters back to bytes, then UTF-8 (invalid sequences become U+FFFD). A
  /// token with a character outside the alphabet (an added token) is taken as written.
  case byteLevel
  /// `▁` back to a space; in the first token it is dropped unless `prependScheme` is `never`.
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
  /// Later tokens lose the prefix (`##`) or gain a space; `cleanup` joins punctuation.
  case wordPiece(prefix: [Unicode.Scalar], cleanup: Bool)
  /// The end-of-word suffix becomes a space (nothing after the last token).
  case bpe(suffix: [Unicode.Scalar])
  /// Runs of `<0xNN>` tokens become their UTF-8 text (one U+FFFD per byte when invalid).
  case byteFallback
  /// All tokens joined into one.
  case fuse
  /// Up to `start` leading and `stop` trailing `content` scalars removed from each token.
  case strip(content: Unicode.Scalar, start: Int, stop: Int)
  case replace(pattern: [Unicode.Scalar], content: [Unicode.Scalar])
  indirect case sequence([Decoder])

  func decodeChain(_ tokens: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
    switch self {
    case .sequence(let decoders):
      var tokens = tokens
      for decoder in decoders { tokens = decoder.decodeChain(tokens) }
      return tokens
    case .byteLevel:
      var bytes: [UInt8] = []
      for token in tokens {
        if let decoded = ByteLevel.bytes(of: token) {
          bytes += decoded
        } else {
          bytes += token.utf8Bytes
        }
      }
      return [Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)]
    case .metaspace(let replacement, let scheme):
      return tokens.enumerated().map { i, token in
        token.compactMap { c in
          guard c == replacement else { return c }
          return i == 0 && scheme != .never ? nil : " "
        }
      }
    case .wordPiece(let prefix, let cleanup):
      return tokens.enumerated().map { i, token in
        var token = token
        if i != 0 {
          if token.starts(with: prefix) {
            token.removeFirst(prefix.count)
          } else {
            token.insert(" ", at: 0)
          }
        }
        return cleanup ? Self.wordPieceCleanup(token) : token
      }
    case .bpe(let suffix):
      return tokens.enumerated().map { i, token in
        Normalizer.replacing(suffix, with: i == tokens.count - 1 ? [] : [" "], in: token)
      }
    case .byteFallback:
      var out: [[Unicode.Scalar]] = []
      var pending: [UInt8] = []
      func flush() {
        guard !pending.isEmpty else { return }
        if let text = String(validating: pending, as: UTF8.self) {
          out.append(Array(text.unicodeScalars))
        } else {
          out += [[Unicode.Scalar]](repeating: ["\u{FFFD}"], count: pending.count)
        }
        pending.removeAll()
      }
      for token in tokens {
        if let byte = Self.fallbackByte(token) {
          pending.append(byte)
        } else {
          flush()
          out.append(token)
        }
      }
      flush()
      return out
    case .fuse:
      return [tokens.flatMap { $0 }]
    case .strip(let content, let start, let stop):
      return tokens.map { token in
        var startCut = 0
        for (i, c) in token.prefix(start).enumerated() {
          guard c == content else { break }
          startCut = i + 1
        }
        var stopCut = token.count
        for i in 0..<min(stop, token.count) {
          let index = token.count - i - 1
          guard token[index] == content else { break }
          stopCut = index
        }
        return startCut < stopCut ? Array(token[startCut..<stopCut]) : []
      }
    case .replace(let pattern, let content):
      return tokens.map { Normalizer.replacing(pattern, with: content, in: $0) }
    }
  }

  /// The byte of a `<0xNN>` token.
  static func fallbackByte(_ token: [Unicode.Scalar]) -> UInt8? {
    guard token.count == 6, token[0] == "<", token[1] == "0", token[2] == "x", token[5] == ">",
      let high = hexValue(token[3]), let low = hexValue(token[4])
    else { return nil }
    return high << 4 | low
  }

  private static func hexValue(_ c: Unicode.Scalar) -> UInt8? {
    switch c.value {
    case 0x30...0x39: return UInt8(c.value - 0x30)
    case 0x41...0x46: return UInt8(c.value - 0x41 + 10)
    case 0x61...0x66: return UInt8(c.value - 0x61 + 10)
    default: return nil
    }
  }

  private static let cleanups: [([Unicode.Scalar], [Unicode.Scalar])] = [
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
    (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
  ].map { (Array($0.0.unicodeScalars), Array($0.1.unicodeScalars)) }

  /// The WordPiece decoder's `cleanup`: spaces before punctuation and contractions removed.
  static func wordPieceCleanup(_ token: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var token = token
    for (pattern, replacement) in cleanups {
      token = Normalizer.replacing(pattern, with: replacement, in: token)
    }
    return token
  }
}

/// A post-processor of the `tokenizers` library (tokenizer.json `post_processor`): what
/// `encode(addSpecialTokens: true)` puts around a single sequence.
public enum PostProcessor: Sendable {
  /// Pieces in order: the sequence, or the ids of a special token.
  public enum Piece: Sendable, Equatable {
    case sequence
    case special([Int32])
  }

  case template([Piece])
  /// Offsets only: the ids are unchanged.
  case byteLevel
  indirect case sequence([PostProcessor])

  func process(_ ids: [Int32], addSpecialTokens: Bool) -> [Int32] {
    switch self {
    case .byteLevel: return ids
    case .sequence(let processors):
      return processors.reduce(ids) { $1.process($0, addSpecialTokens: addSpecialTokens) }
    case .template(let pieces):
      var out: [Int32] = []
      out.reserveCapacity(ids.count + pieces.count)
      for piece in pieces {
        switch piece {
        case .sequence: out += ids
        case .special(let special): if addSpecialTokens { out += special }
        }
      }
      return out
    }
  }
}
