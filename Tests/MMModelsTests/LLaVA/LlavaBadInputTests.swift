import Foundation
import MMCore
import MMMediaIO
import MMModels
import MMNN
import MMTestSupport
import MMWeights
import Testing

/// Every way a LLaVA checkpoint or input can be wrong gives an error naming the file, the key
/// and what was expected and found; config.json and the image processor settings are fuzzed.
@Suite("LLaVA bad input") struct LlavaBadInputTests {
  static func message(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "no error"
    } catch { return "\(error)" }
  }

  @Test func missingProjectorTensorIsNamed() throws {
    let folder = try LlavaFiles.editedCopy(of: LlavaFiles.tiny) { tensors in
      tensors.filter { $0.name != "multi_modal_projector.linear_2.weight" }
    }
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let text = Self.message { _ = try LlavaImageEncoder(directory: folder) }
    #expect(
      text.contains("multi_modal_projector.linear_2.weight") && text.contains("model.safetensors"), "\(text)")
  }

  @Test func missingVisionTowerSaysWhereItLooked() throws {
    let folder = try LlavaFiles.editedCopy(of: LlavaFiles.tiny) { tensors in
      tensors.filter { !$0.name.hasPrefix("vision_tower.") }
    }
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let text = Self.message { _ = try LlavaImageEncoder(directory: folder) }
    #expect(
      text.contains("vision_tower.vision_model.embeddings.class_embedding") && text.contains("missing"),
      "\(text)")
  }

  @Test func wrongShapeNamesBothShapes() throws {
    let folder = try LlavaFiles.editedCopy(of: LlavaFiles.tiny) { tensors in
      tensors.map { item in
        item.name == "multi_modal_projector.linear_1.weight"
          ? (name: item.name, tensor: Tensor(zeros: [64, 16])) : item
      }
    }
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let text = Self.message { _ = try LlavaImageEncoder(directory: folder) }
    #expect(
      text.contains("multi_modal_projector.linear_1.weight") && text.contains("[64, 16]")
        && text.contains("[64, 32]"), "\(text)")
  }

  @Test func featuresOfTheWrongWidthAreRefused() throws {
    let encoder = try LlavaImageEncoder(directory: LlavaFiles.tiny)
    let text = Self.message { _ = try encoder.projector(Tensor(zeros: [16, 48])) }
    #expect(
      text.contains("[n, 32]") && text.contains("[16, 48]") && text.contains("multi_modal_projector"),
      "\(text)")
    let pixels = Self.message { _ = try encoder.features(Tensor(zeros: [3, 48, 48])) }
    #expect(pixels.contains("[batch, 3, 32, 32]") && pixels.contains("[3, 48, 48]"), "\(pixels)")
  }

  @Test func configurationErrorsNameTheKey() throws {
    let path = LlavaFiles.tiny + "/config.json"
    let valid = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path).root
    func replacing(_ key: String, _ value: JSONValue) -> JSONValue {
      guard case .object(var members) = valid else { return valid }
      members.removeAll { $0.key == key }
      members.append(JSONMember(key, value))
      return .object(members)
    }
    let cases: [(JSONValue, [String])] = [
      (replacing("vision_feature_layer", JSONValue(-5)), ["vision_feature_layer", "-5", "-4…3"]),
      (replacing("vision_feature_layer", .array([])), ["vision_feature_layer", "[]"]),
      (replacing("vision_feature_layer", .string("last")), ["vision_feature_layer", "\"last\""]),
      (
        replacing("vision_feature_select_strategy", .string("cls")),
        ["vision_feature_select_strategy", "\"cls\""]
      ),
      (replacing("projector_hidden_act", .string("tanh")), ["projector_hidden_act", "\"tanh\""]),
      (replacing("multimodal_projector_bias", JSONValue(1)), ["multimodal_projector_bias", "1"]),
      (replacing("model_type", .string("blip-2")), ["model_type", "\"llava\"", "\"blip-2\""]),
      (
        replacing("vision_config", .object([JSONMember("model_type", .string("siglip_vision_model"))])),
        ["vision_config.model_type", "siglip_vision_model"]
      ),
      (replacing("text_config", .null), ["text_config", "expected an object"]),
      (replacing("image_token_index", JSONValue(-1)), ["image_token_index", "-1"]),
    ]
    for (json, needles) in cases {
      let text = Self.message { _ = try LlavaConfiguration(json: json, source: "c.json") }
      #expect(text.hasPrefix("c.json: ") && needles.allSatisfy(text.contains), "\(text)")
    }
    let missing = Self.message { _ = try LlavaConfiguration(contentsOf: "/nonexistent/config.json") }
    #expect(missing.contains("/nonexistent/config.json") && missing.contains("cannot read"), "\(missing)")
  }

  @Test func imageProcessorErrorsNameTheKey() throws {
    let cases: [(String, [String])] = [
      (#"{"do_rescale": false}"#, ["do_rescale"]),
      (#"{"rescale_factor": 0.5}"#, ["rescale_factor", "0.5"]),
      (#"{"resample": 9}"#, ["resample", "9"]),
      (#"{"size": {"longest_edge": 3}}"#, ["size", "longest_edge"]),
      (#"{"crop_size": {"shortest_edge": 3}}"#, ["crop_size"]),
      (#"{"image_mean": [0.5, 0.5]}"#, ["image_mean", "3 numbers"]),
      (#"{"image_std": [0, 1, 1]}"#, ["image_std"]),
      (#"{"do_resize": "yes"}"#, ["do_resize", "\"yes\""]),
      (#"{"do_pad": true}"#, ["do_pad", "not supported"]),
      (#"[]"#, ["expected a JSON object"]),
    ]
    for (text, needles) in cases {
      let json = try JSONParser.parse(text, file: "p.json").root
      let message = Self.message { _ = try VisionPreprocessing(imageProcessor: json, source: "p.json") }
      #expect(message.hasPrefix("p.json: ") && needles.allSatisfy(message.contains), "\(text): \(message)")
    }
    let missing = Self.message { _ = try VisionPreprocessing(checkpointDirectory: "/nonexistent") }
    #expect(missing.contains("/nonexistent/preprocessor_config.json"), "\(missing)")
    // Settings given as an int and {height, width} are accepted.
    let json = try JSONParser.parse(
      #"{"size": {"height": 20, "width": 30}, "crop_size": 16, "resample": 2}"#, file: "p")
    let custom = try VisionPreprocessing(imageProcessor: json.root, source: "p")
    #expect(
      custom.resize == .exact(height: 20, width: 30) && custom.crop?.height == 16
        && custom.filter == .bilinear)
  }

  /// Seeded random edits of the fixture's config.json: a configuration or a
  /// `ModelError.configuration` naming the file, never a crash.
  @Test func mutatedConfigsNeverCrash() throws {
    let valid = Array(try Data(contentsOf: URL(fileURLWithPath: LlavaFiles.tiny + "/config.json")))
    let tokens = [
      "null", "-1", "0", "-9", "1e400", "3.5", "\"full\"", "\"gelu\"", "[-1, -2]", "[", "}", "\"\"", "{}",
    ]
    var mutator = JSONMutator(seed: 7, tokens: tokens)
    var accepted = 0
    for iteration in 0..<500 {
      let bytes = mutator.mutate(valid)
      let document: JSONDocument
      do { document = try JSONParser.parse(bytes, file: "fuzz/config.json") } catch { continue }
      do {
        let c = try LlavaConfiguration(json: document.root, source: "fuzz/config.json")
        #expect(c.featureWidth == c.vision.tower.hiddenSize * c.featureLayers.count, "iteration \(iteration)")
        accepted += 1
      } catch {
        guard case .configuration(let source, _) = error else {
          Issue.record("iteration \(iteration): \(error)")
          continue
        }
        #expect(source == "fuzz/config.json")
      }
    }
    #expect(accepted > 0, "no mutation kept a valid configuration")
  }

  /// Seeded random edits of the fixture's preprocessor_config.json: a pipeline or an
  /// `ImageProcessorConfigurationError` naming the file, never a crash.
  @Test func mutatedImageProcessorSettingsNeverCrash() throws {
    let valid = Array(
      try Data(contentsOf: URL(fileURLWithPath: LlavaFiles.tiny + "/preprocessor_config.json")))
    let tokens = [
      "null", "-1", "0", "7", "1e400", "0.5", "true", "false", "[1, 2, 3]", "{}", "[", "\"\"",
      "{\"height\": 3}",
    ]
    var mutator = JSONMutator(seed: 5, tokens: tokens)
    var accepted = 0
    for iteration in 0..<500 {
      let bytes = mutator.mutate(valid)
      let document: JSONDocument
      do { document = try JSONParser.parse(bytes, file: "fuzz/p.json") } catch { continue }
      do {
        let pipeline = try VisionPreprocessing(imageProcessor: document.root, source: "fuzz/p.json")
        #expect(pipeline.mean.count == 3 && !pipeline.std.contains(0), "iteration \(iteration)")
        accepted += 1
      } catch {
        #expect(error.file == "fuzz/p.json", "iteration \(iteration): \(error)")
      }
    }
    #expect(accepted > 0, "no mutation kept valid settings")
  }
}
