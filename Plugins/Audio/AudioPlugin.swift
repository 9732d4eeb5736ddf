import MMCore
import MMGraph
import MMMediaIO

/// Audio nodes (`audio.*`) and the reader of audio files for `--input`: mix-down, resampling as
/// torchaudio, Kaldi filterbanks as torchaudio's `compliance.kaldi.fbank`, Whisper's log-mel
/// spectrogram, and ImageBind's clip sampling. Registered through `MMBuiltins`.
public enum AudioPlugin: NodePlugin {
  public static let name = "audio"

  public static let descriptors: [NodeDescriptor] = [
    readDescriptor, mixDescriptor, resampleDescriptor, fbankDescriptor, whisperLogMelDescriptor,
    imageBindClipsDescriptor,
  ]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
    try registry.register(reader: fileReader, from: name)
  }

  /// File extensions libsndfile reads (the installed build decides which codecs really work; an
  /// unsupported one is reported by libsndfile when the file is opened).
  static let extensions = [
    "wav", "wave", "flac", "ogg", "oga", "opus", "aiff", "aif", "aifc", "au", "snd",
    "caf", "w64", "rf64", "mp3",
  ]

  /// `--input clip.wav`: the file's samples `[channels, frames]` at its own rate.
  static let fileReader = FileReader(
    name: "audio", extensions: extensions, type: .audio(sampleRate: nil, channels: nil),
    doc: "audio through libsndfile (WAV 8–32-bit and float, FLAC, OGG/Vorbis/Opus, AIFF, MP3, …)",
    read: { path in try readAudio(path) })

  static func readAudio(_ path: String) throws -> Value {
    let (samples, rate) = try AudioFile.read(contentsOf: path)
    return .audio(Audio(samples: samples, sampleRate: rate))
  }
}

/// audio<rate, channels> → the type of an audio port, or an error for anything else.
func audioType(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError) -> (
  rate: Int?, channels: Int?
) {
  switch inputs[port] {
  case nil, .any?: return (nil, nil)
  case .audio(let rate, let channels)?: return (rate, channels)
  case let other?: throw TypeRuleError(port: port, expected: "audio", found: "\(other)")
  }
}

/// A mono signal `[n]` from an audio value: its only channel, or the mean of its channels when
/// `mixDown`, else channel 0 (as torchaudio's Kaldi functions take it).
func monoSamples(_ audio: Audio, mixDown: Bool) throws -> [Float] {
  if audio.channels == 1 || !mixDown {
    return Array(audio.samples.floats()[0..<audio.frames])
  }
  return try AudioFile.mixDown(audio.samples).floats()
}

/// path (option) → out: audio. For graphs that name their file instead of taking `--input`.
let readDescriptor = NodeDescriptor(
  type: "audio.read",
  doc: "Reads an audio file (any format libsndfile reads) into samples [channels, frames] at its own rate.",
  example: exampleNode("audio.read", options: [("path", "\"clips/dog.wav\"")]),
  inputs: [],
  outputs: [PortSpec("out", .audio(sampleRate: nil, channels: nil), doc: "the samples, as stored")],
  options: [OptionSpec("path", .path, doc: "the audio file, relative to the graph file's folder")],
  filesRead: { options in [options.string("path")] },
  make: { options in
    let path = options.string("path")
    return FunctionNode { context in context.emit("out", try AudioPlugin.readAudio(path)) }
  })

/// in: audio<rate, c> → out: audio<rate, 1>, the mean over channels.
let mixDescriptor = NodeDescriptor(
  type: "audio.mix",
  doc: "Mixes every channel down to one (their mean).",
  example: exampleNode("audio.mix", inputs: [("in", "$clip")]),
  inputs: [PortSpec("in", .audio(sampleRate: nil, channels: nil), doc: "any number of channels")],
  outputs: [PortSpec("out", .audio(sampleRate: nil, channels: 1), doc: "one channel")],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    ["out": .audio(sampleRate: try audioType(inputs, "in").rate, channels: 1)]
  },
  make: { _ in
    FunctionNode { context in
      let audio = try context.audio("in")
      let mono = try monoSamples(audio, mixDown: true)
      context.emit(
        "out", .audio(Audio(samples: Tensor(mono, shape: [1, mono.count]), sampleRate: audio.sampleRate)))
    }
  })

/// in: audio<r, c> → out: audio<rate, c>, each channel resampled as torchaudio.functional.resample.
let resampleDescriptor = NodeDescriptor(
  type: "audio.resample",
  doc:
    "Resamples every channel to `rate` Hz as torchaudio.functional.resample (windowed sinc, Hann, width 6, rolloff 0.99).",
  example: exampleNode("audio.resample", inputs: [("in", "$clip")], options: [("rate", "16000")]),
  inputs: [PortSpec("in", .audio(sampleRate: nil, channels: nil), doc: "any rate and channel count")],
  outputs: [PortSpec("out", .audio(sampleRate: nil, channels: nil), doc: "the same channels at `rate` Hz")],
  options: [OptionSpec("rate", .int(range: 1...1_000_000), doc: "the target sample rate in Hz")],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    ["out": .audio(sampleRate: options.int("rate"), channels: try audioType(inputs, "in").channels)]
  },
  make: { options in
    let rate = options.int("rate")
    return FunctionNode { context in
      let audio = try context.audio("in")
      context.emit("out", .audio(try resampled(audio, to: rate)))
    }
  })

/// Every channel of `audio` at `rate` Hz.
func resampled(_ audio: Audio, to rate: Int) throws -> Audio {
  if audio.sampleRate == rate { return audio }
  let samples = audio.samples.floats()
  let frames = audio.frames
  var channels: [[Float]] = []
  for c in 0..<audio.channels {
    channels.append(
      try resample(Array(samples[c * frames..<(c + 1) * frames]), from: audio.sampleRate, to: rate))
  }
  let length = channels.first?.count ?? 0
  return Audio(samples: Tensor(channels.flatMap { $0 }, shape: [channels.count, length]), sampleRate: rate)
}
