import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
import MMTokenizers
import MMWeights
import Testing

/// BERT and sentence embeddings against transformers' `BertModel` and sentence-transformers
/// (Scripts/goldens/bert.py): a tiny random model in Tests/Fixtures/bert/tiny, and the real
/// all-MiniLM-L6-v2 when Scripts/fetch-models.sh has fetched it.
@Suite struct BertParityTests {
  static let root = packageRoot
  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
  static let tinyFolder = path("Tests/Fixtures/bert/tiny")

  static var minilmFolder: String {
    let environment = ProcessInfo.processInfo.environment
    let models =
      environment["MMGRAPH_MODELS"]
      ?? (environment["XDG_CACHE_HOME"] ?? (environment["HOME"] ?? "") + "/.cache") + "/mmgraph/models"
    return models + "/minilm"
  }
  static var hasMiniLM: Bool { FileManager.default.fileExists(atPath: minilmFolder + "/model.safetensors") }

  struct Golden {
    let sentences: [String]
    let ids: [[Int32]]
    let json: [String: Any]
    let tensors: any WeightStore

    init(_ name: String) throws {
      let data = try Data(
        contentsOf: URL(fileURLWithPath: BertParityTests.path("Tests/Goldens/bert/\(name).json")))
      json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
      sentences = json["sentences"] as? [String] ?? []
      ids = (json["ids"] as? [[Int]] ?? []).map { $0.map(Int32.init) }
      tensors = try openWeightStore(path: BertParityTests.path("Tests/Goldens/bert/\(name).safetensors"))
    }

    func tensor(_ name: String) throws -> Tensor { try tensors.tensor(named: name).contiguous() }
  }

  /// Rows of `a` and `b` [batch, length, dim] at real positions only, compared elementwise.
  static func maxDifference(_ a: Tensor, _ b: Tensor, lengths: [Int]) -> Float {
    let (length, dim) = (a.shape[1], a.shape[2])
    let (x, y) = (a.contiguous().floats(), b.contiguous().floats())
    var worst: Float = 0
    for (batch, count) in lengths.enumerated() {
      for t in 0..<count {
        let base = (batch * length + t) * dim
        for j in 0..<dim { worst = max(worst, abs(x[base + j] - y[base + j])) }
      }
    }
    return worst
  }

  @Test func tinyConfigurationReadsConfigJSON() throws {
    let configuration = try BertConfiguration(configPath: Self.tinyFolder)
    #expect(
      configuration
        == BertConfiguration(
          hiddenSize: 32, layerCount: 2, headCount: 4, intermediateSize: 64, activation: .gelu,
          maxPositionEmbeddings: 64, typeVocabSize: 2, layerNormEps: 1e-12, vocabSize: 127))
  }

  @Test func tinyTokenIDsMatchTokenizersWithoutItsPadding() throws {
    let golden = try Golden("tiny")
    let embedder = try SentenceEmbedder(directory: Self.tinyFolder)
    #expect(embedder.maxSequenceLength == golden.json["max_seq_length"] as? Int)
    for (sentence, ids) in zip(golden.sentences, golden.ids) {
      #expect(embedder.tokenIDs(sentence) == ids, "\(sentence)")
    }
  }

  @Test func tinyHiddenStatesMatchTransformersLayerByLayer() throws {
    let golden = try Golden("tiny")
    let model = try BertModel(directory: Self.tinyFolder)
    let trace = ActivationTrace()
    let hidden = try model(golden.ids, trace: trace)
    let lengths = golden.ids.map(\.count)
    var names = ["embeddings", "last_hidden_state"]
    for layer in 0..<(golden.json["layers"] as? Int ?? 0) { names.append("encoder.layer.\(layer)") }
    for name in names {
      let recorded = try #require(trace[name], "trace has no \(name)")
      let difference = Self.maxDifference(recorded, try golden.tensor(name), lengths: lengths)
      #expect(difference <= 1e-4, "\(name): max |Δ| \(difference)")
    }
    #expect(Self.maxDifference(hidden, try golden.tensor("last_hidden_state"), lengths: lengths) <= 1e-4)
  }

  @Test func tinySentenceEmbeddingsMatchSentenceTransformers() throws {
    let golden = try Golden("tiny")
    let embedder = try SentenceEmbedder(directory: Self.tinyFolder)
    let expected = try golden.tensor("sentence_embeddings").floats()
    // Batches of 3 (sorted by length, padded and masked) and one text at a time agree.
    for batchSize in [3, 1, 32] {
      let vectors = try embedder.embed(golden.sentences, batchSize: batchSize)
      #expect(vectors.shape == [golden.sentences.count, 32])
      let difference = maxAbsDifference(vectors.floats(), expected).value
      #expect(difference <= 1e-4, "batch \(batchSize): max |Δ| \(difference)")
    }
  }

  @Test func checkpointUnderABertPrefixLoads() throws {
    let store = try openWeightStore(path: Self.tinyFolder + "/model.safetensors")
    let folder = NSTemporaryDirectory() + "mmgraph-bert-prefix-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var renamed: [(String, Tensor)] = []
    for name in store.sortedNames { renamed.append(("bert." + name, try store.tensor(named: name))) }
    try Safetensors.write(renamed, to: folder + "/model.safetensors")
    let prefixed = try BertModel(
      configuration: try BertConfiguration(configPath: Self.tinyFolder),
      store: try openWeightStore(path: folder + "/model.safetensors"))
    let plain = try BertModel(directory: Self.tinyFolder)
    let ids: [[Int32]] = [[2, 40, 41, 3]]
    #expect(try prefixed(ids).floats() == plain(ids).floats())
  }

  @Test func badInputsAreClearErrors() throws {
    let model = try BertModel(directory: Self.tinyFolder)
    #expect(throws: ModelError.invalidInput("BERT: sequence 1 holds token id 127, outside 0..<127")) {
      try model([[2, 3], [2, 127, 3]])
    }
    #expect(throws: ModelError.self) { try model([]) }
    #expect(throws: ModelError.self) {
      try model([[Int32]](repeating: [Int32](repeating: 5, count: 65), count: 1))
    }
    do {
      _ = try BertConfiguration(json: .object([JSONMember("hidden_size", .string("32"))]), source: "c.json")
      Issue.record("a string hidden_size was accepted")
    } catch {
      #expect("\(error)" == "c.json: 'hidden_size' is string, expected an integer")
    }
    do {
      _ = try BertModel(directory: NSTemporaryDirectory() + "no-such-bert")
      Issue.record("a missing folder was accepted")
    } catch {
      #expect("\(error)".contains("config.json"))
    }
  }

  @Test func longTextsAreCutKeepingSpecialTokens() throws {
    let embedder = try SentenceEmbedder(directory: Self.tinyFolder, maxSequenceLength: 6)
    let ids = embedder.tokenIDs("the planet is orbited by dozens of moons and a storm")
    let full = embedder.tokenizer.encode("the planet is orbited by dozens of moons and a storm")
    #expect(ids.count == 6)
    #expect(ids.first == full.first && ids.last == full.last)
    #expect(Array(ids[1..<5]) == Array(full[1..<5]))
  }

  @Test(
    .enabled(if: BertParityTests.hasMiniLM, "fetch all-MiniLM-L6-v2: bash Scripts/fetch-models.sh minilm"))
  func miniLMMatchesSentenceTransformers() throws {
    let golden = try Golden("minilm")
    let embedder = try SentenceEmbedder(directory: Self.minilmFolder)
    #expect(embedder.maxSequenceLength == 256)
    #expect(
      embedder.tokenIDs("A man is playing a guitar.") == [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102])
    for (sentence, ids) in zip(golden.sentences, golden.ids) {
      #expect(embedder.tokenIDs(sentence) == ids, "\(sentence)")
    }
    let vectors = try embedder.embed(golden.sentences)
    let difference = maxAbsDifference(vectors.floats(), try golden.tensor("sentence_embeddings").floats())
      .value
    #expect(difference <= 1e-4, "max |Δ| \(difference)")
    let v = vectors.floats()
    func cosine(_ i: Int, _ j: Int) -> Float {
      (0..<384).reduce(0) { $0 + v[i * 384 + $1] * v[j * 384 + $1] }
    }
    #expect(abs(cosine(0, 1) - 0.667) < 0.001, "guitar/instrument \(cosine(0, 1))")
    #expect(abs(cosine(0, 2) + 0.054) < 0.001, "guitar/stock market \(cosine(0, 2))")
  }
}
