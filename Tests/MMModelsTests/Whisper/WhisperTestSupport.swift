import Foundation
import MMCore
import MMMediaIO
import MMModels
import MMTestSupport
import MMWeights

/// Fixtures (Tests/Fixtures/whisper) and goldens (Tests/Goldens/whisper), written by
/// Scripts/goldens/whisper.py, and the committed sample Samples/question.wav.
enum WhisperFiles {
  static let root = packageRoot

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// The tiny random model: "tiny" (HF safetensors, f32) or "tiny-ct2" (CTranslate2, f16).
  static func fixture(_ name: String) -> String { path("Tests/Fixtures/whisper/\(name)") }

  static let goldens: SafetensorsFile = {
    // A missing golden is a broken checkout: fail loudly.
    do { return try SafetensorsFile(path: path("Tests/Goldens/whisper/tiny.safetensors")) } catch {
      fatalError("\(error): run Scripts/goldens/whisper.py")
    }
  }()

  static func floats(_ name: String) throws -> [Float] { try goldens.tensor(named: name).floats() }

  static func ids(_ name: String) throws -> [Int32] {
    try goldens.tensor(named: name).scalars(Int64.self).map { Int32($0) }
  }

  /// Whisper's input: Samples/question.wav (16 kHz mono) padded to 30 s, as log-mel [80, 3000].
  static func questionFeatures() throws -> Tensor {
    let (samples, rate) = try AudioFile.read(contentsOf: path("Samples/question.wav"))
    precondition(rate == 16000 && samples.shape[0] == 1, "Samples/question.wav must be 16 kHz mono")
    return try whisperLogMel(samples16k: WhisperTranscriber.padOrTrim(samples.floats()))
  }

  static let features: Tensor = {
    do { return try questionFeatures() } catch { fatalError("Samples/question.wav: \(error)") }
  }()

  /// The real tiny.en folder, when fetched (bash Scripts/fetch-models.sh whisper-tiny-en).
  static let realModel: String? = {
    let models =
      ProcessInfo.processInfo.environment["MMGRAPH_MODELS"]
      ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/mmgraph/models").path
    let folder = models + "/whisper-tiny-en"
    return FileManager.default.fileExists(atPath: folder + "/model.bin") ? folder : nil
  }()
}
