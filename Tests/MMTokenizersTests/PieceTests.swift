import Foundation
import MMCore
import Testing

@testable import MMTokenizers

/// The building blocks, against outputs of HF `tokenizers` 0.23.3 written down by hand.
@Suite("Tokenizer pieces") struct PieceTests {
  @Test func byteLevelAlphabet() {
    let table = ByteLevel.scalarForByte
    #expect(Set(table.map(\.value)).count == 256)
    #expect(table[0x20] == "\u{120}")  // Ġ
    #expect(table[0x0A] == "\u{10A}")  // Ċ
    #expect(table[0x41] == "A")
    #expect(table[0xAD] == "\u{143}")  // the soft hyphen is the last byte moved
    for b in 0..<256 { #expect(ByteLevel.byte(for: table[b]) == UInt8(b)) }
    #expect(ByteLevel.byte(for: "\u{144}") == nil)
    #expect(ByteLevel.byte(for: " ") == nil)
  }

  func pieces(_ regex: SplitRegex, _ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    return regex.matches(in: scalars[...]).map { Array(scalars[$0]).string }
  }

  @Test func gpt2Regex() {
    #expect(pieces(.gpt2, "Hello world, it's 2024!") == ["Hello", " world", ",", " it", "'s", " 2024", "!"])
    #expect(pieces(.gpt2, "a  b") == ["a", " ", " b"])
    #expect(pieces(.gpt2, "a \n\n b  ") == ["a", " \n\n", " b", "  "])
    #expect(pieces(.gpt2, "x\u{301}y") == ["x", "\u{301}", "y"])
    #expect(pieces(.gpt2, "IT'S") == ["IT", "'", "S"])
    #expect(pieces(.gpt2, "'''s") == ["'''", "s"])
  }

  @Test func cl100kRegex() {
    let llama3 = SplitRegex.cl100k(maxDigits: 3)
    #expect(pieces(llama3, "  \n  \n  x") == ["  \n  \n", " ", " x"])
    #expect(pieces(llama3, "a \t b") == ["a", " \t", " b"])
    #expect(pieces(llama3, "1234567") == ["123", "456", "7"])
    #expect(pieces(llama3, "\u{a0}a") == ["\u{a0}a"])
    #expect(pieces(llama3, "(word") == ["(word"])
    #expect(pieces(llama3, "x\u{301}y") == ["x", "\u{301}y"])
    #expect(pieces(llama3, "IT'S we'LL") == ["IT", "'S", " we", "'LL"])
    #expect(pieces(llama3, "a!!\n\nb") == ["a", "!!\n\n", "b"])
    #expect(pieces(llama3, "x'\u{17F}a") == ["x", "'\u{17F}", "a"])  // (?i) folds ſ to s
    #expect(pieces(.cl100k(maxDigits: 1), "123") == ["1", "2", "3"])
  }

  @Test func regexRecognition() {
    #expect(SplitRegex.recognize(SplitRegex.gpt2Pattern) == .gpt2)
    let llama3 =
      #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    #expect(SplitRegex.recognize(llama3) == .cl100k(maxDigits: 3))
    #expect(SplitRegex.recognize(llama3.replacingOccurrences(of: "{1,3}", with: "")) == .cl100k(maxDigits: 1))
    #expect(SplitRegex.recognize(#"\p{N}+"#) == nil)
  }

  @Test func whitespaceAndBertPreTokenizers() {
    let piece = Piece(scalars: Array("Hello, wörld!  a_b\t42".unicodeScalars), atStart: true)
    #expect(
      PreTokenizer.whitespace.apply([piece]).map(\.scalars.string) == [
        "Hello", ",", "wörld", "!", "a_b", "42",
      ])
    #expect(
      PreTokenizer.bert.apply([piece]).map(\.scalars.string) == [
        "Hello", ",", "wörld", "!", "a", "_", "b", "42",
      ])
    #expect(
      PreTokenizer.digits(individual: false).apply([piece]).map(\.scalars.string) == [
        "Hello, wörld!  a_b\t", "42",
      ])
  }

  @Test func bertNormalizer() {
    var s = Array("Héllo\u{0}\tWORLD 中文 İ".unicodeScalars)
    Normalizer.bert(cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true).apply(&s)
    #expect(s.string == "hello world  中  文  i")  // İ: NFD, the dot (Mn) stripped, then lowercased
  }

  /// A hand-written WordLevel tokenizer with a single-word token and an lstrip special token;
  /// ids from HF tokenizers.
  @Test func addedTokenFlags() throws {
    let json = """
      {"version": "1.0", "added_tokens": [
        {"id": 5, "content": "cat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false,
         "special": false},
        {"id": 7, "content": "<sep>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false,
         "special": true}],
       "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
       "decoder": null, "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1, "con": 2, ".": 3, "dog": 4,
       "cat": 5, "concat": 6}, "unk_token": "[UNK]"}}
      """
    let tokenizer = try Tokenizer(tokenizerJSON: Array(json.utf8))
    #expect(tokenizer.encode("cat concat cat. Cat") == [5, 6, 5, 3, 5])
    #expect(tokenizer.encode("a cat<sep>dog") == [1, 5, 7, 4])
    #expect(tokenizer.encode("a   <sep> dog") == [1, 7, 4])
    #expect(tokenizer.encode("xcat cat_ cat") == [0, 0, 5])
    #expect(tokenizer.encode("a <sep>", parseSpecialTokens: false) == [1, 0, 0, 0])
    #expect(try tokenizer.decode([1, 5, 7, 4]) == "a cat <sep> dog")
    #expect(try tokenizer.decode([1, 5, 7, 4], skipSpecialTokens: true) == "a cat dog")
    #expect(tokenizer.tokenID(for: "<sep>") == 7)
    #expect(tokenizer.token(for: 6) == "concat")
    #expect(tokenizer.token(for: 8) == nil)
    #expect(tokenizer.specialTokens.map(\.id) == [7])
    #expect(tokenizer.vocabularySize == 8)
  }

  /// A character cut across byte tokens is held back until complete; `finish` flushes it.
  @Test func streamingHoldsBackPartialCharacters() throws {
    let tokenizer = try Tokenizer(contentsOf: TokenizerFixtures.fixture("bytelevel-gpt2/tokenizer.json"))
    let ids = tokenizer.encode("a🚀", addSpecialTokens: false)
    #expect(ids.count >= 3)
    var stream = tokenizer.streamingDecoder()
    var out: [String?] = []
    for id in ids { out.append(try stream.push(id)) }
    #expect(out.first == "a")
    #expect(out.dropFirst().dropLast().allSatisfy { $0 == nil })
    #expect(out.last == "🚀")
    #expect(try stream.finish() == "")

    var partial = tokenizer.streamingDecoder()
    #expect(try partial.push(ids[1]) == nil)
    #expect(try partial.finish() == "\u{FFFD}")
  }

  @Test func tokenizerConfig() throws {
    let json = """
      {"add_bos_token": true, "add_eos_token": false,
       "bos_token": {"__type": "AddedToken", "content": "<|im_start|>", "lstrip": false},
       "eos_token": "<|im_end|>", "model_max_length": 1000000000000000019884624838656,
       "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "t"}]}
      """
    let config = try TokenizerConfig(json: Array(json.utf8))
    #expect(config.bosToken == "<|im_start|>" && config.eosToken == "<|im_end|>")
    #expect(config.chatTemplate == "{{ messages }}" && config.chatTemplates["tool_use"] == "t")
    #expect(config.modelMaxLength == nil)
    let base = try Tokenizer(contentsOf: TokenizerFixtures.fixture("bytelevel-gpt2/tokenizer.json"))
    let tokenizer = try base.applying(config)
    let bos = try #require(tokenizer.tokenID(for: "<|im_start|>"))
    #expect(tokenizer.bosTokenID == bos)
    #expect(tokenizer.encode("hi") == [bos] + base.encode("hi"))
    #expect(tokenizer.chatTemplate == "{{ messages }}")

    let bad = try TokenizerConfig(json: Array(#"{"bos_token": "<nope>"}"#.utf8))
    #expect(throws: TokenizerError.self) { try base.applying(bad) }
  }
}
