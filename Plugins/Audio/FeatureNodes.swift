import MMCore
import MMGraph
import MMMediaIO

/// in: audio → out: [frames, bins] f32 Kaldi filterbank features, as
/// `torchaudio.compliance.kaldi.fbank(waveform, …)` with the same option names and defaults.
/// Like torchaudio it reads channel 0 of a multichannel signal (set `mix` to average instead).
let fbankDescriptor = NodeDescriptor(
  type: "audio.fbank",
  doc:
    "Kaldi log-mel filterbank features [frames, bins] as torchaudio.compliance.kaldi.fbank (same options and defaults).",
  example: exampleNode(
    "audio.fbank", inputs: [("in", "resampled.out")],
    options: [("num_mel_bins", "128"), ("window_type", "\"hanning\""), ("htk_compat", "true")]),
  inputs: [PortSpec("in", .audio(sampleRate: nil, channels: nil), doc: "the waveform, samples in [-1, 1]")],
  outputs: [
    PortSpec("out", .tensor(dtype: .f32, shape: [.symbol("_"), .symbol("_")]), doc: "[frames, bins]")
  ],
  options: [
    OptionSpec("num_mel_bins", .int(range: 1...1024), default: .number("23"), doc: "mel bins"),
    OptionSpec("frame_length", .float, default: .number("25"), doc: "frame length in ms"),
    OptionSpec("frame_shift", .float, default: .number("10"), doc: "frame shift in ms"),
    OptionSpec(
      "window_type", .choice(KaldiWindowType.allCases.map(\.rawValue)), default: .string("povey"),
      doc: "the analysis window"),
    OptionSpec("blackman_coeff", .float, default: .number("0.42"), doc: "for the blackman window"),
    OptionSpec("preemphasis_coefficient", .float, default: .number("0.97"), doc: "0 disables pre-emphasis"),
    OptionSpec("remove_dc_offset", .bool, default: .bool(true), doc: "subtract each frame's mean"),
    OptionSpec("round_to_power_of_two", .bool, default: .bool(true), doc: "pad frames to a power of two"),
    OptionSpec("snip_edges", .bool, default: .bool(true), doc: "only frames that fit inside the signal"),
    OptionSpec("low_freq", .float, default: .number("20"), doc: "lowest mel filter edge in Hz"),
    OptionSpec("high_freq", .float, default: .number("0"), doc: "highest edge in Hz; ≤ 0 is Nyquist + this"),
    OptionSpec("htk_compat", .bool, default: .bool(false), doc: "HTK layout (energy last)"),
    OptionSpec("use_energy", .bool, default: .bool(false), doc: "add an energy column"),
    OptionSpec("raw_energy", .bool, default: .bool(true), doc: "energy before pre-emphasis and window"),
    OptionSpec("energy_floor", .float, default: .number("1"), doc: "floor of the energy"),
    OptionSpec("use_log_fbank", .bool, default: .bool(true), doc: "log of the mel energies"),
    OptionSpec("use_power", .bool, default: .bool(true), doc: "power (not magnitude) spectrum"),
    OptionSpec("subtract_mean", .bool, default: .bool(false), doc: "subtract each bin's mean over frames"),
    OptionSpec("mix", .bool, default: .bool(false), doc: "average the channels instead of taking channel 0"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    _ = try audioType(inputs, "in")
    let bins = options.int("num_mel_bins") + (options.bool("use_energy") ? 1 : 0)
    return ["out": .tensor(dtype: .f32, shape: [.symbol("_"), .fixed(bins)])]
  },
  make: { options in
    var o = KaldiFbankOptions()
    o.numMelBins = options.int("num_mel_bins")
    o.frameLength = options.double("frame_length")
    o.frameShift = options.double("frame_shift")
    o.windowType = KaldiWindowType(rawValue: options.string("window_type")) ?? .povey
    o.blackmanCoefficient = options.double("blackman_coeff")
    o.preemphasisCoefficient = options.double("preemphasis_coefficient")
    o.removeDCOffset = options.bool("remove_dc_offset")
    o.roundToPowerOfTwo = options.bool("round_to_power_of_two")
    o.snipEdges = options.bool("snip_edges")
    o.lowFreq = options.double("low_freq")
    o.highFreq = options.double("high_freq")
    o.htkCompat = options.bool("htk_compat")
    o.useEnergy = options.bool("use_energy")
    o.rawEnergy = options.bool("raw_energy")
    o.energyFloor = options.double("energy_floor")
    o.useLogFbank = options.bool("use_log_fbank")
    o.usePower = options.bool("use_power")
    o.subtractMean = options.bool("subtract_mean")
    let mix = options.bool("mix")
    return FunctionNode { [o] context in
      let audio = try context.audio("in")
      let mono = try monoSamples(audio, mixDown: mix)
      context.emit(
        "out",
        .tensor(
          try context.named {
            try kaldiFbank(samples: mono, sampleRate: Double(audio.sampleRate), options: o)
          }))
    }
  })

/// in: audio<16000, 1> → out: [mels, frames] f32, Whisper's log-mel input features. `pad_to_30s`
/// pads (or cuts) the waveform to 480000 samples first, as Whisper's feature extractor does.
let whisperLogMelDescriptor = NodeDescriptor(
  type: "audio.whisper_log_mel",
  doc:
    "Whisper's log-mel spectrogram [mels, frames] of 16 kHz mono audio (n_fft 400, hop 160, log10, clamp to max − 8, (x+4)/4).",
  example: exampleNode("audio.whisper_log_mel", inputs: [("in", "mono16k.out")]),
  inputs: [PortSpec("in", .audio(sampleRate: 16000, channels: 1), doc: "16 kHz mono")],
  outputs: [
    PortSpec("out", .tensor(dtype: .f32, shape: [.symbol("_"), .symbol("_")]), doc: "[mels, frames]")
  ],
  options: [
    OptionSpec(
      "mels", .choice(["80", "128"]), default: .string("80"),
      doc: "80 (Whisper v1–v3 small) or 128 (large-v3)"),
    OptionSpec(
      "pad_to_30s", .bool, default: .bool(true), doc: "pad or cut to 30 s (3000 frames) as Whisper does"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    _ = try audioType(inputs, "in")
    let mels = Int(options.string("mels")) ?? 80
    let frames: Dimension = options.bool("pad_to_30s") ? .fixed(3000) : .symbol("_")
    return ["out": .tensor(dtype: .f32, shape: [.fixed(mels), frames])]
  },
  make: { options in
    let mels = Int(options.string("mels")) ?? 80
    let pad = options.bool("pad_to_30s")
    return FunctionNode { context in
      let audio = try context.audio("in")
      guard audio.sampleRate == 16000, audio.channels == 1 else {
        throw NodeFailure(
          "\(context.nodeName): Whisper features need 16 kHz mono audio, found \(audio.sampleRate) Hz with \(audio.channels) channel(s); resample and mix first"
        )
      }
      var samples = Array(audio.samples.floats()[0..<audio.frames])
      if pad {
        let target = 480_000
        samples =
          samples.count >= target
          ? Array(samples[0..<target]) : samples + [Float](repeating: 0, count: target - samples.count)
      }
      context.emit(
        "out", .tensor(try context.named { try whisperLogMel(samples16k: samples, melCount: mels) }))
    }
  })
