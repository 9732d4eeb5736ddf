import Foundation
import MMCore
import MMGraph

/// Nodes over embeddings of any model (`space.*`): normalize, compare, classify, search,
/// compose. Embeddings that meet in one node must share space, dimension and form — refused
/// when the graph loads (port types and type rules), and checked again on the values.
/// Registered through `MMBuiltins`.
public enum SpacePlugin: NodePlugin {
  public static let name = "space"

  public static let descriptors: [NodeDescriptor] = [
    normalizeDescriptor, similarityDescriptor, addDescriptor, classifyDescriptor, searchDescriptor,
  ]

}

/// in: embedding [n, d] (any form) → out: embedding [n, d] unit, same space.
let normalizeDescriptor = NodeDescriptor(
  type: "space.normalize",
  doc: "L2-normalizes every vector: raw (or scaled) embeddings → unit embeddings of the same space.",
  example: exampleNode("space.normalize", inputs: [("in", "encoder.embedding")]),
  inputs: [PortSpec("in", SpaceTypes.anyEmbedding, doc: "vectors [count, dimension]")],
  outputs: [PortSpec("out", SpaceTypes.unit, doc: "the same vectors divided by their L2 norm")],
  typeRule: { inputs, _ throws(TypeRuleError) in
    let parts = try SpaceTypes.parts(inputs, "in") ?? SpaceTypes.Parts()
    return ["out": .embedding(space: parts.space, dimension: parts.dimension, form: .unit)]
  },
  make: { _ in
    FunctionNode { context in
      let input = try context.embedding("in")
      let rows = SpaceMath.rows(input.vectors).map(SpaceMath.normalized)
      context.emit(
        "out", .embedding(Embedding(vectors: SpaceMath.tensor(rows), space: input.space, form: .unit)))
    }
  })

/// a [n, d], b [m, d] unit, one space → scores [n, m] = scale · cosine.
let similarityDescriptor = NodeDescriptor(
  type: "space.similarity",
  doc:
    "Cosine similarities of every row of a with every row of b (unit embeddings of one space), times `scale` (1: plain cosines; a model's logit scale gives logits).",
  example: exampleNode("space.similarity", inputs: [("a", "text.embedding"), ("b", "images.embedding")]),
  inputs: [
    PortSpec("a", SpaceTypes.unit, doc: "vectors [n, d]"),
    PortSpec("b", SpaceTypes.unit, doc: "vectors [m, d] of the same space"),
  ],
  outputs: [
    PortSpec(
      "scores", .tensor(dtype: .f32, shape: [.symbol("n"), .symbol("m")]), doc: "[n, m] scale · a·bᵀ")
  ],
  options: [OptionSpec("scale", .float, default: .number("1"), doc: "multiplies every cosine")],
  typeRule: { inputs, _ throws(TypeRuleError) in
    _ = try SpaceTypes.agree(inputs, ["a", "b"])
    return [:]
  },
  make: { options in
    let scale = options.double("scale")
    return FunctionNode { context in
      let (a, b) = (try context.embedding("a"), try context.embedding("b"))
      try SpaceTypes.agreeing([("a", a), ("b", b)], node: context.nodeName)
      let (rowsA, rowsB) = (SpaceMath.rows(a.vectors), SpaceMath.rows(b.vectors))
      let scores = rowsA.map { x in rowsB.map { y in scale * SpaceMath.dot(x, y) } }
      context.emit("scores", .tensor(SpaceMath.tensor(scores)))
    }
  })

/// a, b (, c, d) unit, one space → out unit: the normalized (weighted) sum, row by row.
let addDescriptor = NodeDescriptor(
  type: "space.add",
  doc:
    "Embedding arithmetic as ImageBind composes modalities: the (weighted) sum of unit vectors, renormalized; row i of each input, or a single row broadcast.",
  example: exampleNode(
    "space.add", inputs: [("a", "image.embedding"), ("b", "audio.embedding")],
    options: [("weights", "[1, 0.5]")]),
  inputs: [
    PortSpec("a", SpaceTypes.unit, doc: "vectors [n, d] (or [1, d])"),
    PortSpec("b", SpaceTypes.unit, doc: "vectors [n, d] (or [1, d]) of the same space"),
    PortSpec("c", SpaceTypes.unit, doc: "a third term", optional: true),
    PortSpec("d", SpaceTypes.unit, doc: "a fourth term", optional: true),
  ],
  outputs: [PortSpec("out", SpaceTypes.unit, doc: "normalize(Σ wᵢ·xᵢ), [n, d]")],
  options: [
    OptionSpec(
      "weights", .list(.float), default: .array([]),
      doc: "one weight per connected input, in the order a, b, c, d (empty: all 1)")
  ],
  typeRule: { inputs, options throws(TypeRuleError) in
    let ports = ["a", "b", "c", "d"]
    let common = try SpaceTypes.agree(inputs, ports)
    let connected = ports.filter { inputs[$0] != nil }.count
    let weights = options["weights"]?.elements ?? []
    if !weights.isEmpty, weights.count != connected {
      throw TypeRuleError(
        port: "weights", expected: "\(connected) weights (one per connected input)", found: "\(weights.count)"
      )
    }
    return ["out": .embedding(space: common.space, dimension: common.dimension, form: .unit)]
  },
  make: { options in
    let weights = (options["weights"]?.elements ?? []).compactMap(\.double)
    return FunctionNode { context in
      var terms: [(port: String, embedding: Embedding)] = []
      for port in ["a", "b", "c", "d"] where context.input(port) != nil {
        terms.append((port, try context.embedding(port)))
      }
      try SpaceTypes.agreeing(terms, node: context.nodeName)
      guard weights.isEmpty || weights.count == terms.count else {
        throw NodeFailure("\(context.nodeName): \(weights.count) weights for \(terms.count) inputs")
      }
      let counts = terms.map { $0.embedding.vectors.shape[0] }
      let rows = counts.max() ?? 1
      if let bad = terms.first(where: {
        $0.embedding.vectors.shape[0] != rows && $0.embedding.vectors.shape[0] != 1
      }) {
        throw NodeFailure(
          "\(context.nodeName): input '\(bad.port)' has \(bad.embedding.vectors.shape[0]) rows, expected \(rows) or 1 (broadcast)"
        )
      }
      let values = terms.map { SpaceMath.rows($0.embedding.vectors) }
      let dim = terms[0].embedding.vectors.shape[1]
      var sums = [[Double]](repeating: [Double](repeating: 0, count: dim), count: rows)
      for (index, term) in values.enumerated() {
        let w = weights.isEmpty ? 1 : weights[index]
        for r in 0..<rows {
          let row = term.count == 1 ? term[0] : term[r]
          for j in 0..<dim { sums[r][j] += w * row[j] }
        }
      }
      let first = terms[0].embedding
      context.emit(
        "out",
        .embedding(
          Embedding(
            vectors: SpaceMath.tensor(sums.map(SpaceMath.normalized)), space: first.space, form: .unit)))
    }
  })
