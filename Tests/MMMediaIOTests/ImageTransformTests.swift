import MMCore
import MMMediaIO
import MMTestSupport
import Testing

/// torchvision transforms on PIL images (goldens: Scripts/goldens/image.py).
@Suite("Image transforms") struct ImageTransformTests {
  /// `_compute_resized_output_size` for a table of sizes, max_size included.
  @Test func resizeSizeRuleMatchesTorchvision() throws {
    let table = try goldenInts(ImageFiles.golden("tv_sizes"))
    for row in stride(from: 0, to: table.count, by: 6) {
      let (h, w, size, maxSize) = (table[row], table[row + 1], table[row + 2], table[row + 3])
      let got = try VisionTransforms.resizedSize(
        height: h, width: w, size: .shorterSide(size), maxSize: maxSize < 0 ? nil : maxSize)
      #expect(
        [got.height, got.width] == [table[row + 4], table[row + 5]], "\(h)×\(w) size \(size) max \(maxSize)")
    }
    #expect(throws: TensorError.self) {
      try VisionTransforms.resizedSize(height: 10, width: 10, size: .shorterSide(20), maxSize: 20)
    }
    #expect(throws: TensorError.self) {
      try VisionTransforms.resizedSize(height: 10, width: 10, size: .exact(height: 3, width: 4), maxSize: 20)
    }
  }

  /// Resize(30), Resize(30, max_size=35) (bilinear, torchvision's default) and
  /// Resize((25, 39), BICUBIC) of the 48×36 fixture. Tolerance: 0.
  @Test func resizeMatchesTorchvision() throws {
    let image = try ImageFiles.decode("rgb8.png")
    let cases: [(String, VisionResizeSize, Int?, ResampleFilter)] = [
      ("tvresize_rgb8_30", .shorterSide(30), nil, .bilinear),
      ("tvresize_rgb8_30_max35", .shorterSide(30), 35, .bilinear),
      ("tvresize_rgb8_25x39_bicubic", .exact(height: 25, width: 39), nil, .bicubic),
    ]
    for (name, size, maxSize, filter) in cases {
      let resized = try VisionTransforms.resize(image, size, filter: filter, maxSize: maxSize)
      let golden = try ImageFiles.golden(name)
      #expect(golden.shape == [resized.height, resized.width, 3], "\(name)")
      let result = sampleDifference(sampleInts(resized), try goldenInts(golden))
      #expect(result.maxDifference == 0, "\(name): \(result.report)")
    }
  }

  /// CenterCrop with half-to-even offsets and zero padding when the crop is larger. Tolerance: 0.
  @Test(arguments: [(21, 33), (31, 30), (40, 56), (30, 51), (36, 48)])
  func centerCropMatchesTorchvision(height: Int, width: Int) throws {
    let image = try ImageFiles.decode("rgb8.png")
    let cropped = try VisionTransforms.centerCrop(image, height: height, width: width)
    let result = sampleDifference(
      sampleInts(cropped), try goldenInts(ImageFiles.golden("crop_rgb8_\(height)x\(width)")))
    #expect(result.maxDifference == 0, "crop \(height)×\(width): \(result.report)")
  }

  /// Resize(28, BICUBIC) → CenterCrop(24) → ToTensor → Normalize(CLIP) on a PNG and a JPEG,
  /// whole tensor compared. Tolerance: 1e-6 (float32 ops as torch's; expected exact).
  @Test(arguments: [("rgb8", "png"), ("baseline420", "jpg")])
  func smallPipelineMatchesTorchvision(stem: String, ext: String) throws {
    let pipeline = try VisionPreprocessing(
      resize: .shorterSide(28), filter: .bicubic, crop: (24, 24), mean: VisionPreprocessing.clipMean,
      std: VisionPreprocessing.clipStd)
    let tensor = try pipeline.tensor(contentsOf: ImageFiles.fixture("\(stem).\(ext)"))
    let golden = try ImageFiles.golden("pipeline_\(stem)")
    #expect(tensor.shape == [3, 24, 24] && golden.shape == [3, 24, 24])
    let (worst, _) = maxAbsDifference(tensor.floats(), golden.floats())
    #expect(worst <= 1e-6, "\(stem): \(differenceReport(tensor.floats(), golden.floats()))")
  }

  /// ImageBind's load_and_transform_vision_data on the shared photos. The committed goldens are
  /// the CRC-32 of the whole resized+cropped uint8 image and of the float32 tensor (exact
  /// match), plus every 8th row and column of the tensor, compared with tolerance 1e-5.
  @Test(arguments: ["car", "dog"])
  func imageBindMatchesTorchvision(name: String) throws {
    let path = try ImageFiles.shared("\(name)_image.jpg")
    let image = try ImageFile.read(contentsOf: path, options: .storedOrientation).convertedToRGB()
    let resized = try VisionTransforms.resize(image, .shorterSide(224), filter: .bicubic)
    let crop = try VisionTransforms.centerCrop(resized, height: 224, width: 224)
    let cropDigest = try goldenInts(ImageFiles.golden("\(name)_crop_digest"))
    #expect(
      imageDigest(try #require(crop.pixels8)) == cropDigest,
      "\(name): resized+cropped pixels differ from PIL's")

    let tensor = try VisionPreprocessing.imageBind.tensor(contentsOf: path)
    #expect(tensor.shape == [3, 224, 224] && tensor.dtype == .f32)
    let values = tensor.floats()
    var picked: [Float] = []
    for c in 0..<3 {
      for y in stride(from: 0, to: 224, by: 8) {
        for x in stride(from: 0, to: 224, by: 8) { picked.append(values[c * 224 * 224 + y * 224 + x]) }
      }
    }
    let sample = try ImageFiles.golden("\(name)_imagebind_sample")
    #expect(sample.shape == [3, 28, 28])
    let (worst, _) = maxAbsDifference(picked, sample.floats())
    #expect(worst <= 1e-5, "\(name) ImageBind tensor: \(differenceReport(picked, sample.floats()))")
    let expected = try goldenInts(ImageFiles.golden("\(name)_imagebind_digest"))
    let got = imageDigest(values)
    #expect(got[0] == expected[0] && got[1] == expected[1], "\(name): tensor bytes differ from torchvision's")
    #expect(abs(got[2] - expected[2]) <= 2, "\(name): tensor sum \(got[2]) vs \(expected[2]) (×1000)")
  }

  @Test func presetsAndNormalization() throws {
    #expect(VisionPreprocessing.imageBind.resize == .shorterSide(224))
    #expect(VisionPreprocessing.imageBind.filter == .bicubic)
    #expect(
      VisionPreprocessing.imageBind.crop?.height == 224 && VisionPreprocessing.imageBind.crop?.width == 224)
    #expect(VisionPreprocessing.clip == VisionPreprocessing.imageBind)
    let image = try Image(width: 1, height: 1, mode: .rgb, pixels: [0, 128, 255])
    let plain = VisionTransforms.toTensor(image).floats()
    #expect(plain == [0, Float(128) / 255, 1])
    let normalized = try VisionTransforms.toTensor(image, mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1]).floats()
    #expect(normalized == [(0 - 0.5) / 0.25, (Float(128) / 255 - 0.5) / 0.5, 0.5])
    #expect(throws: TensorError.self) { try VisionTransforms.toTensor(image, mean: [0], std: [1]) }
    #expect(throws: TensorError.self) {
      try VisionPreprocessing(resize: .shorterSide(8), crop: nil, mean: [0, 0, 0], std: [1, 0, 1])
    }
  }
}
