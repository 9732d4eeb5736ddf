import Foundation
import MMCore
import MMGraph
import MMWeights

/// The names port of classify and search: a JSON list, or text with one name per line.
private func requireNames(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError) {
  switch inputs[port] {
  case nil, .any?, .json?, .text?: return
  case let other?:
    throw TypeRuleError(
      port: port, expected: "json (a list of names) or text (one per line)", found: "\(other)")
  }
}

/// Rankings as text: one `0.4203  name` line per entry, a blank line between rankings.
func rankingText(_ rankings: [JSONValue], name: String, value: String) -> String {
  rankings.map { ranking in
    (ranking.elements ?? []).map { entry in
      String(format: "%.4f", entry[value]?.double ?? .nan) + "  " + (entry[name]?.string ?? "")
    }.joined(separator: "\n")
  }.joined(separator: "\n\n")
}

/// query [n, d] + labels [k, d] (unit, one space) + k names → json: per query, every label with
/// its softmax probability over scale · cosine, best first.
let classifyDescriptor = NodeDescriptor(
  type: "space.classify",
  doc:
    "Zero-shot classification: each query vector against the label vectors (unit, one space); probabilities are the softmax of scale · cosine, as CLIP and ImageBind rank prompts. Embed the labels through a prompt template with text.template.",
  example: exampleNode(
    "space.classify",
    inputs: [("query", "image.embedding"), ("labels", "prompts.embedding"), ("names", "$labels")],
    options: [("scale", "100")]),
  inputs: [
    PortSpec("query", SpaceTypes.unit, doc: "vectors [n, d] to classify"),
    PortSpec("labels", SpaceTypes.unit, doc: "one vector per label [k, d], same space"),
    PortSpec("names", .any, doc: "the k label names: a JSON list of strings, or text with one per line"),
    PortSpec(
      "logit_scale", .tensor(dtype: nil, shape: nil),
      doc: "a model's logit scale (one number; overrides the option)", optional: true),
  ],
  outputs: [
    PortSpec(
      "out", .json,
      doc: "[{\"query\": i, \"label\": best, \"ranking\": [{\"label\", \"probability\", \"score\"}, …]}, …]"),
    PortSpec(
      "text", .text,
      doc: "the rankings as lines `0.9471  label` (probabilities; a blank line between queries)"),
  ],
  options: [
    OptionSpec(
      "scale", .float, default: .number("100"),
      doc: "multiplies the cosines before the softmax (100: CLIP's and ImageBind's logit scale)"),
    OptionSpec(
      "top_k", .int(range: 0...1_000_000), default: .number("0"),
      doc: "labels listed per query (0: all; probabilities stay over all labels)"),
  ],
  typeRule: { inputs, _ throws(TypeRuleError) in
    _ = try SpaceTypes.agree(inputs, ["query", "labels"])
    try requireNames(inputs, "names")
    return [:]
  },
  make: { options in
    let optionScale = options.double("scale")
    let topK = options.int("top_k")
    return FunctionNode { context in
      let (query, labels) = (try context.embedding("query"), try context.embedding("labels"))
      try SpaceTypes.agreeing([("query", query), ("labels", labels)], node: context.nodeName)
      let names = try context.names("names")
      guard names.count == labels.vectors.shape[0] else {
        throw NodeFailure(
          "\(context.nodeName): \(names.count) label names for \(labels.vectors.shape[0]) label vectors: give one name per label"
        )
      }
      var scale = optionScale
      if context.input("logit_scale") != nil {
        let t = try context.tensor("logit_scale")
        guard t.count == 1 else {
          throw NodeFailure(
            "\(context.nodeName): input 'logit_scale' holds \(shapeText(t.shape)), expected one number")
        }
        scale = Double(t.converted(to: .f32).floats()[0])
      }
      let labelRows = SpaceMath.rows(labels.vectors)
      let results = SpaceMath.rows(query.vectors).enumerated().map { index, q -> JSONValue in
        let scores = labelRows.map { SpaceMath.dot(q, $0) }
        let probabilities = SpaceMath.softmax(scores.map { scale * $0 })
        var order = SpaceMath.ranked(scores)
        if topK > 0 { order = Array(order.prefix(topK)) }
        return .object([
          JSONMember("query", JSONValue(index)), JSONMember("label", .string(names[order[0]])),
          JSONMember(
            "ranking",
            .array(
              order.map {
                .object([
                  JSONMember("label", .string(names[$0])),
                  JSONMember("probability", JSONValue(probabilities[$0])),
                  JSONMember("score", JSONValue(scores[$0])),
                ])
              })),
        ])
      }
      context.emit("out", .json(.array(results)))
      context.emit(
        "text",
        .text(rankingText(results.map { $0["ranking"] ?? .array([]) }, name: "label", value: "probability")))
    }
  })

/// query [n, d] unit vs a gallery (inputs, or a saved `mmgraph gallery` file) → the top_k
/// names by cosine.
let searchDescriptor = NodeDescriptor(
  type: "space.search",
  doc:
    "Ranks a gallery by cosine similarity to the query (unit embeddings, one space): the gallery comes from the inputs 'gallery' + 'names', or from a file written by `mmgraph gallery build` (option 'gallery', whose manifest sets the query's type when the graph loads).",
  example: exampleNode(
    "space.search",
    inputs: [("query", "query.embedding"), ("gallery", "docs.embedding"), ("names", "files.out")],
    options: [("top_k", "3")]),
  inputs: [
    PortSpec("query", SpaceTypes.unit, doc: "query vectors [n, d]"),
    PortSpec("gallery", SpaceTypes.unit, doc: "gallery vectors [m, d], same space", optional: true),
    PortSpec(
      "names", .any,
      doc: "the m names: a JSON list of strings or of objects with a \"name\", or text with one per line",
      optional: true),
  ],
  outputs: [
    PortSpec(
      "out", .json,
      doc: "one query: [{\"name\", \"score\"}, …] best first; several: one such list per query"),
    PortSpec("text", .text, doc: "the same ranking as lines `0.4203  name` (a blank line between queries)"),
  ],
  options: [
    OptionSpec(
      "gallery", .path, default: .null,
      doc: "a gallery written by `mmgraph gallery build` (NAME, NAME.json or NAME.npy) instead of the inputs"),
    OptionSpec("top_k", .int(range: 1...1_000_000), default: .number("5"), doc: "results per query"),
  ],
  typeRule: { inputs, options throws(TypeRuleError) in
    let file = options["gallery"]?.string
    if let file {
      if inputs["gallery"] != nil || inputs["names"] != nil {
        throw TypeRuleError(
          port: inputs["gallery"] != nil ? "gallery" : "names",
          expected: "either the option 'gallery' or the inputs 'gallery' and 'names'", found: "both")
      }
      let gallery: EmbeddingGallery
      do { gallery = try EmbeddingGallery.readManifest(file) } catch {
        throw TypeRuleError(
          port: "gallery", expected: "a gallery written by `mmgraph gallery build`", found: "\(error)")
      }
      guard gallery.form == EmbeddingForm.unit.rawValue else {
        throw TypeRuleError(
          port: "gallery", expected: "unit embeddings (end the gallery's graph with space.normalize)",
          found: "\(gallery.form) embeddings in \(EmbeddingGallery.manifestPath(file))")
      }
      var scratch = [
        "gallery": PortType.embedding(space: gallery.space, dimension: gallery.dimension, form: .unit)
      ]
      scratch["query"] = inputs["query"]
      _ = try SpaceTypes.agree(scratch, ["gallery", "query"])
      return [:]
    }
    guard inputs["gallery"] != nil, inputs["names"] != nil else {
      throw TypeRuleError(
        port: inputs["gallery"] == nil ? "gallery" : "names",
        expected: "the inputs 'gallery' and 'names' connected (or the option 'gallery')",
        found: "not connected")
    }
    _ = try SpaceTypes.agree(inputs, ["query", "gallery"])
    try requireNames(inputs, "names")
    return [:]
  },
  filesRead: { options in
    guard let file = options["gallery"]?.string else { return [] }
    return [EmbeddingGallery.manifestPath(file), EmbeddingGallery.vectorsPath(file)]
  },
  make: { options in
    let file = options["gallery"]?.string
    let topK = options.int("top_k")
    return FunctionNode { context in
      let query = try context.embedding("query")
      let gallery: Embedding
      let names: [String]
      if let file {
        let saved: (gallery: EmbeddingGallery, vectors: Tensor)
        do { saved = try EmbeddingGallery.read(file) } catch {
          throw NodeFailure("\(context.nodeName): \(error)")
        }
        names = saved.gallery.files
        gallery = Embedding(
          vectors: saved.vectors, space: saved.gallery.space,
          form: EmbeddingForm(rawValue: saved.gallery.form) ?? .raw)
      } else {
        gallery = try context.embedding("gallery")
        names = try context.names("names")
      }
      try SpaceTypes.agreeing([("query", query), ("gallery", gallery)], node: context.nodeName)
      guard names.count == gallery.vectors.shape[0] else {
        throw NodeFailure(
          "\(context.nodeName): \(names.count) names for \(gallery.vectors.shape[0]) gallery vectors: give one name per vector"
        )
      }
      let galleryRows = SpaceMath.rows(gallery.vectors)
      let results = SpaceMath.rows(query.vectors).map { q -> JSONValue in
        let scores = galleryRows.map { SpaceMath.dot(q, $0) }
        return .array(
          SpaceMath.ranked(scores).prefix(topK).map {
            .object([JSONMember("name", .string(names[$0])), JSONMember("score", JSONValue(scores[$0]))])
          })
      }
      context.emit("out", .json(results.count == 1 ? results[0] : .array(results)))
      context.emit("text", .text(rankingText(results, name: "name", value: "score")))
    }
  })
