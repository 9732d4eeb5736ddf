import Foundation
import MMCore
import MMKernels

/// `mmgraph bench KERNEL …`: times one kernel on random data and prints GFLOP/s.
enum BenchCommand {
  static let help = """
    USAGE: mmgraph bench <gemm|gemv|quant|attention|conv2d|scheduler|llm|whisper|clip-vision|
                         imagebind-audio> [options]

    Times a kernel on seeded random data (warm-up, then repeats for at least --min-time seconds)
    and reports the best and median times. GFLOP/s are computed from the best time.

    OPTIONS (gemm, gemv):
      --m M --k K --n N     C[M×N] = A[M×K]·B[K×N] (gemv: M is 1)
      --dtype f32|f16|bf16  dtype of B (default f32)
      --trans-b             B stored as [N×K] (a Linear weight)
    OPTIONS (quant):
      --m M --k K --n N     Y[M×N] = X[M×K]·Wᵀ, W [N×K] quantized (default M 1: the GEMV)
      --format F            q4_0 (default), q4_1, q8_0, q4_k, q5_k, q6_k, q8_k, f16, bf16, f32
      --strategy S          automatic (default); gemv (one per row of X), rows (W rows
                            dequantized once), panels (W panels for the GEMM micro-kernel)
      --activations A       f32 (default) or int8: x quantized to 8 bits per 32 for the GEMV
                            (integer dot products on q4_0, q4_1, q8_0)
    OPTIONS (attention):
      --heads H --kv-heads G --seq L --head-dim D [--causal]
    OPTIONS (conv2d):
      --batch B --cin C --cout O --size S --kernel K --stride S --padding P
    OPTIONS (llm):
      --model PATH          a GGUF LLaMA model (e.g. SmolLM2-135M-Instruct.Q4_1.gguf)
      --prompt P            prompt tokens processed in one step (default 128; llama-bench pp)
      --generate G          tokens decoded one at a time (default 64; llama-bench tg)
      --repetitions R       repeats of each, cache reset in between (default 3)
      --activations A       f32 (default: exact decoding) or int8 (8-bit activations on
                            Q4_0/Q4_1/Q8_0 weights with integer dot products, as llama.cpp)
    OPTIONS (whisper):
      --model DIR           a Whisper folder (model.bin or model.safetensors, tokenizer.json)
      --audio FILE          speech to transcribe (first 30 s; any rate, any channels)
      --repetitions R       timed runs after one warm-up (default 3)
    OPTIONS (clip-vision):
      --model DIR           a Hugging Face CLIP checkpoint folder (its vision tower is timed)
      --batch B             images per call (default 1)
    OPTIONS (imagebind-audio):
      --weights FILE        a converted ImageBind .safetensors (its .json configuration beside it)
      --input FILE          spectrogram clips .npy [clips, 1, 128, 204] (default 3 random clips)
      --out FILE            save the unit embedding (.npy) to compare with another run
    OPTIONS (scheduler):
      --nodes N             length of the trivial-node chain (default 2000)
      --depth D --n N       two branches of D GEMMs of N³ each, 1 thread vs --threads
    COMMON:
      --threads T           worker threads (default: MMGRAPH_THREADS or the cores)
      --min-time SECONDS    measure for at least this long (default 1)
      --json                print one JSON object instead of text

    """

  static func run(_ arguments: [String]) throws {
    if arguments.first == nil || arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let kernel = arguments[0]
    let args = try Arguments(
      Array(arguments.dropFirst()),
      valueOptions: [
        "m", "k", "n", "dtype", "threads", "min-time", "heads", "kv-heads", "seq", "head-dim",
        "batch", "cin", "cout", "size", "kernel", "stride", "padding", "nodes", "depth", "format",
        "strategy", "model", "prompt", "generate", "repetitions", "audio", "activations", "weights", "input",
        "out",
      ],
      flagOptions: ["json", "trans-b", "causal"])
    if let threads = try args.int("threads") { ThreadPool.configureShared(threads: threads) }
    let minTimeText = args.string("min-time") ?? "1"
    guard let minTime = Double(minTimeText), minTime >= 0, minTime <= 3600 else {
      throw UsageError("--min-time expects seconds between 0 and 3600, found '\(minTimeText)'")
    }
    if kernel == "llm" {
      try benchLLM(args)
      return
    }
    if kernel == "whisper" {
      try benchWhisper(args)
      return
    }
    if kernel == "clip-vision" {
      try benchCLIPVision(args, minTime: minTime)
      return
    }
    if kernel == "imagebind-audio" {
      try benchImageBindAudio(args, minTime: minTime)
      return
    }
    if kernel == "scheduler" {
      try benchScheduler(args)
      return
    }
    var result: BenchResult
    switch kernel {
    case "gemm", "gemv":
      result = try benchGEMM(args, forceGEMV: kernel == "gemv", minTime: minTime)
    case "quant":
      result = try benchQuant(args, minTime: minTime)
    case "attention":
      result = try benchAttention(args, minTime: minTime)
    case "conv2d":
      result = try benchConv2d(args, minTime: minTime)
    default:
      throw UsageError(
        "unknown kernel '\(kernel)': expected gemm, gemv, quant, attention, conv2d, scheduler, llm, whisper, clip-vision or imagebind-audio"
      )
    }
    result.fields["threads"] = .int(ThreadPool.shared.threadCount)
    print(args.flag("json") ? result.json : result.text)
  }

  static func benchGEMM(_ args: Arguments, forceGEMV: Bool, minTime: Double) throws -> BenchResult {
    let m = forceGEMV ? 1 : try args.int("m", default: 1024)!
    let k = try args.int("k", default: 1024)!
    let n = try args.int("n", default: 1024)!
    let dtypeName = args.string("dtype") ?? "f32"
    guard let dtype = [DType.f32, .f16, .bf16].first(where: { $0.name == dtypeName }) else {
      throw UsageError("--dtype expects f32, f16 or bf16, found '\(dtypeName)'")
    }
    let transB = args.flag("trans-b")
    try requireMemory([m, k], [k, n], [m, n])
    let a = Tensor(randomFloats(m * k, seed: 1), shape: [m, k])
    let b = Tensor(randomFloats(k * n, seed: 2), shape: transB ? [n, k] : [k, n]).converted(to: dtype)
    let c = Tensor(zeros: [m, n])
    let aOperand = MatrixOperand(UnsafePointer(a.pointer(Float.self)), ld: k)
    let bOperand = MatrixOperand(raw: b.baseAddress, dtype: dtype, ld: transB ? k : n, transposed: transB)
    let timing = measure(minTime: minTime) {
      gemm(m: m, n: n, k: k, a: aOperand, b: bOperand, c: c.pointer(Float.self), ldc: n)
    }
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    return BenchResult(
      op: forceGEMV ? "gemv" : "gemm", timing: timing, flops: flops,
      fields: [
        "m": .int(m), "k": .int(k), "n": .int(n), "dtype": .string(dtype.name),
        "trans_b": .bool(transB),
      ])
  }

  /// Refuses sizes whose operands would not fit comfortably in memory (8 GiB in all).
  static func requireMemory(_ shapes: [Int]...) throws {
    var total = 0
    for shape in shapes {
      let count = checkedElementCount(shape) ?? Int.max
      let (sum, overflow) = total.addingReportingOverflow(count)
      guard !overflow, sum <= (8 << 30) / 4 else {
        throw UsageError("these sizes need more than 8 GiB of operands; choose smaller ones")
      }
      total = sum
    }
  }

  static func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return rng.uniform(count)
  }
}
