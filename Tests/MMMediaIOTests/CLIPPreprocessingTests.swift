import Foundation
import MMCore
import MMMediaIO
import MMWeights
import Testing

/// `VisionPreprocessing.clip` (torchvision on PIL: Resize(224, bicubic), CenterCrop, ToTensor,
/// Normalize) against Hugging Face's `CLIPImageProcessor` (its default torchvision-tensor backend)
/// on a real photo: Scripts/goldens/clip.py stores the processor's output (f16) in
/// Tests/Goldens/clip/tiny.safetensors. The two resamplers differ (PIL's bicubic on 8-bit pixels
/// vs torch's antialiased bicubic on floats), by up to ~0.015 after normalization.
@Suite struct CLIPPreprocessingTests {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
    }
    return url
  }()

  @Test func clipPresetIsCloseToCLIPImageProcessor() throws {
    let photo = Self.root.appendingPathComponent("../shared/testdata/dog_image.jpg").standardized.path
    try #require(
      FileManager.default.fileExists(atPath: photo),
      "missing ../shared/testdata/dog_image.jpg (shared test data)")
    let ours = try VisionPreprocessing.clip.tensor(contentsOf: photo)
    let golden = try SafetensorsFile(
      path: Self.root.appendingPathComponent("Tests/Goldens/clip/tiny.safetensors").path)
    let reference = try golden.tensor(named: "pixel_values").converted(to: .f32)
    #expect(reference.shape == [1] + ours.shape)
    let (a, b) = (ours.floats(), reference.floats())
    var worst: Float = 0
    var sum: Float = 0
    for i in a.indices {
      worst = max(worst, abs(a[i] - b[i]))
      sum += abs(a[i] - b[i])
    }
    print(
      "VisionPreprocessing.clip vs CLIPImageProcessor: max |Δ| \(worst), mean |Δ| \(sum / Float(a.count))")
    #expect(worst <= 0.05)
    #expect(sum / Float(a.count) <= 0.005)
  }
}
