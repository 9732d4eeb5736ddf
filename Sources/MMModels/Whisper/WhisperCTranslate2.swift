import Foundation
import MMCore
import MMNN
import MMWeights

/// A CTranslate2 `WhisperSpec` model.bin seen under Hugging Face's key names, so `WhisperModel`
/// has one loader. CTranslate2 fuses self-attention's q/k/v into one `[3·d, d]` matrix and
/// cross-attention's k/v into `[2·d, d]`; their parts are row views of the mapped file (no
/// copy), and the model re-fuses adjacent row views without copying either. k's bias, stored
/// by CTranslate2 as zeros, is hidden as Hugging Face has none.
public final class WhisperCTranslate2Store: WeightStore {
  public let file: CTranslate2File
  /// Hugging Face key → (CTranslate2 variable, rows of it, or all).
  private let table: [String: (source: String, rows: Range<Int>?)]
  public let names: [String]

  /// The one table from Hugging Face names to CTranslate2 `WhisperSpec` variables.
  public init(_ file: CTranslate2File) throws(ModelError) {
    guard file.specName == "WhisperSpec" else {
      throw .weights(
        path: file.path, tensor: "",
        problem: "spec '\(file.specName)', expected 'WhisperSpec' (a Whisper model)")
    }
    self.file = file
    let convShape: [Int]
    do { convShape = try file.shape(of: "encoder/conv1/weight") } catch { throw ModelError(error) }
    guard convShape.count == 3 else {
      throw .weights(
        path: file.path, tensor: "encoder/conv1/weight",
        problem: "shape \(shapeText(convShape)), expected [d_model, mels, 3]")
    }
    let d = convShape[0]
    var table: [String: (String, Range<Int>?)] = [:]
    var order: [String] = []
    func add(_ hf: String, _ ct2: String, rows: Range<Int>? = nil) {
      table[hf] = (ct2, rows)
      order.append(hf)
    }
    func linear(_ hf: String, _ ct2: String, rows: Range<Int>? = nil, bias: Bool = true) {
      add("\(hf).weight", "\(ct2)/weight", rows: rows)
      if bias { add("\(hf).bias", "\(ct2)/bias", rows: rows) }
    }
    func norm(_ hf: String, _ ct2: String) {
      add("\(hf).weight", "\(ct2)/gamma")
      add("\(hf).bias", "\(ct2)/beta")
    }
    let (q, k, v) = (0..<d, d..<2 * d, 2 * d..<3 * d)
    for side in ["encoder", "decoder"] {
      var i = 0
      while file.contains("\(side)/layer_\(i)/ffn/linear_0/weight") {
        let (hf, ct) = ("model.\(side).layers.\(i)", "\(side)/layer_\(i)")
        norm("\(hf).self_attn_layer_norm", "\(ct)/self_attention/layer_norm")
        linear("\(hf).self_attn.q_proj", "\(ct)/self_attention/linear_0", rows: q)
        linear("\(hf).self_attn.k_proj", "\(ct)/self_attention/linear_0", rows: k, bias: false)
        linear("\(hf).self_attn.v_proj", "\(ct)/self_attention/linear_0", rows: v)
        linear("\(hf).self_attn.out_proj", "\(ct)/self_attention/linear_1")
        if side == "decoder" {
          norm("\(hf).encoder_attn_layer_norm", "\(ct)/attention/layer_norm")
          linear("\(hf).encoder_attn.q_proj", "\(ct)/attention/linear_0")
          linear("\(hf).encoder_attn.k_proj", "\(ct)/attention/linear_1", rows: q, bias: false)
          linear("\(hf).encoder_attn.v_proj", "\(ct)/attention/linear_1", rows: k)
          linear("\(hf).encoder_attn.out_proj", "\(ct)/attention/linear_2")
        }
        norm("\(hf).final_layer_norm", "\(ct)/ffn/layer_norm")
        linear("\(hf).fc1", "\(ct)/ffn/linear_0")
        linear("\(hf).fc2", "\(ct)/ffn/linear_1")
        i += 1
      }
      norm("model.\(side).layer_norm", "\(side)/layer_norm")
    }
    linear("model.encoder.conv1", "encoder/conv1")
    linear("model.encoder.conv2", "encoder/conv2")
    add("model.encoder.embed_positions.weight", "encoder/position_encodings/encodings")
    add("model.decoder.embed_positions.weight", "decoder/position_encodings/encodings")
    add("model.decoder.embed_tokens.weight", "decoder/embeddings/weight")
    if file.contains("decoder/projection/weight") { add("proj_out.weight", "decoder/projection/weight") }
    self.table = table
    names = order
  }

  public var path: String { file.path }

  public func contains(_ name: String) -> Bool {
    guard let (source, _) = table[name] else { return false }
    return file.contains(source)
  }

  /// The CTranslate2 variable (and rows) behind a Hugging Face key.
  public func source(of name: String) -> (variable: String, rows: Range<Int>?)? {
    table[name].map { ($0.source, $0.rows) }
  }

  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    let tensor = try tensor(named: name)
    return TensorInfo(dtype: tensor.dtype, shape: tensor.shape)
  }

  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    guard let (source, rows) = table[name] else { throw missingTensorError(name) }
    let whole: Tensor
    do { whole = try file.tensor(named: source) } catch {
      throw WeightFileError(
        path: error.path, tensor: name, kind: error.kind,
        problem: "(CTranslate2 '\(source)') \(error.problem)")
    }
    guard let rows else { return whole }
    guard whole.rank >= 1, rows.upperBound <= whole.shape[0] else {
      throw WeightFileError(
        path: path, tensor: name, kind: .shape,
        problem:
          "CTranslate2 '\(source)' has shape \(shapeText(whole.shape)); rows \(rows.lowerBound)..<\(rows.upperBound) do not exist"
      )
    }
    do { return try whole.sliced(axis: 0, rows) } catch {
      throw WeightFileError(path: path, tensor: name, kind: .shape, problem: "\(error)")
    }
  }
}

extension WhisperConfiguration {
  /// The configuration of a CTranslate2 Whisper model: shapes and `num_heads` from model.bin,
  /// `suppress_ids` / `suppress_ids_begin` from its config.json (when present), special ids from
  /// the tokenizer.
  public init(
    ctranslate2 file: CTranslate2File, configPath: String?, special: WhisperSpecialTokens
  ) throws(ModelError) {
    func shape(_ name: String, rank: Int) throws(ModelError) -> [Int] {
      let found: [Int]
      do { found = try file.shape(of: name) } catch { throw ModelError(error) }
      guard found.count == rank else {
        throw .weights(path: file.path, tensor: name, problem: "rank \(found.count), expected \(rank)")
      }
      return found
    }
    func heads(_ name: String) throws(ModelError) -> Int {
      let value: Int?
      do { value = try file.integer(name) } catch { throw ModelError(error) }
      guard let value else { throw .weights(path: file.path, tensor: name, problem: "missing attribute") }
      return value
    }
    func layers(_ side: String) -> Int {
      var n = 0
      while file.contains("\(side)/layer_\(n)/ffn/linear_0/weight") { n += 1 }
      return n
    }
    // The attributes WhisperSpec fixes; a file saying otherwise is not a model this code runs.
    for (name, expected) in [
      ("encoder/pre_norm", 1), ("decoder/pre_norm", 1), ("decoder/scale_embeddings", 0), ("decoder/alibi", 0),
    ] {
      let value: Int?
      do { value = try file.integer(name) } catch { throw ModelError(error) }
      if let value, value != expected {
        throw .weights(path: file.path, tensor: name, problem: "is \(value); Whisper needs \(expected)")
      }
    }
    let conv1 = try shape("encoder/conv1/weight", rank: 3)
    var suppress: [Int32] = []
    var begin: [Int32] = []
    if let configPath, FileManager.default.fileExists(atPath: configPath) {
      let reader = JSONReader(json: try readJSON(configPath), source: configPath)
      suppress = try reader.ids("suppress_ids")
      begin = try reader.ids("suppress_ids_begin")
    }
    self.init(
      dModel: conv1[0], encoderLayers: layers("encoder"), decoderLayers: layers("decoder"),
      encoderHeads: try heads("encoder/num_heads"), decoderHeads: try heads("decoder/num_heads"),
      encoderFFN: try shape("encoder/layer_0/ffn/linear_0/weight", rank: 2)[0],
      decoderFFN: try shape("decoder/layer_0/ffn/linear_0/weight", rank: 2)[0], melBins: conv1[1],
      maxSourcePositions: try shape("encoder/position_encodings/encodings", rank: 2)[0],
      maxTargetPositions: try shape("decoder/position_encodings/encodings", rank: 2)[0],
      vocabSize: try shape("decoder/embeddings/weight", rank: 2)[0],
      decoderStartTokenID: special.startOfTranscript,
      eosTokenID: special.endOfText, suppressTokens: suppress, beginSuppressTokens: begin)
    _ = try validated(source: file.path)
  }
}
