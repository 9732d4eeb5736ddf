import Foundation
import MMCore
import MMGraph
import MMWeights

/// `mmgraph gallery build GRAPH FOLDER --out NAME`: runs an embedding graph (one file input, one
/// embedding output) once per file of FOLDER and saves the vectors with a manifest
/// (`EmbeddingGallery`: NAME.npy [count, dim] f32 + NAME.json), for `space.search`'s `gallery`
/// option.
enum GalleryCommand {
  static let help = """
    USAGE: mmgraph gallery build GRAPH FOLDER --out NAME [--input-name NAME] [--set NODE.OPTION=VALUE …]
                                 [--json] [--threads N] [--plugin PATH …]
           mmgraph gallery search NAME --query PATH|TEXT [--top-k K] [--input-name NAME]
                                 [--set NODE.OPTION=VALUE …] [--json] [--plugin PATH …]

    Runs GRAPH once for every file in FOLDER (not its subfolders, sorted by name) that a
    registered file reader accepts for the graph's input (`mmgraph nodes` lists the readers; the
    other files are skipped and listed), and saves one embedding row per file:
      NAME.npy    the vectors [count, dimension], f32
      NAME.json   the manifest: files, space, dimension, form, graph, folder, mmgraph version
    Both are written atomically, the manifest last. GRAPH must have one input (or name it with
    --input-name) and one embedding output giving one row per file. A graph with
    space.search's option "gallery": "NAME" then searches these vectors; the manifest fixes the
    query type it accepts when that graph loads.

    `gallery search` runs the graph the manifest names on the query (a file, or the words
    themselves for a text input; give the same --set as for build) and prints the K nearest
    files by cosine, best first.

    OPTIONS:
      --out NAME                 the gallery's path without extension (NAME.npy, NAME.json;
                                 its folder is created if needed)
      --input-name NAME          the graph input that gets each file (default: its only input)
      --set NODE.OPTION=VALUE    override a node option (OPTION=VALUE: a graph option)
      --json                     print a summary object on stdout
      --threads N                worker threads
      --query PATH|TEXT          search: the query, read like `run --input`
      --top-k K                  search: how many files to print (default 5)
      --plugin PATH              load an out-of-tree plugin (.so); repeatable

    EXIT CODES: 0 success, 1 a run failed or the gallery could not be written, 2 bad usage or an
    invalid graph or folder, 130 interrupted

    """

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") || arguments.isEmpty {
      print(help, terminator: "")
      if arguments.isEmpty { throw UsageError("gallery needs a subcommand: build or search") }
      return
    }
    switch arguments[0] {
    case "build": try build(Array(arguments.dropFirst()))
    case "search": try search(Array(arguments.dropFirst()))
    default: throw UsageError("unknown gallery subcommand '\(arguments[0])'; expected build or search")
    }
  }

  /// `gallery build GRAPH FOLDER --out NAME`.
  static func build(_ arguments: [String]) throws {
    let args = try Arguments(
      arguments, valueOptions: ["out", "input-name", "set", "plugin", "threads"],
      flagOptions: ["json"])
    guard args.positionals.count == 2 else {
      throw UsageError("gallery build takes a graph and a folder, found \(args.positionals.count) arguments")
    }
    let (graphPath, folder) = (args.positionals[0], args.positionals[1])
    guard let out = args.string("out") else { throw UsageError("gallery build needs --out NAME") }
    if let threads = try args.int("threads", range: 1...4096) { ThreadPool.configureShared(threads: threads) }

    let loaded = try CommandSupport.loadGraph(graphPath, args)
    let graph = loaded.graph
    let input = try chooseInput(graph, named: args.string("input-name"))
    guard graph.outputs.count == 1, let output = graph.outputs.first,
      case .embedding = output.type.element, !output.type.isStream
    else {
      let found = graph.outputs.map { "\($0.name): \($0.type)" }.joined(separator: ", ")
      throw ValidationFailure(
        "\(graphPath): a gallery graph needs one embedding output, found \(found.isEmpty ? "none" : found)")
    }
    let (files, skipped) = try listFiles(folder, for: input, registry: loaded.registry)

    let events = RunEvents(progress: ProgressDisplay(mode: .none), cache: nil)
    let interrupt = InterruptHandler(events: events)
    defer { interrupt.stop() }
    let showProgress = CommandSupport.standardErrorIsTerminal && !args.flag("json")
    let start = DispatchTime.now().uptimeNanoseconds
    var rows: [Float] = []
    var first: Embedding?
    for (index, name) in files.enumerated() {
      if events.isCancelled { throw Interrupted() }
      if showProgress {
        CommandSupport.printError("\r\u{1B}[K[\(index + 1)/\(files.count)] \(name)")
      }
      let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
      let value = try GraphInputs.read(path, for: input.name, declared: input.type, registry: loaded.registry)
      let values = try Execution.run(graph, inputs: [input.name: value], observer: events, events: events)
      guard case .embedding(let embedding)? = values[output.name] else {
        throw RunFailure(
          "\(path): the graph's output '\(output.name)' gave \(values[output.name]?.kindName ?? "nothing"), expected an embedding"
        )
      }
      guard embedding.vectors.rank == 2, embedding.vectors.shape[0] == 1 else {
        throw RunFailure(
          "\(path): the graph gave vectors \(shapeText(embedding.vectors.shape)), expected one row [1, dimension] per file"
        )
      }
      if let first {
        guard first.space == embedding.space, first.form == embedding.form,
          first.vectors.shape[1] == embedding.vectors.shape[1]
        else {
          throw RunFailure(
            "\(path): embedding<\(embedding.space), \(embedding.vectors.shape[1]), \(embedding.form.rawValue)> differs from the first file's embedding<\(first.space), \(first.vectors.shape[1]), \(first.form.rawValue)>"
          )
        }
      } else {
        first = embedding
      }
      rows += embedding.vectors.converted(to: .f32).floats()
    }
    if showProgress { CommandSupport.printError("\r\u{1B}[K") }
    guard let first else { throw ValidationFailure("\(folder): no file to embed") }
    let dimension = first.vectors.shape[1]
    let gallery = EmbeddingGallery(
      files: files, space: first.space, dimension: dimension, form: first.form.rawValue,
      graph: absolute(graphPath), folder: absolute(folder), version: version)
    let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
    do {
      try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
      try gallery.write(vectors: Tensor(rows, shape: [files.count, dimension]), to: out)
    } catch {
      throw RunFailure("cannot write the gallery: \(error)")
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    if args.flag("json") {
      print(
        JSONValue.object([
          JSONMember("manifest", .string(EmbeddingGallery.manifestPath(out))),
          JSONMember("vectors", .string(EmbeddingGallery.vectorsPath(out))),
          JSONMember("count", JSONValue(files.count)), JSONMember("space", .string(first.space)),
          JSONMember("dimension", JSONValue(dimension)), JSONMember("form", .string(first.form.rawValue)),
          JSONMember("skipped", .array(skipped.map { .string($0) })),
          JSONMember("seconds", JSONValue(seconds)),
        ]).encoded(pretty: true))
    } else {
      CommandSupport.printError(
        "gallery: \(files.count) files → \(EmbeddingGallery.vectorsPath(out)) (embedding<\(first.space), \(dimension), \(first.form.rawValue)>)\(skipped.isEmpty ? "" : "; skipped \(skipped.count): \(skipped.joined(separator: ", "))")\n"
      )
    }
  }

  /// The graph input that receives each file.
  static func chooseInput(_ graph: Graph, named name: String?) throws -> (name: String, type: PortType) {
    if let name {
      guard let input = graph.inputs.first(where: { $0.name == name }) else {
        let known = graph.inputs.map(\.name).joined(separator: ", ")
        throw ValidationFailure("--input-name \(name): the graph has no such input; its inputs: \(known)")
      }
      return input
    }
    guard graph.inputs.count == 1, let input = graph.inputs.first else {
      throw ValidationFailure(
        "a gallery graph needs one input (or --input-name), found \(graph.inputs.count): \(graph.inputs.map(\.name).joined(separator: ", "))"
      )
    }
    return input
  }

  /// The folder's files (sorted names) that a reader turns into a value the input accepts, and
  /// the others.
  static func listFiles(_ folder: String, for input: (name: String, type: PortType), registry: NodeRegistry)
    throws -> (files: [String], skipped: [String])
  {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw ValidationFailure("\(folder): no such folder")
    }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    var files: [String] = []
    var skipped: [String] = []
    for name in names.sorted() where !name.hasPrefix(".") {
      var isFolder: ObjCBool = false
      let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
        continue
      }
      var bindings: [String: Int] = [:]
      if let reader = registry.reader(forPath: path, declared: input.type),
        input.type.accepts(reader.type, bindings: &bindings) == nil
      {
        files.append(name)
      } else {
        skipped.append(name)
      }
    }
    guard !files.isEmpty else {
      throw ValidationFailure(
        "\(folder): no file that input '\(input.name)' (\(input.type)) can read\(skipped.isEmpty ? "" : "; skipped: \(skipped.joined(separator: ", "))")"
      )
    }
    return (files, skipped)
  }

  static func absolute(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
  }
}
