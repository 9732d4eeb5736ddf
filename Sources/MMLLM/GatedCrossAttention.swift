import Foundation
import MMCore
import MMKernels
import MMWeights

/// What an Idefics (`IdeficsForVisionText2Text`) checkpoint adds to its LLaMA decoder, read
/// from the top level of its config.json (`model_type` "idefics").
public struct IdeficsDecoderConfiguration: Sendable, Equatable {
  /// `cross_layer_interval`: gated cross-attention layer k runs before decoder layer
  /// k·interval; there are `num_hidden_layers / interval` of them.
  public var crossLayerInterval: Int
  /// `qk_layer_norms`: RMSNorm over each head of the cross-attention's q and k.
  public var qkLayerNorms: Bool
  /// `alpha_type` "vector" ([hidden] gates) or "float" (one gate each).
  public var vectorGates: Bool
  /// `vision_config.embed_dim`: the width of the image embeddings the keys and values read.
  public var imageWidth: Int
  /// `vocab_size`: rows of `model.embed_tokens.weight` and `lm_head.weight`.
  public var textVocabSize: Int
  /// `additional_vocab_size`: rows of `model.embed_tokens.additional_embedding.weight` and
  /// `lm_head.additional_fc.weight`, ids `vocab_size…` (Idefics' `<fake_token_around_image>`
  /// and `<image>`).
  public var additionalVocabSize: Int
  /// The `<image>` id (tokenizer.json's added token), nil when the directory has no tokenizer.
  public var imageTokenID: Int32?
  /// `eos_token_id`: HF's processor stops a text position from seeing images after it until
  /// the next `<image>` (`image_attention_mask_for_packed_input_ids`).
  public var eosTokenID: Int32?

  public init(
    crossLayerInterval: Int, qkLayerNorms: Bool, vectorGates: Bool, imageWidth: Int, textVocabSize: Int,
    additionalVocabSize: Int, imageTokenID: Int32?, eosTokenID: Int32?
  ) {
    self.crossLayerInterval = crossLayerInterval
    self.qkLayerNorms = qkLayerNorms
    self.vectorGates = vectorGates
    self.imageWidth = imageWidth
    self.textVocabSize = textVocabSize
    self.additionalVocabSize = additionalVocabSize
    self.imageTokenID = imageTokenID
    self.eosTokenID = eosTokenID
  }

  /// Reads the Idefics keys of config.json's top level (`source` names the file in errors) and
  /// the `<image>` id from `tokenizerJSON` (the parsed tokenizer.json, when present).
  init(config: JSONValue, tokenizerJSON: JSONValue?, source: String) throws(LlamaError) {
    func fail(_ problem: String) -> LlamaError { .configuration(source: source, problem: problem) }
    func int(_ node: JSONValue?, _ key: String, default fallback: Int?) throws(LlamaError) -> Int {
      guard let value = node?[key], value != .null else {
        if let fallback { return fallback }
        throw fail("missing key '\(key)'")
      }
      guard let int = value.int else { throw fail("'\(key)' is \(value.typeName), expected an integer") }
      return int
    }
    let interval = try int(config, "cross_layer_interval", default: 1)
    guard interval > 0 else { throw fail("'cross_layer_interval' is \(interval), expected > 0") }
    let alphaType = config["alpha_type"]?.string ?? "float"
    guard alphaType == "float" || alphaType == "vector" else {
      throw fail("'alpha_type' is \"\(alphaType)\", expected \"float\" or \"vector\"")
    }
    guard let vision = config["vision_config"], vision.members != nil else {
      throw fail("missing object 'vision_config' (its embed_dim is the width of the cross-attention keys)")
    }
    let width = try int(vision, "embed_dim", default: 768)
    let additional = try int(config, "additional_vocab_size", default: 0)
    guard width > 0, additional >= 0 else {
      throw fail(
        "'vision_config.embed_dim' \(width) must be > 0 and 'additional_vocab_size' \(additional) ≥ 0")
    }
    var imageToken: Int32?
    for token in tokenizerJSON?["added_tokens"]?.elements ?? [] where token["content"]?.string == "<image>" {
      imageToken = token["id"]?.int.map { Int32(truncatingIfNeeded: $0) }
    }
    let eos = config["eos_token_id"]?.int ?? config["eos_token_id"]?.elements?.first?.int
    self.init(
      crossLayerInterval: interval, qkLayerNorms: config["qk_layer_norms"]?.bool ?? false,
      vectorGates: alphaType == "vector", imageWidth: width,
      textVocabSize: try int(config, "vocab_size", default: nil), additionalVocabSize: additional,
      imageTokenID: imageToken, eosTokenID: eos.map { Int32(truncatingIfNeeded: $0) })
  }
}

/// One `IdeficsGatedCrossAttentionLayer` (`model.gated_cross_attn_layers.K.…`):
///
///     x += tanh(alpha_cross_attn) · gate(position) · o_proj(attention(q_norm(q_proj(rms(x))),
///                                                     k_norm(k_proj(image)), v_proj(image)))
///     x += tanh(alpha_dense) · down_proj(silu(gate_proj(h)) · up_proj(h)),  h = rms(x)
///
/// No RoPE; q/k norms (`qk_layer_norms`) are RMSNorms over each head's channels. A position's
/// gate is 0 when it sees no image (HF's `cross_attention_gate`); the dense branch always runs.
struct GatedCrossAttentionLayer {
  /// `input_layernorm.weight`, `post_attention_layernorm.weight`: [hidden]
  let inputLayernorm, postAttentionLayernorm: [Float]
  /// `cross_attn.q_proj.weight` [hidden, hidden], `cross_attn.{k,v}_proj.weight` [hidden, image
  /// width], `cross_attn.o_proj.weight` [hidden, hidden]
  let qProj, kProj, vProj, oProj: LlamaLinear
  /// `cross_attn.{q,k}_layer_norm.weight`: [headDim], when `qk_layer_norms`.
  let qNorm, kNorm: [Float]?
  /// `mlp.{gate,up,down}_proj.weight`
  let gateProj, upProj, downProj: LlamaLinear
  /// tanh(`alpha_cross_attn`), tanh(`alpha_dense`): [1] or [hidden].
  let crossGate, denseGate: [Float]
}

/// The gated cross-attention layers of an Idefics decoder and the images they attend to.
///
/// Which image a text position sees follows HF's `IdeficsProcessor` exactly
/// (`image_attention_mask_for_packed_input_ids` + `incremental_to_binary_attention_mask`): the
/// most recent image whose `<image>` token is at or before it (only that one, not every earlier
/// image); none before the first `<image>`, and none after an end-of-sequence token until the
/// next `<image>`. Generated tokens (`forward(…, generated: true)`) keep the last prompt
/// position's image, as `generate` does (`_update_model_kwargs_for_generation`).
final class GatedCrossAttention {
  let configuration: IdeficsDecoderConfiguration
  let layers: [GatedCrossAttentionLayer]
  let hidden: Int
  let heads: Int
  let headDim: Int
  let eps: Float
  /// Per image: keys and values of every layer, [latents, hidden] each (after k_norm).
  private(set) var images: [(latents: Int, keys: [[Float]], values: [[Float]])] = []
  /// The image the next prompt position sees (-1: none) and the HF processor's `seen_eod`.
  private(set) var current = -1
  private var seenEndOfSequence = false
  /// `<image>` tokens met so far: the next one starts image `imageTokensSeen`.
  private(set) var imageTokensSeen = 0
  /// [rows, hidden] for the attention output before the gate.
  private let out: UnsafeMutablePointer<Float>
  private let rows: Int

  init(
    configuration: IdeficsDecoderConfiguration, llama c: LlamaConfiguration, checkpoint: LlamaCheckpoint,
    rows: Int
  ) throws(LlamaError) {
    self.configuration = configuration
    (hidden, heads, headDim, eps) = (c.hiddenSize, c.headCount, c.headDim, c.rmsNormEps)
    self.rows = rows
    let count = c.layerCount / configuration.crossLayerInterval
    let (hidden, width, inner) = (c.hiddenSize, configuration.imageWidth, c.intermediateSize)
    let gateCount = configuration.vectorGates ? hidden : 1
    layers = try (0..<count).map { (k: Int) throws(LlamaError) -> GatedCrossAttentionLayer in
      let p = "model.gated_cross_attn_layers.\(k)."
      func linear(_ name: String, _ rows: Int, _ columns: Int) throws(LlamaError) -> LlamaLinear {
        try checkpoint.linear(p + name + ".weight", rows: rows, columns: columns)
      }
      func gate(_ name: String) throws(LlamaError) -> [Float] {
        let stored = try checkpoint.tensor(p + name)
        guard stored.shape.reduce(1, *) == gateCount, stored.dtype.isFloatingPoint else {
          throw .weights(
            "\(checkpoint.path): tensor '\(p + name)' has shape \(stored.shape), expected \(gateCount) value(s) "
              + "(alpha_type \(configuration.vectorGates ? "vector" : "float"))")
        }
        return stored.floats().map { Foundation.tanh($0) }
      }
      let norms = configuration.qkLayerNorms
      return GatedCrossAttentionLayer(
        inputLayernorm: try checkpoint.vector(p + "input_layernorm.weight", count: hidden),
        postAttentionLayernorm: try checkpoint.vector(p + "post_attention_layernorm.weight", count: hidden),
        qProj: try linear("cross_attn.q_proj", hidden, hidden),
        kProj: try linear("cross_attn.k_proj", hidden, width),
        vProj: try linear("cross_attn.v_proj", hidden, width),
        oProj: try linear("cross_attn.o_proj", hidden, hidden),
        qNorm: norms ? try checkpoint.vector(p + "cross_attn.q_layer_norm.weight", count: c.headDim) : nil,
        kNorm: norms ? try checkpoint.vector(p + "cross_attn.k_layer_norm.weight", count: c.headDim) : nil,
        gateProj: try linear("mlp.gate_proj", inner, hidden),
        upProj: try linear("mlp.up_proj", inner, hidden),
        downProj: try linear("mlp.down_proj", hidden, inner),
        crossGate: try gate("alpha_cross_attn"), denseGate: try gate("alpha_dense"))
    }
    out = .allocate(capacity: rows * hidden)
    out.initialize(repeating: 0, count: rows * hidden)
  }

  deinit { out.deallocate() }

  /// Forgets the images and the position state.
  func reset() {
    images = []
    current = -1
    seenEndOfSequence = false
    imageTokensSeen = 0
  }

  /// Forgets the position state only (a new prompt over the same images).
  func restart() {
    current = -1
    seenEndOfSequence = false
    imageTokensSeen = 0
  }

  /// Projects each image ([latents, imageWidth]) to every layer's keys and values.
  func setImages(_ tensors: [Tensor], pool: ThreadPool) throws(LlamaError) {
    let width = configuration.imageWidth
    for (i, tensor) in tensors.enumerated() {
      guard tensor.rank == 2, tensor.shape[1] == width, tensor.shape[0] > 0, tensor.dtype.isFloatingPoint
      else {
        throw .invalidInput(
          "cross-attention image \(i) must be [latents, \(width)] floats (vision_config.embed_dim), found "
            + "\(tensor.dtype.name) \(tensor.shape)")
      }
    }
    images = tensors.map { tensor in
      let latents = tensor.shape[0]
      let values = tensor.floats()
      var keys: [[Float]] = []
      var vals: [[Float]] = []
      for layer in layers {
        var k = [Float](repeating: 0, count: latents * hidden)
        var v = [Float](repeating: 0, count: latents * hidden)
        values.withUnsafeBufferPointer { x in
          k.withUnsafeMutableBufferPointer {
            layer.kProj.apply(x.baseAddress!, rows: latents, into: $0.baseAddress!, pool: pool)
          }
          v.withUnsafeMutableBufferPointer {
            layer.vProj.apply(x.baseAddress!, rows: latents, into: $0.baseAddress!, pool: pool)
          }
        }
        if let kNorm = layer.kNorm {
          k.withUnsafeMutableBufferPointer {
            rmsNorm(
              $0.baseAddress!, $0.baseAddress!, rows: latents * heads, dim: headDim, weight: kNorm, eps: eps,
              pool: pool)
          }
        }
        keys.append(k)
        vals.append(v)
      }
      return (latents, keys, vals)
    }
  }

  /// The `<image>` tokens among `inputs` (an error when they exceed the images set).
  func checkImageTokens(_ inputs: [LlamaInput]) throws(LlamaError) {
    guard let imageToken = configuration.imageTokenID else { return }
    var count = 0
    for case .tokens(let ids) in inputs { count += ids.reduce(0) { $0 + ($1 == imageToken ? 1 : 0) } }
    if imageTokensSeen + count > images.count {
      throw .invalidInput(
        "the prompt has \(imageTokensSeen + count) <image> token(s) (id \(imageToken)) but \(images.count) "
          + "cross-attention image(s) were given (setCrossAttentionImages)")
    }
  }

  /// The image each new position sees (-1: none), advancing the state over prompt tokens;
  /// `generated` positions keep the current image.
  func imageIndices(_ inputs: [LlamaInput], generated: Bool) -> [Int] {
    var indices: [Int] = []
    for input in inputs {
      switch input {
      case .embeddings(let tensor):
        indices += Array(repeating: seenEndOfSequence ? -1 : current, count: tensor.shape[0])
      case .tokens(let ids):
        for id in ids {
          if generated {
            indices.append(seenEndOfSequence ? -1 : current)
            continue
          }
          if id == configuration.imageTokenID {
            current = imageTokensSeen
            imageTokensSeen += 1
            seenEndOfSequence = false
          }
          indices.append(seenEndOfSequence || current >= images.count ? -1 : current)
          if id == configuration.eosTokenID { seenEndOfSequence = true }
        }
      }
    }
    return indices
  }

  /// Applies layer `index` to x: [n, hidden] in place; `images[r]` is row r's image (-1: none).
  /// Uses `scratch`'s h, q, attention, gate and up buffers (free between decoder layers).
  func apply(
    layer index: Int, _ x: UnsafeMutablePointer<Float>, rows n: Int, images imageOf: ArraySlice<Int>,
    scratch s: LlamaScratch, pool: ThreadPool
  ) {
    let layer = layers[index]
    rmsNorm(x, s.h, rows: n, dim: hidden, weight: layer.inputLayernorm, eps: eps, pool: pool)
    layer.qProj.apply(s.h, rows: n, into: s.q, pool: pool)
    if let qNorm = layer.qNorm {
      rmsNorm(s.q, s.q, rows: n * heads, dim: headDim, weight: qNorm, eps: eps, pool: pool)
    }
    s.attention.update(repeating: 0, count: n * hidden)
    // Runs of rows that see the same image attend to its latents together.
    var start = 0
    let base = imageOf.startIndex
    while start < n {
      var end = start + 1
      while end < n && imageOf[base + end] == imageOf[base + start] { end += 1 }
      let image = imageOf[base + start]
      if image >= 0 {
        let entry = images[image]
        let layout = AttentionLayout.tokenMajor(heads: heads, headDim: headDim)
        entry.keys[index].withUnsafeBufferPointer { k in
          entry.values[index].withUnsafeBufferPointer { v in
            scaledDotProductAttention(
              q: s.q + start * hidden, k: k.baseAddress!, v: v.baseAddress!,
              out: s.attention + start * hidden,
              heads: heads, kvHeads: heads, queryLength: end - start, keyLength: entry.latents,
              headDim: headDim,
              qLayout: layout, kLayout: layout, vLayout: layout, outLayout: layout, pool: pool)
          }
        }
      }
      start = end
    }
    // Rows without an image have a zero attention output, and o_proj has no bias: their
    // update is zero, as HF's masked_fill of the cross-attention gate makes it.
    layer.oProj.apply(s.attention, rows: n, into: out, pool: pool)
    addGated(out, into: x, rows: n, gate: layer.crossGate)
    rmsNorm(x, s.h, rows: n, dim: hidden, weight: layer.postAttentionLayernorm, eps: eps, pool: pool)
    layer.gateProj.apply(s.h, rows: n, into: s.gate, pool: pool)
    layer.upProj.apply(s.h, rows: n, into: s.up, pool: pool)
    swiglu(gate: s.gate, up: s.up, output: s.gate, count: n * layer.gateProj.outputs, pool: pool)
    layer.downProj.apply(s.gate, rows: n, into: out, pool: pool)
    addGated(out, into: x, rows: n, gate: layer.denseGate)
  }

  /// x[r, j] += gate[j or 0] · y[r, j].
  private func addGated(
    _ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, rows n: Int, gate: [Float]
  ) {
    for r in 0..<n {
      for j in 0..<hidden { x[r * hidden + j] += gate[gate.count == 1 ? 0 : j] * y[r * hidden + j] }
    }
  }
}

extension LlamaCheckpoint {
  /// The tensor `name` as stored (any shape).
  func tensor(_ name: String) throws(LlamaError) -> Tensor {
    do {
      switch self {
      case .huggingFace(let store): return try store.tensor(named: name)
      case .gguf(let file): return try file.tensor(named: name)
      }
    } catch {
      throw .weights("\(error)")
    }
  }
}
