import MMCore

/// A torchvision-style vision input pipeline: `convert("RGB")` → `Resize` → `CenterCrop` →
/// `ToTensor` → `Normalize`, giving `[3, height, width]` f32. With identical decoded pixels the
/// output is bit-identical to torchvision on PIL images.
public struct VisionPreprocessing: Sendable, Equatable {
  public let resize: VisionResizeSize
  public let maxSize: Int?
  public let filter: ResampleFilter
  /// (height, width) of `CenterCrop`, or nil for none.
  public let crop: (height: Int, width: Int)?
  public let mean: [Double]
  public let std: [Double]
  /// Whether `tensor(contentsOf:)` applies the EXIF orientation. False in the presets: the
  /// reference pipelines open files with PIL's `Image.open`, which does not.
  public let applyExifOrientation: Bool

  public init(
    resize: VisionResizeSize, maxSize: Int? = nil, filter: ResampleFilter = .bilinear,
    crop: (height: Int, width: Int)?, mean: [Double], std: [Double], applyExifOrientation: Bool = false
  ) throws(TensorError) {
    guard mean.count == 3, std.count == 3, !std.contains(0) else {
      throw .invalidArgument(
        op: "VisionPreprocessing", message: "need 3 means and 3 non-zero standard deviations")
    }
    if let crop, crop.height < 1 || crop.width < 1 {
      throw .invalidArgument(op: "VisionPreprocessing", message: "crop \(crop.width)×\(crop.height)")
    }
    _ = try VisionTransforms.resizedSize(height: 1000, width: 1000, size: resize, maxSize: maxSize)
    self.resize = resize
    self.maxSize = maxSize
    self.filter = filter
    self.crop = crop
    self.mean = mean
    self.std = std
    self.applyExifOrientation = applyExifOrientation
  }

  /// OpenAI CLIP's normalization constants (also ImageBind's).
  public static let clipMean = [0.48145466, 0.4578275, 0.40821073]
  public static let clipStd = [0.26862954, 0.26130258, 0.27577711]

  /// ImageBind's `data.load_and_transform_vision_data`: `Image.open(f).convert("RGB")`,
  /// Resize(224, BICUBIC), CenterCrop(224), ToTensor, Normalize(CLIP mean, CLIP std).
  public static let imageBind = try! VisionPreprocessing(
    resize: .shorterSide(224), filter: .bicubic, crop: (224, 224), mean: clipMean, std: clipStd)

  /// OpenAI CLIP ViT-B/32, ViT-B/16, ViT-L/14 (`clip.load`'s preprocess): the same pipeline as
  /// ImageBind. (CLIP converts to RGB after the crop; for RGB, grey and palette sources that
  /// gives the same pixels, for images with alpha PIL's premultiplied resize differs slightly.)
  public static let clip = imageBind

  public static func == (a: VisionPreprocessing, b: VisionPreprocessing) -> Bool {
    a.resize == b.resize && a.maxSize == b.maxSize && a.filter == b.filter && a.crop?.height == b.crop?.height
      && a.crop?.width == b.crop?.width && a.mean == b.mean && a.std == b.std
      && a.applyExifOrientation == b.applyExifOrientation
  }

  /// `[3, height, width]` f32. Throws only when the resize rule gives an empty side (an extreme
  /// aspect ratio with `maxSize`), where torchvision fails too.
  public func callAsFunction(_ image: Image) throws(TensorError) -> Tensor {
    var rgb = image.convertedToRGB()
    rgb = try VisionTransforms.resize(rgb, resize, filter: filter, maxSize: maxSize)
    if let crop { rgb = try VisionTransforms.centerCrop(rgb, height: crop.height, width: crop.width) }
    return try VisionTransforms.toTensor(rgb, mean: mean, std: std)
  }

  /// Reads, decodes and transforms an image file. Throws `ImageFileError` for the file,
  /// `TensorError` as `callAsFunction`.
  public func tensor(contentsOf path: String) throws -> Tensor {
    let options = ImageDecodeOptions(applyExifOrientation: applyExifOrientation)
    return try self(ImageFile.read(contentsOf: path, options: options))
  }
}
