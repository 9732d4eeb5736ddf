import Foundation
import MMCore
import Testing

/// ImageBind's shared-space graphs (zero-shot audio and image classification, audio → image,
/// text → video, image + audio composition) through the `mmgraph` binary on the tiny ImageBind of
/// Tests/Fixtures/imagebind, whose text vocabulary is the committed small CLIP BPE: real strings,
/// the shared recordings and photos (../shared/testdata) and two tiny videos made from the photos
/// (Tests/Fixtures/imagebind/videos). Rankings, probabilities and cosines are compared with
/// Tests/Goldens/imagebind/graphs.json: ImageBind's own model, data.py and SimpleTokenizer on the
/// same weights and files (Scripts/goldens/imagebind.py, `graph_goldens`).
@Suite struct ImageBindSpaceGraphTests {
  static let weights = ImageBindGraphTests.weights
  static let vocabulary = "vocabulary=Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz"
  static let tolerance = 1e-4

  /// Tests/Goldens/imagebind/graphs.json.
  static func goldens() throws -> JSONValue {
    let path = CLI.path("Tests/Goldens/imagebind/graphs.json")
    return try JSONParser.parse(try String(contentsOfFile: path, encoding: .utf8), file: path).root
  }

  /// The cases of the golden `key`.
  static func cases(_ key: String) throws -> [JSONValue] { try goldens()[key]?.elements ?? [] }

  /// `[(name, score)]` of a golden ranking or of a `space.search` result file.
  static func pairs(_ ranking: JSONValue?) -> [(String, Double)] {
    (ranking?.elements ?? []).map { ($0["name"]?.string ?? "", $0["score"]?.double ?? .nan) }
  }

  static func results(_ folder: String) throws -> [(String, Double)] {
    pairs(try CLI.json(try String(contentsOfFile: folder + "/results.json", encoding: .utf8)))
  }

  /// Same names in the same order, every score within the tolerance.
  static func expectSame(_ found: [(String, Double)], _ expected: [(String, Double)], _ what: String) {
    #expect(found.map(\.0) == expected.map(\.0), "\(what): \(found.map(\.0)) vs \(expected.map(\.0))")
    let difference = zip(found, expected).map { abs($0.1 - $1.1) }.max() ?? .infinity
    print("imagebind \(what): max |Δscore| \(difference)")
    #expect(found.count == expected.count && difference <= tolerance, "\(what): max |Δscore| \(difference)")
  }

  /// Runs a zero-shot graph and compares its ranked labels (probability and cosine) with `golden`.
  static func classify(_ graph: String, _ input: String, _ golden: JSONValue) throws {
    let out = CLI.temporaryFolder("ib-zero-shot")
    let result = try CLI.run(
      [
        "run", "Graphs/\(graph)", "--input", input, "--input",
        "labels=\(golden["labels"]?.string ?? "")", "--set", weights, "--set", vocabulary, "--out", out,
        "--no-cache",
      ], timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    guard result.code == 0 else { return }
    let json = try CLI.json(try String(contentsOfFile: out + "/labels.json", encoding: .utf8))
    let ranking = json.elements?.first?["ranking"]?.elements ?? []
    let expected = golden["ranking"]?.elements ?? []
    #expect(ranking.map { $0["label"]?.string } == expected.map { $0["label"]?.string }, "\(graph) \(input)")
    var worst = 0.0
    for (found, wanted) in zip(ranking, expected) {
      for key in ["probability", "score"] {
        worst = max(worst, abs((found[key]?.double ?? .nan) - (wanted[key]?.double ?? .nan)))
      }
    }
    print("imagebind \(graph) \(golden["input"]?.string ?? ""): max |Δ| \(worst)")
    #expect(ranking.count == expected.count && worst <= tolerance, "\(graph): max |Δ| \(worst)")
  }

  @Test func zeroShotAudio() throws {
    for golden in try Self.cases("zero_shot_audio") {
      let file = MediaGraphTests.shared(golden["input"]?.string ?? "")
      try Self.classify("imagebind-zero-shot-audio.json", "clip=\(file)", golden)
    }
  }

  @Test func zeroShotImage() throws {
    for golden in try Self.cases("zero_shot_image") {
      let file = MediaGraphTests.shared(golden["input"]?.string ?? "")
      try Self.classify("imagebind-zero-shot-image.json", "photo=\(file)", golden)
    }
  }

  /// `mmgraph gallery build GRAPH FOLDER --out NAME` on copies of `files` (with the tiny weights).
  static func gallery(_ graph: String, _ files: [String], name: String) throws -> String {
    let folder = CLI.temporaryFolder("ib-gallery-" + name)
    let media = folder + "/media"
    try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
    for file in files {
      try FileManager.default.copyItem(
        atPath: file, toPath: media + "/" + URL(fileURLWithPath: file).lastPathComponent)
    }
    let built = try CLI.run(
      ["gallery", "build", "Graphs/\(graph)", media, "--out", folder + "/" + name, "--set", weights],
      timeout: 600)
    #expect(built.code == 0, "\(built.stderr)")
    return folder + "/" + name
  }

  static var photos: [String] { ["dog_image.jpg", "car_image.jpg"].map(MediaGraphTests.shared) }

  /// Runs a retrieval graph against `gallery` and compares the results with the golden ranking.
  static func retrieve(
    _ graph: String, _ inputs: [String], _ gallery: String, _ golden: JSONValue?, _ what: String
  )
    throws
  {
    let out = CLI.temporaryFolder("ib-retrieve")
    let result = try CLI.run(
      ["run", "Graphs/\(graph)"] + inputs.flatMap { ["--input", $0] }
        + ["--set", weights, "--set", "gallery=\(gallery)", "--out", out, "--no-cache"]
        + (graph.contains("text") ? ["--set", vocabulary] : []), timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    guard result.code == 0 else { return }
    expectSame(try results(out), pairs(golden), what)
  }

  @Test func audioToImage() throws {
    let gallery = try Self.gallery("imagebind-embed-image.json", Self.photos, name: "photos")
    for graph in ["imagebind-audio-to-image.json", "imagebind-compose.json"] {
      let checked = try CLI.run([
        "check", "Graphs/\(graph)", "--set", Self.weights, "--set", "gallery=\(gallery)",
      ])
      #expect(checked.code == 0, "\(graph): \(checked.stderr)")
    }
    for golden in try Self.cases("audio_to_image") {
      let input = golden["input"]?.string ?? ""
      try Self.retrieve(
        "imagebind-audio-to-image.json", ["clip=\(MediaGraphTests.shared(input))"], gallery,
        golden["ranking"],
        "audio-to-image \(input)")
    }
  }

  @Test func textToVideo() throws {
    let videos = ["dog.mkv", "car.mkv"].map { CLI.path("Tests/Fixtures/imagebind/videos/" + $0) }
    let gallery = try Self.gallery("imagebind-embed-video.json", videos, name: "videos")
    let checked = try CLI.run([
      "check", "Graphs/imagebind-text-to-video.json", "--set", Self.weights, "--set", "gallery=\(gallery)",
    ])
    #expect(checked.code == 0, "\(checked.stderr)")
    for golden in try Self.cases("text_to_video") {
      let query = golden["query"]?.string ?? ""
      try Self.retrieve(
        "imagebind-text-to-video.json", ["query=\(query)"], gallery, golden["ranking"],
        "text-to-video '\(query)'")
    }
  }

  @Test func composeImageAndAudio() throws {
    let gallery = try Self.gallery(
      "imagebind-embed-image.json", Self.photos + [CLI.path("Tests/Fixtures/image/baseline444.jpg")],
      name: "photos3")
    for golden in try Self.cases("compose") {
      let image = golden["image"]?.string ?? ""
      let audio = golden["audio"]?.string ?? ""
      try Self.retrieve(
        "imagebind-compose.json",
        ["photo=\(MediaGraphTests.shared(image))", "clip=\(MediaGraphTests.shared(audio))"], gallery,
        golden["ranking"], "compose \(image) + \(audio)")
    }
  }

  /// A sentence-embedding gallery (the tiny BERT in a folder named `minilm`, so its space is
  /// `minilm`) given to each ImageBind retrieval graph: `check` and `run` refuse it when the graph
  /// loads, naming both spaces, and nothing is written.
  @Test func anotherSpacesGalleryIsRefusedAtLoad() throws {
    let folder = CLI.temporaryFolder("ib-minilm")
    try FileManager.default.copyItem(atPath: CLI.path(SemanticSearchTests.tiny), toPath: folder + "/minilm")
    let built = try CLI.run([
      "gallery", "build", "Graphs/embed-text.json", CLI.path("Samples/docs"), "--out", folder + "/docs",
      "--set",
      "model=\(folder)/minilm",
    ])
    #expect(built.code == 0, "\(built.stderr)")
    let cases: [(String, [String])] = [
      ("imagebind-audio-to-image.json", ["clip=\(MediaGraphTests.shared("dog_audio.wav"))"]),
      ("imagebind-text-to-video.json", ["query=a dog"]),
      (
        "imagebind-compose.json",
        [
          "photo=\(MediaGraphTests.shared("dog_image.jpg"))",
          "clip=\(MediaGraphTests.shared("car_audio.wav"))",
        ]
      ),
    ]
    for (graph, inputs) in cases {
      let options = ["--set", Self.weights, "--set", "gallery=\(folder)/docs"]
      let checked = try CLI.run(["check", "Graphs/\(graph)"] + options)
      #expect(
        checked.code == 2 && checked.stderr.contains("minilm") && checked.stderr.contains("imagebind"),
        "\(graph): \(checked.stderr)")
      let out = CLI.temporaryFolder("ib-minilm-run")
      let ran = try CLI.run(
        ["run", "Graphs/\(graph)"] + inputs.flatMap { ["--input", $0] } + options + [
          "--out", out, "--no-cache",
        ])
      #expect(
        ran.code == 2 && ran.stderr.contains("minilm") && ran.stderr.contains("imagebind"),
        "\(graph): \(ran.stderr)")
      #expect(CLI.files(in: out).isEmpty)
    }
  }

  /// The zero-shot graphs check with their own options; a template without `{}` is refused at load.
  @Test func zeroShotGraphsCheck() throws {
    for graph in ["imagebind-zero-shot-audio.json", "imagebind-zero-shot-image.json"] {
      let checked = try CLI.run(["check", "Graphs/\(graph)", "--set", Self.weights])
      #expect(checked.code == 0, "\(graph): \(checked.stderr)")
      let bad = try CLI.run(["check", "Graphs/\(graph)", "--set", Self.weights, "--set", "template=a dog"])
      #expect(bad.code == 2 && bad.stderr.contains("{}"), "\(graph): \(bad.stderr)")
    }
  }
}
