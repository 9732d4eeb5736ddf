import Foundation
import MMCore
import MMGraph
import MMWeights

extension GalleryCommand {
  /// `gallery search NAME --query PATH|TEXT`: the manifest's graph embeds the query; the saved
  /// vectors are ranked by cosine similarity to it.
  static func search(_ arguments: [String]) throws {
    let args = try Arguments(
      arguments, valueOptions: ["query", "top-k", "input-name", "set", "plugin", "threads"],
      flagOptions: ["json"])
    guard args.positionals.count == 1, let name = args.positionals.first else {
      throw UsageError("gallery search takes one gallery NAME, found \(args.positionals.count) arguments")
    }
    guard let query = args.string("query") else { throw UsageError("gallery search needs --query PATH|TEXT") }
    let topK = try args.int("top-k", range: 1...1_000_000) ?? 5
    if let threads = try args.int("threads", range: 1...4096) { ThreadPool.configureShared(threads: threads) }
    let saved: (gallery: EmbeddingGallery, vectors: Tensor)
    do { saved = try EmbeddingGallery.read(name) } catch { throw ValidationFailure("\(error)") }
    let gallery = saved.gallery

    let loaded = try CommandSupport.loadGraph(gallery.graph, args)
    let input = try chooseInput(loaded.graph, named: args.string("input-name"))
    guard let output = loaded.graph.outputs.first, loaded.graph.outputs.count == 1 else {
      throw ValidationFailure("\(gallery.graph): a gallery graph needs one embedding output")
    }
    let value = try GraphInputs.read(query, for: input.name, declared: input.type, registry: loaded.registry)
    let events = RunEvents(progress: ProgressDisplay(mode: .none), cache: nil)
    let interrupt = InterruptHandler(events: events)
    defer { interrupt.stop() }
    let values = try Execution.run(
      loaded.graph, inputs: [input.name: value], observer: events, events: events)
    guard case .embedding(let embedding)? = values[output.name], embedding.vectors.rank == 2,
      embedding.vectors.shape[0] == 1
    else {
      throw RunFailure("\(gallery.graph): the query did not give one embedding row")
    }
    let dimension = embedding.vectors.shape[1]
    guard embedding.space == gallery.space, dimension == gallery.dimension,
      embedding.form.rawValue == gallery.form
    else {
      throw ValidationFailure(
        "the query is embedding<\(embedding.space), \(dimension), \(embedding.form.rawValue)> but \(EmbeddingGallery.manifestPath(name)) holds embedding<\(gallery.space), \(gallery.dimension), \(gallery.form)> (pass the --set options the gallery was built with)"
      )
    }
    // Cosines: both sides normalized here, whatever their form.
    let q = normalized(embedding.vectors.converted(to: .f32).floats())
    let rows = saved.vectors.floats()
    let scores = (0..<gallery.files.count).map { r in
      let row = normalized(Array(rows[r * dimension..<(r + 1) * dimension]))
      return zip(q, row).reduce(0.0) { $0 + $1.0 * $1.1 }
    }
    let ranked = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
      .prefix(topK)
    if args.flag("json") {
      print(
        JSONValue.array(
          ranked.map {
            .object([
              JSONMember("name", .string(gallery.files[$0])), JSONMember("score", JSONValue(scores[$0])),
            ])
          }
        ).encoded(pretty: true))
    } else {
      for index in ranked { print(String(format: "%.4f", scores[index]) + "  " + gallery.files[index]) }
    }
  }

  /// v / ‖v‖ in Double.
  static func normalized(_ v: [Float]) -> [Double] {
    let values = v.map(Double.init)
    let norm = max(values.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return values.map { $0 / norm }
  }
}
