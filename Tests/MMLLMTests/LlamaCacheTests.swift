import Foundation
import MMCore
import MMLLM
import MMTestSupport
import Testing

/// KV-cache decoding, prompt chunking, spliced embeddings and the errors checked before work.
@Suite("Llama cache and inputs")
struct LlamaCacheTests {
  /// Every position's logits computed in one pass (chunk larger than the prompt) are the
  /// reference the chunked and token-by-token runs must reproduce.
  static func fullRecomputation(_ ids: [Int32], checkpoint: String) throws -> [Float] {
    let model = try LlamaParityTests.load(checkpoint, promptChunk: 128)
    return try model.forward([.tokens(ids)], allLogits: true).floats()
  }

  @Test(arguments: ["tiny", "tiny-q8_0.gguf", "llama3-f16.gguf"])
  func chunkedPromptsEqualFullRecomputation(_ checkpoint: String) throws {
    let ids = try LlamaFiles.prompt(2)  // 80 tokens
    let expected = try Self.fullRecomputation(ids, checkpoint: checkpoint)
    for chunk in [1, 3, 64] {
      let model = try LlamaParityTests.load(checkpoint, promptChunk: chunk)
      let got = try model.forward([.tokens(ids)], allLogits: true).floats()
      #expect(model.position == ids.count)
      #expect(
        maxAbsDifference(got, expected).value <= 1e-4, "chunk \(chunk): \(differenceReport(got, expected))")
    }
  }

  @Test(arguments: ["tiny", "tiny-f32.gguf", "tiny-q8_0.gguf", "llama3"])
  func tokenByTokenDecodingEqualsFullRecomputation(_ checkpoint: String) throws {
    let ids = try LlamaFiles.prompt(2)
    let expected = try Self.fullRecomputation(ids, checkpoint: checkpoint)
    let model = try LlamaParityTests.load(checkpoint)
    // A prompt of 20, then one token at a time (the GEMV path), then a 3-token step.
    var got = try model.forward([.tokens(Array(ids[0..<20]))], allLogits: true).floats()
    for i in 20..<77 { got += try model.forward([.tokens([ids[i]])]).floats() }
    got += try model.forward([.tokens(Array(ids[77...]))], allLogits: true).floats()
    #expect(model.position == 80)
    #expect(maxAbsDifference(got, expected).value <= 1e-4, "\(differenceReport(got, expected))")
  }

  @Test func embeddingsSplicedAmongTokensEqualTheirIDs() throws {
    let ids = try LlamaFiles.prompt(0)
    let model = try LlamaFiles.tinyHF()
    let expected = try model.forward([.tokens(ids)], allLogits: true).floats()
    // The embedding rows of tokens 2..<5, as an encoder would pass them (f32 [3, 64]).
    let embedder = try LlamaFiles.tinyHF()
    var rows: [Float] = []
    for id in ids[2..<5] { rows += try embedder.embedding(of: id) }
    let spliced: [LlamaInput] = [
      .tokens(Array(ids[0..<2])), .embeddings(Tensor(rows, shape: [3, 64])), .tokens(Array(ids[5...])),
    ]
    for chunk in [64, 2] {
      let splicedModel = try LlamaFiles.tinyHF(promptChunk: chunk)
      let got = try splicedModel.forward(spliced, allLogits: true).floats()
      #expect(maxAbsDifference(got, expected).value <= 1e-4, "chunk \(chunk)")
    }
    // Embeddings in another dtype are widened.
    model.reset()
    let half = Tensor(rows, shape: [3, 64]).converted(to: .f16)
    let got = try model.forward([.tokens(Array(ids[0..<2])), .embeddings(half)]).floats()
    let reference = try LlamaFiles.tinyHF().forward([.tokens(Array(ids[0..<5]))]).floats()
    #expect(maxAbsDifference(got, reference).value <= 1e-2)
  }

  @Test func resetStartsOver() throws {
    let ids = try LlamaFiles.prompt(0)
    let model = try LlamaFiles.tinyHF()
    let first = try model.forward([.tokens(ids)]).floats()
    _ = try model.forward([.tokens([1, 2, 3])])
    #expect(model.position == ids.count + 3)
    model.reset()
    #expect(model.position == 0)
    #expect(try model.forward([.tokens(ids)]).floats() == first)
  }

  @Test func contextOverflowIsReportedBeforeWork() throws {
    let model = try LlamaFiles.tinyHF(maxSequenceLength: 10)
    _ = try model.forward([.tokens([1, 2, 3, 4, 5, 6])])
    #expect(throws: LlamaError.contextOverflow(position: 6, adding: 5, maximum: 10)) {
      try model.forward([.tokens([1, 2]), .tokens([3, 4, 5])])
    }
    #expect(model.position == 6)
    _ = try model.forward([.tokens([7, 8, 9, 10])])
    #expect(model.position == 10)
    #expect(throws: LlamaError.self) { try model.generateGreedy([], maxNewTokens: 2) }
  }

  @Test func invalidInputsAreRejected() throws {
    let model = try LlamaFiles.tinyHF()
    #expect(throws: LlamaError.invalidInput("token id 256 is outside the vocabulary of 256")) {
      try model.forward([.tokens([1, 256])])
    }
    #expect(throws: LlamaError.invalidInput("no positions to process")) { try model.forward([]) }
    #expect(throws: LlamaError.self) { try model.forward([.embeddings(Tensor(zeros: [2, 63]))]) }
    #expect(model.position == 0)
  }
}
