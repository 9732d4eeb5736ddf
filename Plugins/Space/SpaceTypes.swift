import Foundation
import MMCore
import MMGraph

/// Load-time and run-time agreement of embeddings that meet in one node: the same space, the
/// same dimension, the same form. Unknown parts (wildcards upstream) stay unknown at load time
/// and are checked on the values when the node runs.
enum SpaceTypes {
  /// Unit vectors of any space: the port type of inputs that compare by dot products.
  static let unit = PortType.embedding(space: nil, dimension: nil, form: .unit)
  static let anyEmbedding = PortType.embedding(space: nil, dimension: nil, form: nil)

  struct Parts: Equatable {
    var space: String?
    var dimension: Int?
    var form: EmbeddingForm?
    var type: PortType { .embedding(space: space, dimension: dimension, form: form) }
  }

  /// The space, dimension and form of an embedding port (nil when unconnected or `any`).
  static func parts(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError) -> Parts? {
    switch inputs[port] {
    case nil, .any?: return nil
    case .embedding(let space, let dimension, let form)?:
      return Parts(space: space, dimension: dimension, form: form)
    case let other?: throw TypeRuleError(port: port, expected: "an embedding", found: "\(other)")
    }
  }

  /// Every connected port of `ports` in one space, dimension and form: the common (most known)
  /// type. A mismatch names the later port and the first one it disagrees with.
  static func agree(_ inputs: [String: PortType], _ ports: [String]) throws(TypeRuleError) -> Parts {
    var common = Parts()
    var first: String?
    for port in ports {
      guard let p = try parts(inputs, port) else { continue }
      let clash =
        (p.space != nil && common.space != nil && p.space != common.space)
        || (p.dimension != nil && common.dimension != nil && p.dimension != common.dimension)
        || (p.form != nil && common.form != nil && p.form != common.form)
      if clash, let first {
        throw TypeRuleError(
          port: port,
          expected:
            "\(common.type) like input '\(first)' (embeddings compared or combined must come from one model, with one width and form)",
          found: "\(p.type)")
      }
      if first == nil { first = port }
      common.space = common.space ?? p.space
      common.dimension = common.dimension ?? p.dimension
      common.form = common.form ?? p.form
    }
    return common
  }

  /// Run-time twin of `agree` on values: the embeddings of `ports` (nil when unconnected).
  static func agreeing(_ values: [(port: String, embedding: Embedding)], node: String) throws {
    guard let first = values.first else { return }
    for (port, embedding) in values {
      guard embedding.vectors.rank == 2 else {
        throw NodeFailure(
          "\(node): input '\(port)' holds vectors \(shapeText(embedding.vectors.shape)), expected [count, dimension]"
        )
      }
      let (a, b) = (first.embedding, embedding)
      if a.space != b.space || a.vectors.shape[1] != b.vectors.shape[1] || a.form != b.form {
        throw NodeFailure(
          "\(node): input '\(port)' is embedding<\(b.space), \(b.vectors.shape[1]), \(b.form.rawValue)> but '\(first.port)' is embedding<\(a.space), \(a.vectors.shape[1]), \(a.form.rawValue)>: embeddings from different models or forms cannot be compared"
        )
      }
    }
  }
}

extension NodeContext {
  /// The embedding on input `port`.
  func embedding(_ port: String) throws -> Embedding {
    let value = try required(port)
    guard case .embedding(let embedding) = value else {
      throw NodeFailure("\(nodeName): input '\(port)' expected an embedding, found \(value.kindName)")
    }
    guard embedding.vectors.rank == 2, embedding.vectors.shape[0] > 0 else {
      throw NodeFailure(
        "\(nodeName): input '\(port)' holds vectors \(shapeText(embedding.vectors.shape)), expected [count ≥ 1, dimension]"
      )
    }
    return embedding
  }

  /// The names on input `port`: a JSON list of strings or of objects with a `name` (or `text`)
  /// string, or text with one name per non-empty line.
  func names(_ port: String) throws -> [String] {
    switch try required(port) {
    case .text(let text):
      return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    case .json(let json):
      guard let items = json.elements else {
        throw NodeFailure(
          "\(nodeName): input '\(port)' expected a JSON list of names, found \(json.typeName)")
      }
      return try items.enumerated().map { index, item in
        if let name = item.string ?? item["name"]?.string ?? item["text"]?.string { return name }
        throw NodeFailure(
          "\(nodeName): input '\(port)' /\(index): expected a string or an object with a \"name\" string, found \(item.typeName)"
        )
      }
    case let other:
      throw NodeFailure("\(nodeName): input '\(port)' expected json or text, found \(other.kindName)")
    }
  }
}

/// Embedding math on [rows, dim] f32 tensors, in Double accumulators.
enum SpaceMath {
  /// Rows as arrays of Double.
  static func rows(_ t: Tensor) -> [[Double]] {
    let values = t.contiguous().converted(to: .f32).floats()
    let dim = t.shape[1]
    return (0..<t.shape[0]).map { r in values[r * dim..<(r + 1) * dim].map(Double.init) }
  }

  /// v / max(‖v‖, 1e-12).
  static func normalized(_ v: [Double]) -> [Double] {
    let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return v.map { $0 / norm }
  }

  static func dot(_ a: [Double], _ b: [Double]) -> Double {
    var total = 0.0
    for i in a.indices { total += a[i] * b[i] }
    return total
  }

  /// [rows.count, dim] f32.
  static func tensor(_ rows: [[Double]]) -> Tensor {
    let dim = rows.first?.count ?? 0
    return Tensor(rows.flatMap { $0.map(Float.init) }, shape: [rows.count, dim])
  }

  /// Softmax of `scores`, stable.
  static func softmax(_ scores: [Double]) -> [Double] {
    let peak = scores.max() ?? 0
    let e = scores.map { Foundation.exp($0 - peak) }
    let total = e.reduce(0, +)
    return e.map { $0 / total }
  }

  /// Indices of `scores` from highest to lowest (ties: the lower index first).
  static func ranked(_ scores: [Double]) -> [Int] {
    scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
  }
}
