import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
import MMWeights
import Testing

/// ImageBind's configuration file: the converter's output for imagebind_huge is the `huge` preset,
/// bad files are errors that name the file, line and key, and the loader names the checkpoint
/// tensor that does not fit the configuration.
@Suite("ImageBind configuration")
struct ImageBindConfigurationTests {
  static func parse(_ text: String) throws(ModelError) -> ImageBindConfiguration {
    let document: JSONDocument
    do { document = try JSONParser.parse(text, file: "config.json") } catch {
      throw .configuration(source: "config.json", problem: error.message)
    }
    return try ImageBindConfiguration(json: document)
  }

  /// Tests/Fixtures/imagebind/huge.json is what Scripts/convert_imagebind.py writes for
  /// `imagebind_huge()` (every size read from its state dict's shapes).
  @Test func hugeFileIsThePreset() throws {
    let huge = try ImageBindConfiguration(
      contentsOf: ImageBindFiles.path("Tests/Fixtures/imagebind/huge.json"))
    #expect(huge == .huge)
    #expect(huge.visionPatches == 256 && huge.audioPatches == 228)
  }

  @Test func tinyFile() throws {
    let tiny = try ImageBindFiles.configuration()
    #expect(tiny.outEmbedDim == 16)
    #expect(tiny.vision == ImageBindTrunkSizes(embedDim: 32, blocks: 2, heads: 4))
    #expect(tiny.audio == ImageBindTrunkSizes(embedDim: 24, blocks: 2, heads: 2))
    #expect(tiny.depth == ImageBindTrunkSizes(embedDim: 16, blocks: 2, heads: 2))
    // The text vocabulary of the committed small CLIP BPE (10,000 merges): 256 + 256 + 10,000 + 2.
    #expect(tiny.textVocabularySize == 10514 && tiny.textContextLength == 77)
    // Keys left out take imagebind_huge's values.
    #expect(try Self.parse("{}") == .huge)
  }

  @Test func badFilesNameTheKeyAndLine() throws {
    let cases: [(String, String)] = [
      ("[1, 2]", "expected a JSON object"),
      (
        "{\"vision\": {\n  \"embed_dim\": \"wide\"}}",
        "config.json:2:16: /vision/embed_dim: expected a positive integer"
      ),
      ("{\"audio\": {\"num_heads\": 5}}", "/audio/num_heads: expected a divisor of embed_dim 768, found 5"),
      ("{\"out_embed_dim\": -3}", "/out_embed_dim: expected a positive integer, found -3"),
      ("{\"vision\": {\"kernel_size\": [2, 14]}}", "/vision/kernel_size: expected 3 positive integers"),
      ("{\"imu\": {\"length\": 2001}}", "/imu/length: expected a multiple of kernel_size 8"),
      ("{\"vision\": ", "config.json"),
    ]
    for (text, message) in cases {
      do {
        _ = try Self.parse(text)
        Issue.record("accepted: \(text)")
      } catch {
        #expect("\(error)".contains(message), "\(text): \(error)")
      }
    }
    #expect(throws: ModelError.self) { try ImageBindConfiguration(contentsOf: "/nonexistent/config.json") }
  }

  /// Seeded byte mutations of tiny.json: a configuration or a ModelError, never a crash.
  @Test func mutatedFilesNeverCrash() throws {
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: ImageBindFiles.configurationPath)))
    var random = SeededRandom(seed: 5)
    let alphabet = Array("0123456789-.,:{}[]\"e ".utf8)
    var accepted = 0
    for _ in 0..<400 {
      var bytes = original
      for _ in 0..<Int.random(in: 1...4, using: &random) {
        let index = Int.random(in: 0..<bytes.count, using: &random)
        bytes[index] = alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
      }
      do {
        let document = try JSONParser.parse(bytes, file: "mutated.json")
        let configuration = try ImageBindConfiguration(json: document)
        #expect(
          configuration.outEmbedDim > 0 && configuration.vision.embedDim % configuration.vision.heads == 0)
        accepted += 1
      } catch is JSONSyntaxError {
      } catch is ModelError {
      }
    }
    #expect(accepted > 0)
  }

  /// A configuration that does not fit the weights: the first tensor read with another shape is
  /// named with its full key, the shape found and the shape expected.
  @Test func mismatchedWeightsNameTheTensor() throws {
    var configuration = try ImageBindFiles.configuration()
    configuration.audio = ImageBindTrunkSizes(embedDim: 32, blocks: 2, heads: 2)
    do {
      _ = try ImageBindEncoder.audio(try ImageBindFiles.weights(), configuration: configuration)
      Issue.record("loaded audio with embed_dim 32 from 24-wide weights")
    } catch {
      #expect(
        "\(error)".contains("modality_preprocessors.audio.rgbt_stem.proj.weight")
          && "\(error)".contains("[24, 1, 16, 16]") && "\(error)".contains("[32, 1, 16, 16]"), "\(error)")
    }
    configuration = try ImageBindFiles.configuration()
    configuration.text = ImageBindTrunkSizes(embedDim: 32, blocks: 3, heads: 2)
    do {
      _ = try ImageBindEncoder.text(try ImageBindFiles.weights(), configuration: configuration)
      Issue.record("loaded 3 text blocks from 2")
    } catch {
      #expect("\(error)".contains("modality_trunks.text.blocks.2"), "\(error)")
    }
  }

  @Test func badInputsAreClearErrors() throws {
    let configuration = try ImageBindFiles.configuration()
    let text = try ImageBindEncoder.text(try ImageBindFiles.weights(), configuration: configuration)
    var ids = [Float](repeating: 0, count: 77)
    ids[0] = 10512
    ids[1] = 10514
    #expect(throws: ModelError.self) { try text(Tensor(ids, shape: [1, 77])) }
    #expect(throws: ModelError.self) { try text(Tensor(zeros: [1, 76])) }
    let vision = try ImageBindEncoder.vision(try ImageBindFiles.weights(), configuration: configuration)
    #expect(throws: ModelError.self) { try vision(Tensor(zeros: [1, 1, 224, 224])) }
    do {
      _ = try vision(Tensor(zeros: [1, 3, 112, 112]))
      Issue.record("a 112×112 image was accepted")
    } catch {
      #expect("\(error)".contains("expected 256 patches"), "\(error)")
    }
    let audio = try ImageBindEncoder.audio(try ImageBindFiles.weights(), configuration: configuration)
    #expect(throws: ModelError.self) { try audio.embedClips(Tensor(zeros: [1, 1, 128, 204])) }
  }
}
