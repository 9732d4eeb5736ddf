import MMCore
import MMGraph
import MMMediaIO

/// in: audio (any rate, any channels) → out: [clips, 1, mel_bins, target_length] f32, ImageBind's
/// audio input: resample to `sample_rate`, `clips` fixed-length clips spread evenly over the audio
/// (pytorchvideo's ConstantClipsPerVideoSampler), each a Kaldi fbank (ImageBind's options) padded
/// or cut to `target_length` frames, normalized by `(x − mean) / std`.
let imageBindClipsDescriptor = NodeDescriptor(
  type: "audio.imagebind_clips",
  doc:
    "ImageBind's audio preprocessing (load_and_transform_audio_data): clips of Kaldi log-mel fbank, [clips, 1, mel_bins, target_length].",
  example: exampleNode("audio.imagebind_clips", inputs: [("in", "$clip")], options: [("clips", "3")]),
  inputs: [PortSpec("in", .audio(sampleRate: nil, channels: nil), doc: "any rate and channel count")],
  outputs: [
    PortSpec(
      "out", .tensor(dtype: .f32, shape: nil), doc: "[clips, 1, mel_bins, target_length], normalized")
  ],
  options: [
    OptionSpec("clips", .int(range: 1...1000), default: .number("3"), doc: "clips spread over the audio"),
    OptionSpec("clip_duration", .float, default: .number("2"), doc: "seconds per clip"),
    OptionSpec(
      "sample_rate", .int(range: 1000...384_000), default: .number("16000"),
      doc: "resample to this rate first"),
    OptionSpec("mel_bins", .int(range: 1...1024), default: .number("128"), doc: "mel bins of the fbank"),
    OptionSpec(
      "target_length", .int(range: 1...100_000), default: .number("204"),
      doc: "frames per clip (zero-padded or cut)"),
    OptionSpec("mean", .float, default: .number("-4.268"), doc: "normalization mean (ImageBind's)"),
    OptionSpec("std", .float, default: .number("9.138"), doc: "normalization std (ImageBind's)"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    _ = try audioType(inputs, "in")
    let shape: [Dimension] = [
      .fixed(options.int("clips")), .fixed(1), .fixed(options.int("mel_bins")),
      .fixed(options.int("target_length")),
    ]
    return ["out": .tensor(dtype: .f32, shape: shape)]
  },
  make: { options in
    var o = AudioClipOptions.imageBind
    o.clipsPerVideo = options.int("clips")
    o.clipDuration = options.double("clip_duration")
    o.sampleRate = options.int("sample_rate")
    o.fbank.numMelBins = options.int("mel_bins")
    o.targetLength = options.int("target_length")
    o.mean = Float(options.double("mean"))
    o.std = Float(options.double("std"))
    guard o.std != 0, o.clipDuration > 0 else {
      throw NodeFailure("audio.imagebind_clips: std must not be 0 and clip_duration must be > 0")
    }
    return ClipNode(options: o)
  })

/// Computes the clips one at a time (progress per clip; stops early when the run is cancelled).
final class ClipNode: Node {
  let options: AudioClipOptions
  init(options: AudioClipOptions) { self.options = options }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let audio = try context.audio("in")
    do {
      var stream = try AudioClipStream(
        samples: audio.samples, sampleRate: audio.sampleRate, options: options, source: context.nodeName)
      var clips: [Tensor] = []
      while let clip = try stream.next() {
        if context.isCancelled { return .done }
        clips.append(clip)
        context.progress(clips.count, of: stream.count, unit: "clips")
      }
      let shape = [clips.count] + (clips.first?.shape ?? [])
      context.emit("out", .tensor(Tensor(clips.flatMap { $0.floats() }, shape: shape)))
    } catch {
      throw NodeFailure("\(error)")
    }
    return .done
  }
}
