import Foundation
import MMCore
import MMModels

extension BenchCommand {
  /// `mmgraph bench clip-vision --model DIR [--batch 1] [--min-time 1]`: the image tower of a
  /// Hugging Face CLIP checkpoint (`CLIPVisionModelWithProjection` or `CLIPModel`: patch stem,
  /// encoder, post_layernorm, visual_projection) on seeded random pixels [batch, 3, size, size].
  /// One warm-up call, then calls for at least --min-time seconds (3 at least); the best and
  /// median milliseconds per call, and GFLOP/s from the best (2·MACs of the GEMMs and attention).
  static func benchCLIPVision(_ args: Arguments, minTime: Double) throws {
    guard let path = args.string("model") else {
      throw UsageError("bench clip-vision needs --model DIR (a Hugging Face CLIP checkpoint folder)")
    }
    let batch = try args.int("batch", default: 1)!
    guard batch >= 1 && batch <= 1024 else { throw UsageError("--batch expects 1…1024, found \(batch)") }
    let model: CLIPModel
    do { model = try CLIPModel(directory: path) } catch { throw UsageError("cannot load \(path): \(error)") }
    guard model.vision != nil else { throw UsageError("\(path) has no vision tower (vision_model.*)") }
    let v = model.configuration.vision
    let size = v.imageSize
    var random = SeededRandom(seed: 0xC11F)
    let pixels = Tensor(
      random.uniform(batch * v.channelCount * size * size, -2, 2), shape: [batch, v.channelCount, size, size])
    var failure: Error?
    let timing = measure(minTime: minTime) {
      do { _ = try model.imageEmbeddings(pixels) } catch { failure = error }
    }
    if let failure { throw UsageError("clip-vision failed: \(failure)") }
    let (d, m, t) = (Double(v.tower.hiddenSize), Double(v.tower.intermediateSize), Double(v.patchCount + 1))
    let patchColumns = Double(v.channelCount * v.patchSize * v.patchSize)
    let perLayer = 2 * t * d * (4 * d + 2 * m) + 4 * t * t * d
    let flops =
      Double(batch)
      * (2 * Double(v.patchCount) * patchColumns * d + Double(v.tower.layerCount) * perLayer
        + 2 * d * Double(model.configuration.projectionDim))
    let threads = ThreadPool.shared.threadCount
    if args.flag("json") {
      let fields: [String: JSONScalar] = [
        "op": .string("clip-vision"), "model": .string(path), "threads": .int(threads), "batch": .int(batch),
        "ms": .double(timing.best * 1e3), "ms_median": .double(timing.median * 1e3),
        "runs": .int(timing.runs),
        "gflops": .double(flops / timing.best / 1e9), "cpu_ms_per_run": .double(timing.cpuPerRun * 1e3),
      ]
      print("{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!.json)" }.joined(separator: ", ") + "}")
    } else {
      print(
        String(
          format: "clip-vision %@ batch %d, %d threads: %.1f ms (median %.1f ms, %d runs), %.1f GFLOP/s",
          (path as NSString).lastPathComponent, batch, threads, timing.best * 1e3, timing.median * 1e3,
          timing.runs, flops / timing.best / 1e9))
    }
  }
}
