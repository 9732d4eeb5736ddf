import Foundation
import MMCore
import MMLLM

extension BenchCommand {
  /// `mmgraph bench llm --model PATH.gguf [--prompt 128] [--generate 64] [--repetitions 3]`:
  /// llama-bench's pp/tg tests on a GGUF LLaMA model. Prompt: `--prompt` tokens in one
  /// `forward` from an empty cache. Generation: `--generate` one-token `forward` calls from an
  /// empty cache, each feeding the previous argmax. Each is repeated (cache reset in between)
  /// after one short warm-up; tokens per second from the best and the median repetition.
  /// `--activations int8` decodes with 8-bit activations (`LlamaModel.decodeActivations`,
  /// llama.cpp's scheme) instead of the default f32 ones.
  static func benchLLM(_ args: Arguments) throws {
    guard let path = args.string("model") else { throw UsageError("bench llm needs --model PATH.gguf") }
    let promptLength = try args.int("prompt", default: 128)!
    let generate = try args.int("generate", default: 64)!
    let repetitions = try args.int("repetitions", default: 3)!
    guard promptLength >= 0, generate >= 0, promptLength + generate > 0, repetitions > 0 else {
      throw UsageError("bench llm expects --prompt, --generate ≥ 0 (not both 0) and --repetitions > 0")
    }
    let model: LlamaModel
    do {
      model = try LlamaModel(
        gguf: path, maxSequenceLength: max(promptLength, generate, 8),
        promptChunk: max(1, min(promptLength, 512)))
    } catch {
      throw UsageError("cannot load \(path): \(error)")
    }
    switch args.string("activations") ?? "f32" {
    case "int8": model.decodeActivations = .int8
    case "f32": model.decodeActivations = .float32
    case let other: throw UsageError("--activations expects int8 or f32, found '\(other)'")
    }
    let vocab = model.configuration.vocabSize
    let prompt = (0..<promptLength).map { Int32(($0 * 7919 + 1) % vocab) }
    _ = try model.forward([.tokens([1, 2, 3, 4])])  // warm-up: page in the weights
    model.reset()
    var promptTimes: [Double] = []
    var generateTimes: [Double] = []
    for _ in 0..<repetitions {
      if promptLength > 0 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try model.forward([.tokens(prompt)])
        promptTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        model.reset()
      }
      if generate > 0 {
        var token: Int32 = 1
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<generate {
          let logits = try model.forward([.tokens([token])])
          token = Int32(argmaxIndex(logits.pointer(Float.self), count: vocab))
        }
        generateTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        model.reset()
      }
    }
    func rates(_ times: [Double], _ tokens: Int) -> (best: Double, median: Double) {
      guard !times.isEmpty else { return (0, 0) }
      let sorted = times.sorted()
      return (Double(tokens) / sorted[0], Double(tokens) / sorted[sorted.count / 2])
    }
    let pp = rates(promptTimes, promptLength)
    let tg = rates(generateTimes, generate)
    let threads = ThreadPool.shared.threadCount
    if args.flag("json") {
      let fields: [String: JSONScalar] = [
        "op": .string("llm"), "model": .string(path), "threads": .int(threads),
        "prompt": .int(promptLength), "generate": .int(generate), "repetitions": .int(repetitions),
        "activations": .string(model.decodeActivations == .int8 ? "int8" : "f32"),
        "prompt_tok_per_s": .double(pp.best), "prompt_tok_per_s_median": .double(pp.median),
        "generate_tok_per_s": .double(tg.best), "generate_tok_per_s_median": .double(tg.median),
      ]
      print("{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!.json)" }.joined(separator: ", ") + "}")
    } else {
      print(
        String(
          format: "llm %@, %d threads: pp%d %.1f tok/s (median %.1f), tg%d %.1f tok/s (median %.1f), %d reps",
          (path as NSString).lastPathComponent, threads, promptLength, pp.best, pp.median, generate, tg.best,
          tg.median, repetitions))
    }
  }

  /// The first index of the largest value.
  static func argmaxIndex(_ values: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for i in 1..<max(count, 1) where values[i] > values[best] { best = i }
    return best
  }
}
