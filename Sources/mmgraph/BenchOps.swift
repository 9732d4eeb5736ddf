import MMCore
import MMKernels

extension BenchCommand {
  /// conv2d on [batch, cin, size, size] with a [cout, cin, kernel, kernel] weight (PyTorch layout).
  static func benchConv2d(_ args: Arguments, minTime: Double) throws -> BenchResult {
    let batch = try args.int("batch", default: 1)!
    let cin = try args.int("cin", default: 64)!
    let cout = try args.int("cout", default: 64)!
    let size = try args.int("size", default: 56)!
    let kernel = try args.int("kernel", default: 3)!
    let stride = try args.int("stride", default: 1)!
    let padding = try args.int("padding", default: 1, range: 0...Int.max)!
    try requireMemory([batch, cin, size, size], [cout, cin, kernel, kernel], [batch, cout, size, size])
    let input = Tensor(randomFloats(batch * cin * size * size, seed: 1), shape: [batch, cin, size, size])
    let weight = Tensor(
      randomFloats(cout * cin * kernel * kernel, seed: 2), shape: [cout, cin, kernel, kernel])
    var output = try conv2d(input, weight: weight, stride: [stride], padding: .symmetric([padding]))
    let timing = measure(minTime: minTime) {
      output = try! conv2d(input, weight: weight, stride: [stride], padding: .symmetric([padding]))
    }
    let positions = Double(output.count / cout)
    let flops = 2 * positions * Double(cout) * Double(cin * kernel * kernel)
    return BenchResult(
      op: "conv2d", timing: timing, flops: flops,
      fields: [
        "batch": .int(batch), "cin": .int(cin), "cout": .int(cout), "size": .int(size),
        "kernel": .int(kernel), "stride": .int(stride), "padding": .int(padding),
      ])
  }

  /// Self-attention over `seq` tokens: q [heads, L, d], k/v [kvHeads, L, d]. FLOPs count the
  /// two products (QKᵀ and PV) over the (causally visible) key positions.
  static func benchAttention(_ args: Arguments, minTime: Double) throws -> BenchResult {
    let heads = try args.int("heads", default: 16)!
    let kvHeads = try args.int("kv-heads", default: heads)!
    let length = try args.int("seq", default: 1024)!
    let headDim = try args.int("head-dim", default: 64)!
    let causal = args.flag("causal")
    guard heads % kvHeads == 0 else {
      throw UsageError("--heads \(heads) must be a multiple of --kv-heads \(kvHeads)")
    }
    try requireMemory([heads, length, headDim], [3, kvHeads, length, headDim])
    let q = randomFloats(heads * length * headDim, seed: 1)
    let k = randomFloats(kvHeads * length * headDim, seed: 2)
    let v = randomFloats(kvHeads * length * headDim, seed: 3)
    var out = [Float](repeating: 0, count: heads * length * headDim)
    let timing = q.withUnsafeBufferPointer { qp in
      k.withUnsafeBufferPointer { kp in
        v.withUnsafeBufferPointer { vp in
          out.withUnsafeMutableBufferPointer { op in
            measure(minTime: minTime) {
              scaledDotProductAttention(
                q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, out: op.baseAddress!,
                heads: heads, kvHeads: kvHeads, queryLength: length, keyLength: length,
                headDim: headDim, causal: causal)
            }
          }
        }
      }
    }
    let pairs = causal ? Double(length) * Double(length + 1) / 2 : Double(length) * Double(length)
    return BenchResult(
      op: "attention", timing: timing, flops: 4 * Double(heads) * pairs * Double(headDim),
      fields: [
        "heads": .int(heads), "kv_heads": .int(kvHeads), "seq": .int(length),
        "head_dim": .int(headDim), "causal": .bool(causal),
      ])
  }
}
