import Foundation
import MMCore
import MMMediaIO
import MMModels

extension BenchCommand {
  /// `mmgraph bench whisper --model DIR --audio FILE [--repetitions 3]`: times speech
  /// recognition of one file end to end — log-mel of the 16 kHz mono audio padded to 30 s, the
  /// encoder, greedy decoding — after one warm-up run, and reports the real-time factor
  /// (processing time / audio duration; < 1 is faster than real time) of the best and median
  /// repetitions, with the split between front end, encoder and decoder of the best one.
  static func benchWhisper(_ args: Arguments) throws {
    guard let folder = args.string("model"), let audioPath = args.string("audio") else {
      throw UsageError("bench whisper needs --model DIR (model.bin or model.safetensors) and --audio FILE")
    }
    let repetitions = try args.int("repetitions", default: 3)!
    guard repetitions > 0 else { throw UsageError("bench whisper expects --repetitions > 0") }
    let transcriber: WhisperTranscriber
    do { transcriber = try WhisperTranscriber(directory: folder) } catch {
      throw UsageError("cannot load \(folder): \(error)")
    }
    let (samples, rate) = try AudioFile.read(contentsOf: audioPath)
    let mono = samples.shape[0] == 1 ? samples.floats() : try AudioFile.mixDown(samples).floats()
    let audio16k = try resample(mono, from: rate, to: 16000)
    let duration = Double(min(audio16k.count, 480_000)) / 16000
    let melBins = transcriber.model.configuration.melBins

    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    /// (front end, encoder, decoder) seconds and the transcript of one run.
    func once() throws -> ([Double], WhisperTranscript) {
      let t0 = now()
      let features = try whisperLogMel(samples16k: WhisperTranscriber.padOrTrim(audio16k), melCount: melBins)
      let t1 = now()
      let encoded = try transcriber.model.encode(features)
      let t2 = now()
      let tokens = try transcriber.greedy(encoderOutput: encoded)
      let t3 = now()
      let text = try transcriber.tokenizer.decode(tokens, skipSpecialTokens: true)
      return ([t1 - t0, t2 - t1, t3 - t2], WhisperTranscript(text: text, tokens: tokens))
    }
    _ = try once()  // warm-up: page in the weights
    var runs: [([Double], WhisperTranscript)] = []
    for _ in 0..<repetitions { runs.append(try once()) }
    runs.sort { $0.0.reduce(0, +) < $1.0.reduce(0, +) }
    let best = runs[0]
    let bestTotal = best.0.reduce(0, +)
    let medianTotal = runs[runs.count / 2].0.reduce(0, +)
    let threads = ThreadPool.shared.threadCount
    let transcript = best.1
    if args.flag("json") {
      // JSONValue escapes the transcript (control characters included) as JSON requires.
      let fields: [(String, JSONValue)] = [
        ("op", .string("whisper")), ("model", .string(folder)), ("audio", .string(audioPath)),
        ("threads", JSONValue(threads)), ("audio_s", JSONValue(duration)),
        ("repetitions", JSONValue(repetitions)),
        ("seconds", JSONValue(bestTotal)), ("seconds_median", JSONValue(medianTotal)),
        ("rtf", JSONValue(bestTotal / duration)), ("rtf_median", JSONValue(medianTotal / duration)),
        ("frontend_s", JSONValue(best.0[0])), ("encoder_s", JSONValue(best.0[1])),
        ("decoder_s", JSONValue(best.0[2])), ("tokens", JSONValue(transcript.tokens.count)),
        ("text", .string(transcript.text)),
      ]
      print(JSONValue.object(fields.map { JSONMember($0.0, $0.1) }).encoded())
    } else {
      print(
        String(
          format:
            "whisper %@ on %@ (%.2f s), %d threads: %.3f s, RTF %.3f (median %.3f); front end %.3f s, encoder %.3f s, decoder %.3f s (%d tokens), %d reps",
          (folder as NSString).lastPathComponent, (audioPath as NSString).lastPathComponent, duration,
          threads,
          bestTotal, bestTotal / duration, medianTotal / duration, best.0[0], best.0[1], best.0[2],
          transcript.tokens.count, repetitions))
      print("transcript: \(transcript.text)")
    }
  }
}
