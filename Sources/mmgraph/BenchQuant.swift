import MMCore
import MMKernels

extension BenchCommand {
  /// A quantized Linear layer: Y[m, n] = X[m, k]·Wᵀ with W[n, k] in `--format` (q4_0, q4_1,
  /// q8_0, q4_k, q5_k, q6_k, q8_k, f16, bf16, f32) by `quantizedGEMM`: m == 1 is the decoding
  /// GEMV; `--strategy gemv|rows|panels` forces one of the ways to compute m > 1 (else the
  /// automatic choice); `--activations int8` quantizes x to 8 bits for the GEMV rows (integer
  /// dot products on Q4_0/Q4_1/Q8_0). Reports GB/s of W read per call besides GFLOP/s.
  static func benchQuant(_ args: Arguments, minTime: Double) throws -> BenchResult {
    let m = try args.int("m", default: 1)!
    let k = try args.int("k", default: 4096)!
    let n = try args.int("n", default: 4096)!
    let formatName = args.string("format") ?? "q4_0"
    guard let format = QuantFormat(name: formatName) else {
      let known = QuantFormat.allCases.map { $0.name.lowercased() }.joined(separator: ", ")
      throw UsageError("--format expects one of \(known), found '\(formatName)'")
    }
    guard k % format.blockLength == 0 else {
      throw UsageError("--k \(k) must be a multiple of \(format.name)'s block of \(format.blockLength)")
    }
    let strategyName = args.string("strategy") ?? "automatic"
    let strategies: [String: QuantizedGEMMStrategy] = [
      "automatic": .automatic, "gemv": .vectorPerRow, "rows": .dequantizedRows, "panels": .dequantizedPanels,
    ]
    guard let strategy = strategies[strategyName] else {
      throw UsageError("--strategy expects automatic, gemv, rows or panels, found '\(strategyName)'")
    }
    let activationsName = args.string("activations") ?? "f32"
    let activationChoices: [String: QuantizedActivations] = ["f32": .float32, "int8": .int8]
    guard let activations = activationChoices[activationsName] else {
      throw UsageError("--activations expects f32 or int8, found '\(activationsName)'")
    }
    try requireMemory([m, k], [n, k], [m, n])
    let rowBytes = format.rowByteCount(k)
    // Weights: uniform [-1, 1) values quantized where MMKernels has the quantizer; K-quants get
    // random blocks with small f16 scales (the speed does not depend on the values).
    var rng = SeededRandom(seed: 2)
    let weights = TensorStorage(byteCount: n * rowBytes)
    switch format {
    case .q4_K, .q5_K, .q6_K:
      let bytes = weights.bytes.assumingMemoryBound(to: UInt8.self)
      for i in 0..<n * rowBytes { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
      for block in 0..<n * k / 256 {
        let d = Float16(rng.nextFloat() * 0.01).bitPattern
        let offset = block * format.blockByteCount + (format == .q6_K ? 208 : 0)
        weights.bytes.storeBytes(of: d, toByteOffset: offset, as: UInt16.self)
      }
    default:
      let row = randomFloats(k, seed: 3)
      for r in 0..<n {
        quantizeRow(format, row, count: k, into: weights.bytes + r * rowBytes)
      }
    }
    let w = QuantizedMatrix(format: format, rows: n, columns: k, base: weights.bytes)
    let x = randomFloats(m * k, seed: 1)
    var y = [Float](repeating: 0, count: m * n)
    let timing = x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in
        measure(minTime: minTime) {
          quantizedGEMM(
            m: m, x: xp.baseAddress!, ldx: k, w: w, y: yp.baseAddress!, ldy: n, strategy: strategy,
            activations: activations)
        }
      }
    }
    let bytes = Double(n * rowBytes)
    return BenchResult(
      op: "quant", timing: timing, flops: 2 * Double(m) * Double(n) * Double(k),
      fields: [
        "format": .string(format.name), "m": .int(m), "k": .int(k), "n": .int(n),
        "strategy": .string(strategyName), "activations": .string(activationsName),
        "weight_mib": .double(bytes / 1_048_576),
        "weight_gb_per_s": .double(bytes / timing.best / 1e9),
      ])
  }
}
