import Foundation
import MMCore
import Testing

@testable import MMTokenizers

/// Fixtures (Tests/Fixtures/tokenizers, trained by Scripts/goldens/tokenizers.py) and their
/// goldens (Tests/Goldens/tokenizers, written by the same script with HF `tokenizers`).
enum TokenizerFixtures {
  static let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" {
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  static func fixture(_ relative: String) -> String {
    packageRoot.appendingPathComponent("Tests/Fixtures/tokenizers/\(relative)").path
  }

  static func goldenPath(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/Goldens/tokenizers/\(name).json").path
  }

  /// `MMGRAPH_MODELS`: where the real tokenizers were unpacked (see Scripts/goldens/tokenizers.py).
  static let modelsDirectory = ProcessInfo.processInfo.environment["MMGRAPH_MODELS"]

  /// A file under `MMGRAPH_MODELS`, when the variable is set and the file exists.
  static func model(_ relative: String) -> String? {
    guard let modelsDirectory else { return nil }
    let path = modelsDirectory + "/" + relative
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  static func json(_ path: String) throws -> JSONValue {
    let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
    return try JSONParser.parse([UInt8](data), file: path).root
  }

  /// One golden case: a text, its ids, its decodings and what a streaming decoder emits per id.
  struct Case {
    var text: String
    var ids: [Int32]
    var idsWithSpecial: [Int32]
    var decoded: String?
    var decodedSkipSpecial: String?
    var stream: [String?]?
  }

  static func cases(_ name: String) throws -> [Case] {
    let root = try json(goldenPath(name))
    let items = try #require(root["cases"]?.elements)
    return try items.map { item in
      func ids(_ key: String) throws -> [Int32] {
        try #require(item[key]?.elements).map { Int32(try #require($0.int)) }
      }
      return Case(
        text: try #require(item["text"]?.string), ids: try ids("ids"),
        idsWithSpecial: try ids("ids_with_special"),
        decoded: item["decoded"]?.string, decodedSkipSpecial: item["decoded_skip_special"]?.string,
        stream: item["stream"]?.elements?.map { $0.string })
    }
  }

  /// The GGUF-style arrays the script writes (`tokenizer.ggml.*` keys) as metadata.
  static func ggufMetadata(_ path: String) throws -> GGUFTokenizerMetadata {
    let root = try json(path)
    func strings(_ key: String) -> [String]? { root["tokenizer.ggml." + key]?.elements?.compactMap(\.string) }
    func id(_ key: String) -> Int32? { root["tokenizer.ggml." + key]?.int.map { Int32($0) } }
    return GGUFTokenizerMetadata(
      model: try #require(root["tokenizer.ggml.model"]?.string), pre: root["tokenizer.ggml.pre"]?.string,
      tokens: try #require(strings("tokens")),
      tokenTypes: root["tokenizer.ggml.token_type"]?.elements?.compactMap { $0.int.map { Int32($0) } },
      scores: root["tokenizer.ggml.scores"]?.elements?.compactMap { $0.double.map { Float($0) } },
      merges: strings("merges"), bosTokenID: id("bos_token_id"), eosTokenID: id("eos_token_id"),
      unknownTokenID: id("unknown_token_id"), paddingTokenID: id("padding_token_id"),
      addBOSToken: root["tokenizer.ggml.add_bos_token"]?.bool,
      addEOSToken: root["tokenizer.ggml.add_eos_token"]?.bool,
      addSpacePrefix: root["tokenizer.ggml.add_space_prefix"]?.bool)
  }

  /// Strings compared scalar by scalar (Swift's `==` would call "é" and "e\u{301}" equal).
  static func same(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.elementsEqual(b.unicodeScalars)
  }

  static func visible(_ s: String) -> String {
    s.unicodeScalars.map {
      $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0)
    }
    .joined()
  }

  /// Checks every case of golden `name` against `tokenizer`: ids with and without special
  /// tokens, both decodings, and the streaming pieces. Returns the number of cases checked.
  @discardableResult
  static func check(
    _ tokenizer: Tokenizer, against name: String, parseSpecialTokens: Bool = true,
    skip: (String) -> Bool = { _ in false },
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Int {
    var checked = 0
    for golden in try cases(name) where !skip(golden.text) {
      checked += 1
      let label = "\(name): \(visible(golden.text))"
      let ids = tokenizer.encode(golden.text, addSpecialTokens: false, parseSpecialTokens: parseSpecialTokens)
      #expect(ids == golden.ids, "\(label)", sourceLocation: sourceLocation)
      let special = tokenizer.encode(
        golden.text, addSpecialTokens: true, parseSpecialTokens: parseSpecialTokens)
      #expect(
        special == golden.idsWithSpecial, "\(label) (with special tokens)", sourceLocation: sourceLocation)
      if let decoded = golden.decoded {
        let text = try tokenizer.decode(golden.idsWithSpecial)
        #expect(same(text, decoded), "\(label): decoded \(visible(text))", sourceLocation: sourceLocation)
      }
      if let decoded = golden.decodedSkipSpecial {
        let text = try tokenizer.decode(golden.idsWithSpecial, skipSpecialTokens: true)
        #expect(
          same(text, decoded), "\(label): decoded, specials skipped \(visible(text))",
          sourceLocation: sourceLocation)
      }
      if let stream = golden.stream {
        var decoder = tokenizer.streamingDecoder()
        var pieces: [String?] = []
        for id in golden.idsWithSpecial { pieces.append(try decoder.push(id)) }
        let match =
          pieces.count == stream.count
          && zip(pieces, stream).allSatisfy { a, b in
            a == nil ? b == nil : b != nil && same(a!, b!)
          }
        #expect(match, "\(label): stream \(pieces) vs \(stream)", sourceLocation: sourceLocation)
      }
    }
    return checked
  }
}
