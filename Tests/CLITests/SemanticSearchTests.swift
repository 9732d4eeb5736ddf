import Foundation
import MMCore
import Testing

/// `Graphs/semantic-search.json` and `mmgraph gallery build` end to end through the binary: the
/// tiny BERT fixture (rankings and scores from sentence-transformers, Scripts/goldens/bert.py),
/// and the real all-MiniLM-L6-v2 when Scripts/fetch-models.sh has fetched it.
@Suite struct SemanticSearchTests {
  static let tiny = "Tests/Fixtures/bert/tiny"

  static var minilm: String {
    let environment = ProcessInfo.processInfo.environment
    let models =
      environment["MMGRAPH_MODELS"]
      ?? (environment["XDG_CACHE_HOME"] ?? (environment["HOME"] ?? "") + "/.cache") + "/mmgraph/models"
    return models + "/minilm"
  }
  static var hasMiniLM: Bool { FileManager.default.fileExists(atPath: minilm + "/model.safetensors") }

  /// The `search` cases of a golden file: query → [(name, score)] best first.
  static func goldenSearches(_ name: String) throws -> [(query: String, ranking: [(String, Double)])] {
    let data = try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Goldens/bert/\(name).json")))
    let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    return (root["search"] as? [[String: Any]] ?? []).map { entry in
      let ranking = (entry["ranking"] as? [[String: Any]] ?? []).map {
        ($0["name"] as? String ?? "", $0["score"] as? Double ?? .nan)
      }
      return (entry["query"] as? String ?? "", ranking)
    }
  }

  static func results(_ path: String) throws -> [(String, Double)] {
    let json = try CLI.json(try String(contentsOfFile: path, encoding: .utf8))
    return (json.elements ?? []).map { ($0["name"]?.string ?? "", $0["score"]?.double ?? .nan) }
  }

  static func expectSame(_ found: [(String, Double)], _ expected: [(String, Double)], _ query: String) {
    #expect(found.map(\.0) == expected.map(\.0), "\(query): \(found.map(\.0)) vs \(expected.map(\.0))")
    let difference = zip(found, expected).map { abs($0.1 - $1.1) }.max() ?? .infinity
    #expect(difference <= 1e-4, "\(query): max |Δscore| \(difference)")
  }

  @Test func tinyModelRanksTheDocsAsSentenceTransformers() throws {
    for search in try Self.goldenSearches("tiny") {
      let out = CLI.temporaryFolder("search")
      let result = try CLI.run([
        "run", "Graphs/semantic-search.json", "--input", "query=\(search.query)", "--input",
        "folder=Samples/docs",
        "--set", "model=\(Self.tiny)", "--set", "top_k=\(search.ranking.count)", "--out", out, "--no-cache",
      ])
      #expect(result.code == 0, "\(result.stderr)")
      Self.expectSame(try Self.results(out + "/results.json"), search.ranking, search.query)
      let lines = try String(contentsOfFile: out + "/ranking.txt", encoding: .utf8).split(separator: "\n")
      #expect(
        lines.count == search.ranking.count && lines.first?.hasSuffix("  " + search.ranking[0].0) == true)
    }
  }

  @Test(
    .enabled(if: SemanticSearchTests.hasMiniLM, "fetch all-MiniLM-L6-v2: bash Scripts/fetch-models.sh minilm")
  )
  func miniLMFindsTheRightDocument() throws {
    for search in try Self.goldenSearches("minilm") {
      let out = CLI.temporaryFolder("search-real")
      let result = try CLI.run([
        "run", "Graphs/semantic-search.json", "--input", "query=\(search.query)", "--input",
        "folder=Samples/docs",
        "--set", "top_k=3", "--set", "model=\(Self.minilm)", "--out", out, "--no-cache",
      ])
      #expect(result.code == 0, "\(result.stderr)")
      Self.expectSame(try Self.results(out + "/results.json"), Array(search.ranking.prefix(3)), search.query)
    }
  }

  /// Graphs/zero-shot-text.json: the labels of Samples/topics.txt through the template, ranked
  /// with sentence-transformers' probabilities.
  @Test func zeroShotGraphMatchesTheReference() throws {
    var models = [("tiny", Self.tiny)]
    if Self.hasMiniLM { models.append(("minilm", Self.minilm)) }
    for (golden, model) in models {
      let data = try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Goldens/bert/\(golden).json")))
      let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
      let reference = root["classify"] as? [String: Any] ?? [:]
      let out = CLI.temporaryFolder("zero-shot")
      let result = try CLI.run([
        "run", "Graphs/zero-shot-text.json", "--input", "text=\(reference["text"] as? String ?? "")",
        "--input",
        "labels=Samples/topics.txt", "--set", "model=\(model)", "--set",
        "scale=\(reference["scale"] as? Double ?? 0)",
        "--out", out, "--no-cache",
      ])
      #expect(result.code == 0, "\(result.stderr)")
      let json = try CLI.json(try String(contentsOfFile: out + "/labels.json", encoding: .utf8))
      let ranking = json.elements?.first?["ranking"]?.elements ?? []
      let expected = reference["ranking"] as? [[String: Any]] ?? []
      #expect(
        ranking.compactMap { $0["label"]?.string } == expected.compactMap { $0["label"] as? String },
        "\(golden)")
      for (found, wanted) in zip(ranking, expected) {
        let p = (found["probability"]?.double ?? .nan) - (wanted["probability"] as? Double ?? .nan)
        let s = (found["score"]?.double ?? .nan) - (wanted["score"] as? Double ?? .nan)
        #expect(abs(p) <= 1e-4 && abs(s) <= 1e-4, "\(golden) \(found): Δp \(p), Δscore \(s)")
      }
    }
  }

  /// `run --print` shows the ranking on stdout (the README's command).
  @Test func printShowsTheRanking() throws {
    let search = try Self.goldenSearches("tiny")[1]
    let result = try CLI.run([
      "run", "Graphs/semantic-search.json", "--input", "query=\(search.query)", "--input",
      "folder=Samples/docs",
      "--set", "model=\(Self.tiny)", "--set", "top_k=2", "--out", CLI.temporaryFolder("search-print"),
      "--print",
      "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let first = String(format: "%.4f", search.ranking[0].1) + "  " + search.ranking[0].0
    #expect(result.stdout.contains("ranking:\n" + first), "\(result.stdout)")
  }

  @Test func missingModelSaysHowToFetchIt() throws {
    let out = CLI.temporaryFolder("search-missing")
    let result = try CLI.run([
      "run", "Graphs/semantic-search.json", "--input", "query=hello", "--input", "folder=Samples/docs",
      "--set",
      "model=/nonexistent/models/minilm", "--out", out, "--no-cache",
    ])
    #expect(
      result.code == 1 && result.stderr.contains("bash Scripts/fetch-models.sh minilm"), "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  @Test func galleryBuildThenSearchAndRefuseAnotherSpace() throws {
    let folder = CLI.temporaryFolder("gallery")
    try Data("not text".utf8).write(to: URL(fileURLWithPath: folder + "/skip.png"))
    for name in CLI.files(in: CLI.path("Samples/docs")) {
      try FileManager.default.copyItem(atPath: CLI.path("Samples/docs/" + name), toPath: folder + "/" + name)
    }
    let noFolder = try CLI.run([
      "gallery", "build", "Graphs/embed-text.json", folder + "/nope", "--out", folder + "/x",
    ])
    #expect(noFolder.code == 2 && noFolder.stderr.contains("no such folder"), "\(noFolder.stderr)")
    let summary = try CLI.run([
      "gallery", "build", "Graphs/embed-text.json", folder, "--out", folder + "/out/docs", "--set",
      "model=\(Self.tiny)", "--json",
    ])
    #expect(summary.code == 0, "\(summary.stderr)")
    let json = try CLI.json(summary.stdout)
    #expect(json["count"]?.int == 8 && json["space"]?.string == "tiny" && json["dimension"]?.int == 32)
    #expect(json["skipped"] == .array([.string("skip.png")]))
    #expect(CLI.files(in: folder + "/out") == ["docs.json", "docs.npy"], "the output folder is made")
    #expect(try CLI.npy(folder + "/out/docs.npy").shape == [8, 32])

    let graph = CLI.writeGraph(
      """
      {"mmgraph": 1, "inputs": {"query": "text"},
       "options": {"space": {"type": "string", "default": ""}},
       "nodes": {
         "q": {"type": "sentence.embed", "inputs": {"text": "$query"},
               "options": {"model": "\(CLI.path(Self.tiny))", "space": "${space}"}},
         "s": {"type": "space.search", "inputs": {"query": "q.embedding"},
               "options": {"gallery": "\(folder)/out/docs", "top_k": 8}}},
       "outputs": {"results": "s.out"}}
      """)
    let search = try Self.goldenSearches("tiny")[0]
    let out = CLI.temporaryFolder("gallery-search")
    let ran = try CLI.run(["run", graph, "--input", "query=\(search.query)", "--out", out, "--no-cache"])
    #expect(ran.code == 0, "\(ran.stderr)")
    Self.expectSame(try Self.results(out + "/results.json"), search.ranking, search.query)
    // `gallery search` runs the manifest's graph on the query.
    let searched = try CLI.run([
      "gallery", "search", folder + "/out/docs", "--query", search.query, "--set", "model=\(Self.tiny)",
      "--top-k", "3", "--json",
    ])
    #expect(searched.code == 0, "\(searched.stderr)")
    let top = (try CLI.json(searched.stdout).elements ?? []).map {
      ($0["name"]?.string ?? "", $0["score"]?.double ?? .nan)
    }
    Self.expectSame(top, Array(search.ranking.prefix(3)), search.query)
    let plain = try CLI.run([
      "gallery", "search", folder + "/out/docs", "--query", search.query, "--set", "model=\(Self.tiny)",
      "--top-k", "1",
    ])
    #expect(plain.stdout.hasSuffix("  \(search.ranking[0].0)\n"), "\(plain.stdout)")
    let otherSpace = try CLI.run([
      "gallery", "search", folder + "/out/docs", "--query", search.query, "--set", "encoder.space=clip",
      "--set", "model=\(Self.tiny)",
    ])
    #expect(otherSpace.code == 2 && otherSpace.stderr.contains("embedding<clip"), "\(otherSpace.stderr)")
    // The same graph with its query in another space is refused when it loads.
    let refused = try CLI.run(["check", graph, "--set", "space=clip"])
    #expect(
      refused.code == 2 && refused.stderr.contains("clip") && refused.stderr.contains("tiny"),
      "\(refused.stderr)")
  }
}
