import MMCore
import MMGraph
import MMMediaIO

/// Image nodes (`image.*`) and the reader of PNG and JPEG files for `--input`: decoding through
/// libpng and libjpeg-turbo, mode conversion, resize as PIL's `Image.resize` under torchvision's
/// `Resize` size rule, `CenterCrop`, and `ToTensor` + `Normalize` — bit-identical to torchvision
/// on PIL images. Registered through `MMBuiltins`.
public enum VisionPlugin: NodePlugin {
  public static let name = "image"

  public static let descriptors: [NodeDescriptor] = [
    readDescriptor, convertDescriptor, resizeDescriptor, centerCropDescriptor, toTensorDescriptor,
    preprocessDescriptor,
  ]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
    try registry.register(reader: fileReader, from: name)
  }

  /// `--input photo.jpg`: `[height, width, channels]` u8 (u16 for 16-bit PNGs), EXIF orientation
  /// applied (PIL's `Image.open` — and so ImageBind and CLIP — would not; `image.read` with
  /// `exif: false` keeps the stored orientation).
  static let fileReader = FileReader(
    name: "image", extensions: ["png", "jpg", "jpeg", "jpe", "jfif"], type: .image,
    doc:
      "PNG (1–16-bit, grey, palette, alpha) and JPEG (baseline, progressive, grey, CMYK); EXIF orientation applied",
    read: { path in .image(try ImageFile.read(contentsOf: path).tensor()) })
}

/// The image on input `port` as an `Image`.
func inputImage(_ context: NodeContext, _ port: String) throws -> Image {
  do { return try Image(tensor: try context.image(port)) } catch let error as TensorError {
    throw NodeFailure("\(context.nodeName): input '\(port)': \(error)")
  }
}

/// Accepts `image` (or anything unknown).
func requireImage(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError) {
  switch inputs[port] {
  case nil, .any?, .image?: return
  case let other?: throw TypeRuleError(port: port, expected: "image", found: "\(other)")
  }
}

/// A size option: an int, or `[height, width]`.
func sizeOption(_ value: JSONValue?, _ name: String) throws(TypeRuleError) -> VisionResizeSize {
  if let n = value?.int, n >= 1 { return .shorterSide(n) }
  if case .array(let pair)? = value, pair.count == 2, let h = pair[0].int, let w = pair[1].int, h >= 1, w >= 1
  {
    return .exact(height: h, width: w)
  }
  throw TypeRuleError(
    port: name, expected: "a positive int or [height, width]", found: value?.encoded() ?? "nothing")
}

/// path (option) → out: image.
let readDescriptor = NodeDescriptor(
  type: "image.read",
  doc: "Reads a PNG or JPEG file into [height, width, channels] u8 (u16 for 16-bit PNGs).",
  example: exampleNode("image.read", options: [("path", "\"photos/dog.jpg\"")]),
  inputs: [],
  outputs: [PortSpec("out", .image, doc: "the decoded pixels")],
  options: [
    OptionSpec("path", .path, doc: "the image file, relative to the graph file's folder"),
    OptionSpec(
      "exif", .bool, default: .bool(true), doc: "apply the EXIF orientation (PIL's Image.open does not)"),
  ],
  filesRead: { options in [options.string("path")] },
  make: { options in
    let path = options.string("path")
    let decode = options.bool("exif") ? ImageDecodeOptions() : .storedOrientation
    return FunctionNode { context in
      context.emit("out", .image(try ImageFile.read(contentsOf: path, options: decode).tensor()))
    }
  })

/// in → out: the image in another mode, with PIL's `convert` rules (grey = ITU-R 601 luma,
/// alpha dropped, 16-bit reduced as PIL does).
let convertDescriptor = NodeDescriptor(
  type: "image.convert",
  doc: "Converts to RGB, RGBA, L (grey) or LA with PIL's convert rules (8-bit out).",
  example: exampleNode("image.convert", inputs: [("in", "$photo")], options: [("mode", "\"RGB\"")]),
  inputs: [PortSpec("in", .image, doc: "any mode")],
  outputs: [PortSpec("out", .image, doc: "the converted image, 8-bit")],
  options: [
    OptionSpec(
      "mode", .choice(ImageMode.allCases.map(\.rawValue)), default: .string(ImageMode.rgb.rawValue),
      doc: "the target mode")
  ],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    try requireImage(inputs, "in")
    return ["out": .image]
  },
  make: { options in
    let mode = ImageMode(rawValue: options.string("mode")) ?? .rgb
    return FunctionNode { context in
      let image = try inputImage(context, "in")
      context.emit("out", .image(image.converted(to: mode).tensor()))
    }
  })

/// in → out: torchvision `Resize(size, interpolation, max_size)` on a PIL image: PIL's resampling
/// (antialiased when shrinking), bit-identical for 8-bit images.
let resizeDescriptor = NodeDescriptor(
  type: "image.resize",
  doc:
    "Resizes as torchvision's Resize on PIL images: size = shorter side (int) or [height, width]; PIL's antialiased filters.",
  example: exampleNode(
    "image.resize", inputs: [("in", "$photo")], options: [("size", "224"), ("filter", "\"bicubic\"")]),
  inputs: [PortSpec("in", .image, doc: "any mode")],
  outputs: [PortSpec("out", .image, doc: "the resized image")],
  options: [
    OptionSpec("size", .json, doc: "shorter side (int, aspect kept) or [height, width]"),
    OptionSpec(
      "filter", .choice(ResampleFilter.allCases.map(\.rawValue)), default: .string("bilinear"),
      doc: "PIL filter (torchvision's default: bilinear; CLIP/ImageBind: bicubic)"),
    OptionSpec(
      "max_size", .int(range: 0...1_000_000), default: .number("0"), doc: "cap on the longer side (0: none)"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    try requireImage(inputs, "in")
    let size = try sizeOption(options["size"], "size")
    if options.int("max_size") > 0, case .exact = size {
      throw TypeRuleError(
        port: "max_size", expected: "0 with a [height, width] size", found: "\(options.int("max_size"))")
    }
    return ["out": .image]
  },
  make: { options in
    let size = try sizeOption(options["size"], "size")
    let filter = ResampleFilter(rawValue: options.string("filter")) ?? .bilinear
    let maxSize = options.int("max_size") > 0 ? options.int("max_size") : nil
    return FunctionNode { context in
      let image = try inputImage(context, "in")
      let resized = try context.named {
        try VisionTransforms.resize(image, size, filter: filter, maxSize: maxSize)
      }
      context.emit("out", .image(resized.tensor()))
    }
  })

/// in → out: torchvision `CenterCrop(size)` (zero padding when the crop is larger).
let centerCropDescriptor = NodeDescriptor(
  type: "image.center_crop",
  doc:
    "Crops the centre as torchvision's CenterCrop (size int or [height, width]; pads with zeros when larger).",
  example: exampleNode("image.center_crop", inputs: [("in", "resized.out")], options: [("size", "224")]),
  inputs: [PortSpec("in", .image, doc: "any mode")],
  outputs: [PortSpec("out", .image, doc: "[size, size, channels]")],
  options: [OptionSpec("size", .json, doc: "square side (int) or [height, width]")],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    try requireImage(inputs, "in")
    _ = try sizeOption(options["size"], "size")
    return ["out": .image]
  },
  make: { options in
    let (h, w): (Int, Int)
    switch try sizeOption(options["size"], "size") {
    case .shorterSide(let n): (h, w) = (n, n)
    case .exact(let height, let width): (h, w) = (height, width)
    }
    return FunctionNode { context in
      let image = try inputImage(context, "in")
      context.emit(
        "out",
        .image(try context.named { try VisionTransforms.centerCrop(image, height: h, width: w) }.tensor()))
    }
  })

/// in: [H, W, C] → out: [C, H, W] f32 in [0, 1] (torchvision `ToTensor`), then `(x − mean) / std`
/// per channel when both are given (`Normalize`).
let toTensorDescriptor = NodeDescriptor(
  type: "image.to_tensor",
  doc: "torchvision ToTensor (+ Normalize when mean and std are given): [channels, height, width] f32.",
  example: exampleNode(
    "image.to_tensor", inputs: [("in", "cropped.out")],
    options: [
      ("mean", "[0.48145466, 0.4578275, 0.40821073]"), ("std", "[0.26862954, 0.26130258, 0.27577711]"),
    ]),
  inputs: [PortSpec("in", .image, doc: "any mode")],
  outputs: [
    PortSpec(
      "out", .tensor(dtype: .f32, shape: [.symbol("_"), .symbol("_"), .symbol("_")]), doc: "[C, H, W]")
  ],
  options: [
    OptionSpec("mean", .list(.float), default: .array([]), doc: "per-channel means (empty: no Normalize)"),
    OptionSpec("std", .list(.float), default: .array([]), doc: "per-channel standard deviations"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    try requireImage(inputs, "in")
    let mean = options["mean"]?.elements ?? [], std = options["std"]?.elements ?? []
    guard mean.count == std.count, !std.contains(where: { $0.double == 0 }) else {
      throw TypeRuleError(
        port: "std", expected: "as many non-zero values as mean (\(mean.count))", found: "\(std.count)")
    }
    return ["out": .tensor(dtype: .f32, shape: [.symbol("_"), .symbol("_"), .symbol("_")])]
  },
  make: { options in
    let mean = (options["mean"]?.elements ?? []).compactMap(\.double)
    let std = (options["std"]?.elements ?? []).compactMap(\.double)
    return FunctionNode { context in
      let image = try inputImage(context, "in")
      let tensor = try context.named {
        mean.isEmpty
          ? VisionTransforms.toTensor(image) : try VisionTransforms.toTensor(image, mean: mean, std: std)
      }
      context.emit("out", .tensor(tensor))
    }
  })

/// in → out: [3, 224, 224] f32, a named encoder's whole input pipeline.
let preprocessDescriptor = NodeDescriptor(
  type: "image.preprocess",
  doc:
    "An encoder's whole input pipeline (imagebind, clip: RGB, Resize(224, bicubic), CenterCrop(224), ToTensor, Normalize with CLIP's constants).",
  example: exampleNode(
    "image.preprocess", inputs: [("in", "$photo")], options: [("preset", "\"imagebind\"")]),
  inputs: [PortSpec("in", .image, doc: "any mode")],
  outputs: [
    PortSpec("out", .tensor(dtype: .f32, shape: [.fixed(3), .fixed(224), .fixed(224)]), doc: "[3, 224, 224]")
  ],
  options: [
    OptionSpec(
      "preset", .choice(["imagebind", "clip"]), default: .string("imagebind"), doc: "the model family")
  ],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    try requireImage(inputs, "in")
    return ["out": .tensor(dtype: .f32, shape: [.fixed(3), .fixed(224), .fixed(224)])]
  },
  make: { options in
    let pipeline: VisionPreprocessing = options.string("preset") == "clip" ? .clip : .imageBind
    return FunctionNode { context in
      let image = try inputImage(context, "in")
      context.emit("out", .tensor(try context.named { try pipeline(image) }))
    }
  })
