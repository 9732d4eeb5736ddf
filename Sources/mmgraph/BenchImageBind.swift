import Foundation
import MMCore
import MMModels
import MMWeights

extension BenchCommand {
  /// `mmgraph bench imagebind-audio --weights FILE [--input clips.npy] [--out unit.npy]`: the
  /// audio encoder of a converted ImageBind checkpoint (its .json configuration beside it) on
  /// spectrogram clips [clips, 1, 128, 204] (`--input`, or 3 seeded random clips), weights loaded
  /// and the encoder built once before timing — the forward call alone, as PyTorch's
  /// `model({"audio": clips})` is timed. `--out` saves the unit embedding to compare outputs.
  static func benchImageBindAudio(_ args: Arguments, minTime: Double) throws {
    guard let weights = args.string("weights") else {
      throw UsageError("bench imagebind-audio needs --weights FILE (a converted ImageBind .safetensors)")
    }
    let encoder: ImageBindEncoder
    do { encoder = try ImageBindCheckpoint.shared(weights).audio() } catch {
      throw UsageError("cannot load \(weights): \(error)")
    }
    let clips: Tensor
    if let input = args.string("input") {
      clips = try NPY.read(contentsOf: input)
    } else {
      var random = SeededRandom(seed: 0xA0D1)
      clips = Tensor(random.uniform(3 * 128 * 204, -1, 1), shape: [3, 1, 128, 204])
    }
    let batch = try clips.contiguous().reshaped([1] + clips.shape)
    var output: Tensor?
    var failure: Error?
    let timing = measure(minTime: minTime) {
      do { output = try encoder.embedClips(batch) } catch { failure = error }
    }
    if let failure { throw UsageError("imagebind-audio failed: \(failure)") }
    if let out = args.string("out"), let output { try NPY.write(output.unitRows(), to: out) }
    let threads = ThreadPool.shared.threadCount
    if args.flag("json") {
      let fields: [String: JSONScalar] = [
        "op": .string("imagebind-audio"), "weights": .string(weights), "threads": .int(threads),
        "clips": .int(clips.shape.first ?? 0), "ms": .double(timing.best * 1e3),
        "ms_median": .double(timing.median * 1e3), "runs": .int(timing.runs),
        "cpu_ms_per_run": .double(timing.cpuPerRun * 1e3),
      ]
      print("{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!.json)" }.joined(separator: ", ") + "}")
    } else {
      print(
        String(
          format: "imagebind-audio %d clips, %d threads: %.1f ms (median %.1f ms, %d runs)",
          clips.shape.first ?? 0, threads, timing.best * 1e3, timing.median * 1e3, timing.runs))
    }
  }
}
