import Foundation
import MMCore
import Testing

@testable import MMTokenizers

/// Bad input fails with the file, the JSON location (pointer, line, column) and expected versus
/// found; components this library does not implement are refused, never ignored.
@Suite("Tokenizer errors") struct ErrorTests {
  /// A small valid BPE tokenizer.json, one member per line, with `replacing` applied.
  static func document(_ replacements: [(String, String)] = []) -> String {
    var text = """
      {
        "version": "1.0",
        "added_tokens": [
          {"id": 5, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
           "normalized": false, "special": true}
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": {"type": "TemplateProcessing",
          "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
          "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
        "decoder": {"type": "ByteLevel"},
        "model": {
          "type": "BPE",
          "dropout": null,
          "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4},
          "merges": [
            "a b",
            "ab c"
          ]
        }
      }
      """
    for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
    return text
  }

  static func load(_ text: String) throws(TokenizerError) -> Tokenizer {
    try Tokenizer(tokenizerJSON: Array(text.utf8), file: "tokenizer.json")
  }

  static func error(_ text: String) -> TokenizerError? {
    do {
      _ = try load(text)
      return nil
    } catch {
      return error
    }
  }

  @Test func theValidDocumentLoads() throws {
    let tokenizer = try Self.load(Self.document())
    #expect(tokenizer.encode("abcab") == [5, 4, 2])
    #expect(tokenizer.encode("abc<s>", addSpecialTokens: false) == [4, 5])
    #expect(try tokenizer.decode([5, 4, 2]) == "<s>abcab")
  }

  @Test func malformedJSONNamesLineAndColumn() throws {
    let error = try #require(Self.error(Self.document([(#""c": 3,"#, #""c": 3,,"#)])))
    #expect(error.kind == .syntax)
    #expect(error.line == 16)
    #expect(error.description.hasPrefix("tokenizer.json:16:"), "\(error)")
    #expect(error.problem.contains("expected") && error.problem.contains("found"), "\(error)")
  }

  @Test func missingModel() throws {
    let error = try #require(Self.error(#"{"version": "1.0"}"#))
    #expect(error.kind == .schema)
    #expect(error.problem.contains("'model'"), "\(error)")
  }

  @Test func unknownModelType() throws {
    let error = try #require(Self.error(Self.document([(#""type": "BPE""#, #""type": "Unigram""#)])))
    #expect(error.kind == .unsupported)
    #expect(error.location == "/model/type")
    #expect(error.line == 14 && error.column == 13, "\(error)")
    #expect(error.problem.contains("Unigram"), "\(error)")
  }

  @Test func unsupportedComponentIsNamed() throws {
    let error = try #require(
      Self.error(
        Self.document([
          (#"[{"type": "NFC"}]"#, #"[{"type": "NFC"}, {"type": "Precompiled", "precompiled_charsmap": ""}]"#)
        ])))
    #expect(error.kind == .unsupported)
    #expect(error.location == "/normalizer/normalizers/1/type")
    #expect(error.line == 7, "\(error)")
    #expect(error.problem.contains("Precompiled"), "\(error)")
  }

  @Test func unknownOptionIsNotIgnored() throws {
    let error = try #require(
      Self.error(Self.document([(#""dropout": null,"#, #""dropout": null, "novel": 1,"#)])))
    #expect(error.kind == .unsupported)
    #expect(error.location == "/model/novel", "\(error)")
  }

  @Test func randomDropoutIsRefused() throws {
    let error = try #require(Self.error(Self.document([(#""dropout": null"#, #""dropout": 0.1"#)])))
    #expect(error.kind == .unsupported)
    #expect(error.location == "/model/dropout", "\(error)")
  }

  @Test func mergeNamingAnUnknownToken() throws {
    let error = try #require(Self.error(Self.document([(#""ab c""#, #""ab d""#)])))
    #expect(error.kind == .vocabulary)
    #expect(error.location == "/model/merges/1")
    #expect(error.line == 19 && error.column == 7, "\(error)")
    #expect(error.problem.contains(#""d""#), "\(error)")
    #expect(error.description.hasPrefix("tokenizer.json:19:7: /model/merges/1: merge"), "\(error)")
  }

  @Test func mergeWithoutItsMergedToken() throws {
    let error = try #require(Self.error(Self.document([(#""abc": 4"#, #""abd": 4"#)])))
    #expect(error.kind == .vocabulary)
    #expect(error.location == "/model/merges/1")
    #expect(error.problem.contains(#""abc""#), "\(error)")
  }

  @Test func malformedMerge() throws {
    let error = try #require(Self.error(Self.document([(#""a b","#, #""a b x","#)])))
    #expect(error.kind == .schema)
    #expect(error.location == "/model/merges/0")
    #expect(error.problem.contains("expected") && error.problem.contains("found"), "\(error)")
  }

  @Test func vocabularyIDsMustBeIntegers() throws {
    let error = try #require(Self.error(Self.document([(#""b": 1"#, #""b": "one""#)])))
    #expect(error.kind == .schema)
    #expect(error.location == "/model/vocab/b")
    #expect(error.problem.contains(#"found string "one""#), "\(error)")
  }

  @Test func vocabularyIDsFarPastTheVocabularyAreRefused() throws {
    let error = try #require(Self.error(Self.document([(#""b": 1"#, #""b": 2000000000"#)])))
    #expect(error.kind == .schema)
    #expect(error.location == "/model/vocab/b", "\(error)")
  }

  @Test func duplicateVocabularyID() throws {
    let error = try #require(Self.error(Self.document([(#""b": 1"#, #""b": 0"#)])))
    #expect(error.kind == .vocabulary)
    #expect(error.location == "/model/vocab/b", "\(error)")
  }

  @Test func regexWithoutAScanner() throws {
    let text = Self.document([
      (
        #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#,
        #"{"type": "Split", "pattern": {"Regex": "\\p{Han}+"}, "behavior": "Isolated", "invert": false}"#
      )
    ])
    let error = try #require(Self.error(text))
    #expect(error.kind == .unsupported)
    #expect(error.location == "/pre_tokenizer/pattern/Regex", "\(error)")
  }

  @Test func templateNamingAnUnknownSpecialToken() throws {
    let error = try #require(
      Self.error(Self.document([(#"{"id": "<s>", "type_id": 0}"#, #"{"id": "<bos>", "type_id": 0}"#)])))
    #expect(error.kind == .vocabulary)
    #expect(error.location == "/post_processor/single/0/SpecialToken/id", "\(error)")
  }

  @Test func wrongTypeSaysExpectedAndFound() throws {
    let error = try #require(Self.error(Self.document([(#""use_regex": true"#, #""use_regex": "yes""#)])))
    #expect(error.kind == .schema)
    #expect(error.location == "/pre_tokenizer/use_regex")
    #expect(error.problem == #"expected true or false, found string "yes""#, "\(error)")
  }

  @Test func decodeOutOfRange() throws {
    let tokenizer = try Self.load(Self.document())
    #expect(throws: TokenizerError.self) { try tokenizer.decode([0, 99]) }
    do {
      _ = try tokenizer.decode([0, 99])
    } catch {
      #expect(error.kind == .idOutOfRange)
      #expect(error.location == "[1]")
      #expect(error.problem == "expected a token id in 0..<6, found 99", "\(error)")
    }
    var stream = tokenizer.streamingDecoder()
    #expect(throws: TokenizerError.self) { try stream.push(-1) }
  }

  @Test func missingFile() {
    #expect(
      throws: TokenizerError(file: "/nonexistent/tokenizer.json", kind: .io, problem: "cannot read the file")
    ) {
      try Tokenizer(contentsOf: "/nonexistent/tokenizer.json")
    }
  }

  // MARK: GGUF arrays

  static func gguf(_ change: (inout GGUFTokenizerMetadata) -> Void) -> TokenizerError? {
    var metadata = GGUFTokenizerMetadata(
      model: "gpt2", pre: "gpt-2", tokens: ["a", "b", "ab", "<|endoftext|>"], tokenTypes: [1, 1, 1, 3],
      merges: ["a b"], bosTokenID: 3, eosTokenID: 3)
    change(&metadata)
    do {
      _ = try Tokenizer(gguf: metadata, file: "model.gguf")
      return nil
    } catch {
      return error
    }
  }

  @Test func ggufArraysLoad() throws {
    #expect(Self.gguf { _ in } == nil)
    var metadata = GGUFTokenizerMetadata(
      model: "gpt2", pre: "gpt-2", tokens: ["a", "b", "ab", "<|endoftext|>"], tokenTypes: [1, 1, 1, 3],
      merges: ["a b"], bosTokenID: 3, eosTokenID: 3, addBOSToken: true)
    var tokenizer = try Tokenizer(gguf: metadata)
    #expect(tokenizer.encode("abab<|endoftext|>a") == [3, 2, 2, 3, 0])
    #expect(tokenizer.specialTokens.map(\.content) == ["<|endoftext|>"])
    metadata.addBOSToken = false
    tokenizer = try Tokenizer(gguf: metadata)
    #expect(tokenizer.encode("ab") == [2])
  }

  @Test func ggufErrorsNameTheKey() throws {
    var error = try #require(Self.gguf { $0.model = "t5" })
    #expect(error.kind == .unsupported && error.location == "tokenizer.ggml.model", "\(error)")
    error = try #require(Self.gguf { $0.pre = "mystery" })
    #expect(error.kind == .unsupported && error.location == "tokenizer.ggml.pre", "\(error)")
    error = try #require(Self.gguf { $0.merges = ["a b", "ab c"] })
    #expect(error.kind == .vocabulary && error.location == "tokenizer.ggml.merges[1]", "\(error)")
    #expect(error.description.hasPrefix("model.gguf: tokenizer.ggml.merges[1]: merge \"ab c\""), "\(error)")
    error = try #require(Self.gguf { $0.merges = ["ab"] })
    #expect(error.kind == .schema && error.location == "tokenizer.ggml.merges[0]", "\(error)")
    error = try #require(Self.gguf { $0.tokenTypes = [1] })
    #expect(error.kind == .schema && error.location == "tokenizer.ggml.token_type", "\(error)")
    error = try #require(Self.gguf { $0.bosTokenID = 9 })
    #expect(error.kind == .vocabulary && error.location == "tokenizer.ggml.bos_token_id", "\(error)")
    error = try #require(
      Self.gguf {
        $0.model = "llama"
        $0.scores = [0, 0]
      })
    #expect(error.kind == .schema && error.location == "tokenizer.ggml.scores", "\(error)")
  }
}
