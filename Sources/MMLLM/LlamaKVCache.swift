import MMCore
import MMKernels

/// Keys and values of every cached position, preallocated: f32 [layers, kvHeads, maxSequence,
/// headDim] each, so one layer's keys are a head-major `[kvHeads, L, headDim]` block that the
/// attention kernel reads in place (row stride headDim, head stride maxSequence·headDim).
final class LlamaKVCache {
  let layers: Int
  let kvHeads: Int
  let maxSequenceLength: Int
  let headDim: Int
  private let keyStorage: UnsafeMutablePointer<Float>
  private let valueStorage: UnsafeMutablePointer<Float>

  init(layers: Int, kvHeads: Int, maxSequenceLength: Int, headDim: Int) {
    self.layers = layers
    self.kvHeads = kvHeads
    self.maxSequenceLength = maxSequenceLength
    self.headDim = headDim
    let count = layers * kvHeads * maxSequenceLength * headDim
    keyStorage = .allocate(capacity: count)
    valueStorage = .allocate(capacity: count)
    // Untouched positions are never read (attention sees keys < position + rows), but zeroed
    // memory keeps a bug from reading garbage silently.
    keyStorage.initialize(repeating: 0, count: count)
    valueStorage.initialize(repeating: 0, count: count)
  }

  deinit {
    keyStorage.deallocate()
    valueStorage.deallocate()
  }

  var layerStride: Int { kvHeads * maxSequenceLength * headDim }
  /// How the attention kernel walks one layer's keys or values.
  var layout: AttentionLayout { .headMajor(length: maxSequenceLength, headDim: headDim) }

  func keys(layer: Int) -> UnsafePointer<Float> { UnsafePointer(keyStorage + layer * layerStride) }
  func values(layer: Int) -> UnsafePointer<Float> { UnsafePointer(valueStorage + layer * layerStride) }

  /// Stores keys and values of `rows` positions starting at `start`; keys, values:
  /// [rows, kvHeads, headDim] (the projections' token-major output).
  func append(
    layer: Int, at start: Int, rows: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>
  ) {
    precondition(start >= 0 && start + rows <= maxSequenceLength, "KV cache: positions past the end")
    let base = layer * layerStride
    for t in 0..<rows {
      for h in 0..<kvHeads {
        let source = (t * kvHeads + h) * headDim
        let destination = base + (h * maxSequenceLength + start + t) * headDim
        (keyStorage + destination).update(from: keys + source, count: headDim)
        (valueStorage + destination).update(from: values + source, count: headDim)
      }
    }
  }
}

/// Activations of one prompt chunk, allocated once for `rows` positions.
final class LlamaScratch {
  let h, q, k, v, attention, gate, up: UnsafeMutablePointer<Float>

  init(configuration c: LlamaConfiguration, rows: Int) {
    func buffer(_ width: Int) -> UnsafeMutablePointer<Float> {
      let pointer = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
      pointer.initialize(repeating: 0, count: rows * width)
      return pointer
    }
    h = buffer(c.hiddenSize)
    q = buffer(c.headCount * c.headDim)
    k = buffer(c.kvHeadCount * c.headDim)
    v = buffer(c.kvHeadCount * c.headDim)
    attention = buffer(c.headCount * c.headDim)
    gate = buffer(c.intermediateSize)
    up = buffer(c.intermediateSize)
  }

  deinit {
    for pointer in [h, q, k, v, attention, gate, up] { pointer.deallocate() }
  }
}
