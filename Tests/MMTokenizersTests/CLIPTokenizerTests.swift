import Foundation
import MMCore
import Testing

@testable import MMTokenizers

/// CLIPTokenizer against ImageBind's `SimpleTokenizer` and Hugging Face's `CLIPTokenizer` on a
/// corpus of tricky strings (Tests/Goldens/clip/tokenizer.json, Scripts/goldens/clip_tokenizer.py).
/// The committed vocabulary is the first 10,000 merges of `bpe_simple_vocab_16e6.txt.gz`; the full
/// one is checked when `MMGRAPH_CLIP_BPE` names it or it is in the models folder
/// (`$MMGRAPH_MODELS/clip-bpe/`, fetched by `bash Scripts/fetch-models.sh clip-bpe`, or `imagebind/`).
@Suite("CLIP tokenizer") struct CLIPTokenizerTests {
  static func clipFixture(_ name: String) -> String {
    TokenizerFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/clip/tokenizer/\(name)").path
  }

  struct Goldens {
    var corpus: [String]
    var imagebind: [[Int32]]
    var imagebindPadded: [[Int32]]
    /// SimpleTokenizer with ftfy's mojibake repair (`fix_encoding`) off, which CLIPTokenizer does
    /// not reproduce.
    var imagebindWithoutFixEncoding: [[Int32]]
    var hf: [[Int32]]
    var hfPadded: [[Int32]]
    var vocabularySize: Int
  }

  static func goldens(_ set: String) throws -> Goldens {
    let root = try TokenizerFixtures.json(
      TokenizerFixtures.packageRoot.appendingPathComponent("Tests/Goldens/clip/tokenizer.json").path)
    let corpus = try #require(root["corpus"]?.elements).map { try #require($0.string) }
    let node = try #require(root[set])
    func rows(_ key: String) throws -> [[Int32]] {
      try #require(node[key]?.elements).map { row in
        try #require(row.elements).map { Int32(try #require($0.int)) }
      }
    }
    return Goldens(
      corpus: corpus, imagebind: try rows("imagebind"), imagebindPadded: try rows("imagebind_padded"),
      imagebindWithoutFixEncoding: try rows("imagebind_without_fix_encoding"),
      hf: try rows("hf"), hfPadded: try rows("hf_padded"),
      vocabularySize: try #require(node["vocab_size"]?.int))
  }

  static func check(_ tokenizer: CLIPTokenizer, _ goldens: Goldens, huggingFace: Bool) {
    #expect(tokenizer.vocabularySize == goldens.vocabularySize)
    for (index, text) in goldens.corpus.enumerated() {
      if huggingFace {
        #expect(
          tokenizer.encodeWithSpecialTokens(text) == goldens.hf[index],
          "corpus[\(index)] \(text.debugDescription)")
        #expect(
          tokenizer.padded(text, padding: tokenizer.endOfText) == goldens.hfPadded[index],
          "corpus[\(index)] padded")
      } else if goldens.imagebind[index] != goldens.imagebindWithoutFixEncoding[index] {
        // Mojibake (`âœ”` for `✔`): ftfy repairs it, CLIPTokenizer leaves it (documented).
        #expect(tokenizer.encode(text) == goldens.imagebindWithoutFixEncoding[index], "corpus[\(index)]")
        #expect(tokenizer.encode(text) != goldens.imagebind[index])
      } else {
        #expect(
          tokenizer.encode(text) == goldens.imagebind[index], "corpus[\(index)] \(text.debugDescription)")
        #expect(tokenizer.padded(text) == goldens.imagebindPadded[index], "corpus[\(index)] padded")
      }
    }
  }

  @Test func imageBindSimpleTokenizerOnTheCommittedVocabulary() throws {
    let tokenizer = try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz"))
    #expect(tokenizer.cleanup == .openAI)
    Self.check(tokenizer, try Self.goldens("small"), huggingFace: false)
  }

  @Test func huggingFaceFilesOnTheCommittedVocabulary() throws {
    let tokenizer = try CLIPTokenizer(
      vocabJSON: Self.clipFixture("vocab.json"), merges: Self.clipFixture("merges.txt"))
    Self.check(tokenizer, try Self.goldens("small"), huggingFace: true)
    let viaFolder = try CLIPTokenizer(folder: Self.clipFixture(""))
    #expect(viaFolder.encode("a photo of a dog") == tokenizer.encode("a photo of a dog"))
  }

  /// The two references differ where their cleanups do (ftfy, HTML, final sigma, special tokens in
  /// other case); the corpus shows it and both cleanups run on the same vocabulary.
  @Test func theReferencesDifferWhereTheirCleanupsDo() throws {
    let goldens = try Self.goldens("small")
    let differing = goldens.corpus.indices.filter {
      goldens.imagebind[$0] != Array(goldens.hf[$0].dropFirst().dropLast())
    }
    #expect(!differing.isEmpty)
    let openAI = try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz"))
    let hf = try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz"), cleanup: .huggingFace)
    let mojibake = goldens.corpus.indices.filter {
      goldens.imagebind[$0] != goldens.imagebindWithoutFixEncoding[$0]
    }
    #expect(mojibake.count == 2, "only the two mojibake entries need ftfy's fix_encoding")
    for index in differing where !mojibake.contains(index) {
      #expect(openAI.encode(goldens.corpus[index]) == goldens.imagebind[index])
      #expect(hf.encodeWithSpecialTokens(goldens.corpus[index]) == goldens.hf[index])
    }
  }

  @Test func fullVocabularyWhenPresent() throws {
    let environment = ProcessInfo.processInfo.environment
    let candidates = [
      environment["MMGRAPH_CLIP_BPE"], TokenizerFixtures.model("clip-bpe/bpe_simple_vocab_16e6.txt.gz"),
      TokenizerFixtures.model("imagebind/bpe_simple_vocab_16e6.txt.gz"),
    ]
    guard
      let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) })
    else {
      print(
        "note: full CLIP vocabulary absent (bash Scripts/fetch-models.sh clip-bpe, or set MMGRAPH_CLIP_BPE); checked the 10k-merge fixture only"
      )
      return
    }
    let goldens = try Self.goldens("full")
    Self.check(try CLIPTokenizer(contentsOfGzip: path), goldens, huggingFace: false)
    Self.check(try CLIPTokenizer(contentsOfGzip: path, cleanup: .huggingFace), goldens, huggingFace: true)
  }

  @Test func paddingAndTruncation() throws {
    let tokenizer = try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz"))
    let long = tokenizer.padded(String(repeating: "dog ", count: 200))
    #expect(long.count == 77)
    #expect(long.first == tokenizer.startOfText && long.last == tokenizer.endOfText)
    let short = tokenizer.padded("dog", contextLength: 5)
    #expect(short == [tokenizer.startOfText] + tokenizer.encode("dog") + [tokenizer.endOfText, 0, 0])
    #expect(tokenizer.batch(["a", "b"], contextLength: 4).count == 8)
    #expect(tokenizer.padded("", contextLength: 1).count == 2)
  }

  // MARK: Bad input

  static func temporary(_ name: String, _ bytes: [UInt8]) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tokenizer-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    return path
  }

  static func gzipFixtureBytes() throws -> [UInt8] {
    [UInt8](try #require(FileManager.default.contents(atPath: clipFixture("bpe_10k.txt.gz"))))
  }

  @Test func badGzipDataIsAClearError() throws {
    let bytes = try Self.gzipFixtureBytes()
    for (name, data, expected) in [
      ("empty.gz", [UInt8](), "empty"), ("text.gz", Array("hello".utf8), "not"),
      ("truncated.gz", Array(bytes.prefix(bytes.count / 2)), "truncated"),
    ] {
      let path = try Self.temporary(name, data)
      #expect {
        _ = try CLIPTokenizer(contentsOfGzip: path)
      } throws: { error in
        let error = error as? TokenizerError
        return error?.file == path && error?.kind == .syntax && error?.problem.contains(expected) == true
      }
    }
    #expect(throws: TokenizerError.self) { _ = try CLIPTokenizer(contentsOfGzip: "/nonexistent/bpe.txt.gz") }
  }

  @Test func badMergeLinesNameTheLine() throws {
    func load(_ text: String) throws(TokenizerError) -> CLIPTokenizer {
      try CLIPTokenizer(bpeMergesText: Array(text.utf8), file: "bpe.txt")
    }
    #expect(throws: Never.self) { _ = try load("#version\nt h\nth e</w>") }
    #expect { _ = try load("#version\nt h\nthree parts here") } throws: { error in
      (error as? TokenizerError)?.location == "line 3"
    }
    #expect { _ = try load("#version\nt h\nxyz e") } throws: { error in
      let error = error as? TokenizerError
      return error?.location == "line 3" && error?.kind == .vocabulary
        && error?.problem.contains("xyz") == true
    }
    #expect { _ = try CLIPTokenizer(bpeMergesText: [0xFF, 0xFE], file: "bad.txt") } throws: { error in
      (error as? TokenizerError)?.problem.contains("UTF-8") == true
    }
  }

  @Test func badHuggingFaceFilesNameTheLocation() throws {
    let vocab = try Self.temporary("vocab.json", Array(#"{"a": 0, "b": 1, "ab": 2}"#.utf8))
    let merges = try Self.temporary("merges.txt", Array("#version: 0.2\na b\n".utf8))
    #expect { _ = try CLIPTokenizer(vocabJSON: vocab, merges: merges) } throws: { error in
      (error as? TokenizerError)?.problem.contains("<|startoftext|>") == true
    }
    let badMerge = try Self.temporary("merges.txt", Array("#version: 0.2\na b\na c\n".utf8))
    #expect { _ = try CLIPTokenizer(vocabJSON: vocab, merges: badMerge) } throws: { error in
      (error as? TokenizerError)?.location == "line 3"
    }
    let duplicate = try Self.temporary("vocab.json", Array("{\n\"a\": 0,\n\"b\": 0}".utf8))
    #expect { _ = try CLIPTokenizer(vocabJSON: duplicate, merges: merges) } throws: { error in
      let error = error as? TokenizerError
      return error?.location == "/b" && error?.line == 3 && error?.kind == .vocabulary
    }
    let wrongSuffix = try Self.temporary(
      "tokenizer.json",
      Array(#"{"model": {"type": "BPE", "vocab": {}, "merges": [], "end_of_word_suffix": ""}}"#.utf8))
    #expect { _ = try CLIPTokenizer(tokenizerJSON: wrongSuffix) } throws: { error in
      let error = error as? TokenizerError
      return error?.location == "/model/end_of_word_suffix" && error?.kind == .unsupported
    }
    #expect { _ = try CLIPTokenizer(folder: "/nonexistent-folder") } throws: { error in
      (error as? TokenizerError)?.kind == .io
    }
  }

  /// Random bytes never crash the gzip reader; random text never crashes the tokenizer and gives
  /// ids in the vocabulary.
  @Test func fuzz() throws {
    var generator = CLIPFuzzRandom(seed: 0x5EED)
    let bytes = try Self.gzipFixtureBytes()
    for _ in 0..<200 {
      var data = Array(bytes.prefix(Int(generator.next() % 400)))
      for _ in 0..<4 where !data.isEmpty {
        data[Int(generator.next() % UInt64(data.count))] ^= UInt8(truncatingIfNeeded: generator.next())
      }
      _ = try? Gzip.decompress(data, file: "fuzz.gz", limit: 1 << 20)
    }
    let tokenizers = [
      try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz")),
      try CLIPTokenizer(contentsOfGzip: Self.clipFixture("bpe_10k.txt.gz"), cleanup: .huggingFace),
    ]
    let alphabet: [UInt32] = [
      0x20, 0x26, 0x23, 0x3B, 0x3C, 0x27, 0x41, 0x61, 0x30, 0x0A, 0x0D, 0x1B, 0x5B, 0x85, 0x93, 0x3A3, 0x301,
      0xFB01, 0xFF21, 0x3000, 0x2028, 0x1F436, 0x65E5, 0xFEFF, 0x7C, 0x65, 0x78, 0x3E,
    ]
    for _ in 0..<300 {
      let length = Int(generator.next() % 40)
      var text = String.UnicodeScalarView()
      for _ in 0..<length {
        text.append(Unicode.Scalar(alphabet[Int(generator.next() % UInt64(alphabet.count))])!)
      }
      for tokenizer in tokenizers {
        let ids = tokenizer.padded(String(text))
        #expect(ids.count == 77)
        #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
      }
    }
  }
}

/// A small deterministic generator for the fuzz tests.
struct CLIPFuzzRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
