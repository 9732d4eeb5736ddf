/// Decodes ids that arrive one at a time, emitting only complete text: a token that ends in the
/// middle of a UTF-8 character (byte-level and byte-fallback tokens split characters) is held
/// back until the character is complete.
///
/// The algorithm is `tokenizers`' `DecodeStream`, so the pieces are the same: the ids since the
/// last emitted boundary are decoded with the token before it as context (decoders such as
/// Metaspace and WordPiece treat the first token differently); new text is emitted when it grows
/// and does not end in U+FFFD.
///
///     var stream = tokenizer.streamingDecoder()
///     for id in generated { if let text = try stream.push(id) { print(text, terminator: "") } }
///     print(try stream.finish())
public struct StreamingDecoder: Sendable {
  public let tokenizer: Tokenizer
  public let skipSpecialTokens: Bool
  private var ids: [Int32] = []
  private var prefix: [UInt8] = []
  private var prefixIndex = 0

  init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
    self.tokenizer = tokenizer
    self.skipSpecialTokens = skipSpecialTokens
  }

  private func decodeUTF8(_ ids: ArraySlice<Int32>) throws(TokenizerError) -> [UInt8] {
    try tokenizer.decodeScalars(ids, skipSpecialTokens: skipSpecialTokens).utf8Bytes
  }

  private static func endsWithReplacement(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 3 && bytes[bytes.count - 3] == 0xEF && bytes[bytes.count - 2] == 0xBF && bytes.last == 0xBD
  }

  /// Adds one id; returns the text it completes, or nil while text is held back.
  /// - Throws: `.idOutOfRange` for an unknown id (the stream is unchanged).
  public mutating func push(_ id: Int32) throws(TokenizerError) -> String? {
    if prefix.isEmpty && !ids.isEmpty {
      let newPrefix = try decodeUTF8(ids[...])
      if !Self.endsWithReplacement(newPrefix) {
        prefix = newPrefix
        prefixIndex = ids.count
      }
    }
    _ = try tokenizer.decodeScalars([id][...], skipSpecialTokens: false)  // validates the id
    ids.append(id)
    let text = try decodeUTF8(ids[...])
    guard text.count > prefix.count, !Self.endsWithReplacement(text) else { return nil }
    let emitted: [UInt8]
    if text.starts(with: prefix) {
      emitted = Array(text[prefix.count...])
    } else {
      // The decoder rewrote earlier text (it cannot be taken back): emit from the first
      // difference on. `tokenizers` stops with an error here.
      let common = zip(text, prefix).prefix { $0 == $1 }.count
      emitted = Array(text[common...])
    }
    let newPrefixIndex = ids.count - prefixIndex
    ids.removeFirst(prefixIndex)
    prefix = try decodeUTF8(ids[...])
    prefixIndex = newPrefixIndex
    return String(decoding: emitted, as: UTF8.self)
  }

  /// The text still held back (an incomplete character becomes U+FFFD); the stream is then
  /// empty.
  public mutating func finish() throws(TokenizerError) -> String {
    defer {
      ids = []
      prefix = []
      prefixIndex = 0
    }
    let text = try decodeUTF8(ids[...])
    guard text.count > prefix.count, text.starts(with: prefix) else { return "" }
    return String(decoding: text[prefix.count...], as: UTF8.self)
  }
}
