import Foundation
import MMCore
import MMGraph
import MMRuntime

/// `mmgraph run GRAPH --input … --out DIR`: validates the graph, runs what its outputs need
/// (cached nodes are served from the on-disk cache) and writes every output into DIR, all or
/// nothing. Ctrl-C cancels the run, removes temporary files and exits with 130.
enum RunCommand {
  static let help = """
    USAGE: mmgraph run GRAPH --out DIR [--input [NAME=]PATH …] [--set NODE.OPTION=VALUE …]
                       [--json] [--threads N] [--trace FILE] [--cache DIR | --no-cache]
                       [--cache-limit SIZE] [--progress json|bars|none] [--plugin PATH …]

    Runs GRAPH and writes each graph output into DIR: tensors as NAME.npy, text as NAME.txt,
    structured results and tokens as NAME.json, images as NAME.png, audio as NAME.wav. Files
    appear only when the whole run succeeded (each is written to a temporary file, then renamed);
    a failed or interrupted run leaves none.

    OPTIONS:
      --out DIR                  the output folder (created if needed)
      --input [NAME=]PATH        a graph input, read by the plugin for its file type: audio
                                 (.wav .flac .ogg …), images (.png .jpg), video (.mp4 .mkv …),
                                 point clouds (.ply .pcd .xyz), .npy, .txt, .json (`mmgraph
                                 nodes` lists them). A text input also takes the words
                                 themselves: --input prompt="What is …?". Unnamed inputs bind
                                 in declaration order
      --set NODE.OPTION=VALUE    override a node option; OPTION=VALUE sets a graph option.
                                 VALUE is JSON if it parses (3, true, [1,2]), else a string
      --json                     print a summary object on stdout (outputs with paths, dtypes,
                                 shapes; node timings; cache hits)
      --print                    print the text outputs on stdout as `name: text`; text a node
                                 writes piece by piece (an LLM's reply, a transcript) streams
      --threads N                worker threads for the whole run, kernels included
      --trace FILE               write a Chrome trace (chrome://tracing, Perfetto) of node timings
      --cache DIR                the node-output cache (default $XDG_CACHE_HOME/mmgraph or
                                 ~/.cache/mmgraph); pure nodes with unchanged inputs, options
                                 and files are served from it
      --no-cache                 neither read nor write the cache
      --cache-limit SIZE         evict least recently used entries past SIZE (default 4G; 512M, …)
      --progress MODE            json: JSON-lines events on stderr; bars (default on a terminal);
                                 none
      --plugin PATH              load an out-of-tree plugin (.so); repeatable

    EXIT CODES: 0 success, 1 a node failed or an output could not be written, 2 bad usage or an
    invalid graph or input, 130 interrupted (Ctrl-C)

    """

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let args = try Arguments(
      arguments,
      valueOptions: CommandSupport.graphValueOptions.union([
        "out", "threads", "trace", "cache", "cache-limit", "progress",
      ]),
      flagOptions: ["json", "no-cache", "print"])
    guard args.positionals.count == 1, let path = args.positionals.first else {
      throw UsageError("run takes one graph file, found \(args.positionals.count) arguments")
    }
    guard let outDirectory = args.string("out") else { throw UsageError("run needs --out DIR") }
    if args.flag("print") && args.flag("json") {
      throw UsageError("--print and --json both write to stdout; choose one")
    }
    let threads = try args.int("threads", range: 1...4096)
    let progress = ProgressDisplay(mode: try ProgressDisplay.mode(for: args.string("progress")))
    let cache = try openCache(args)

    let loaded = try CommandSupport.loadGraph(path, args)
    try requireInputs(loaded)
    if let threads { ThreadPool.configureShared(threads: threads) }
    let graph = cache?.prepare(loaded.graph, inputs: loaded.inputs).graph ?? loaded.graph

    let printer = args.flag("print") ? TextPrinter(graph: graph, progress: progress) : nil
    let events = RunEvents(progress: progress, cache: cache, printer: printer)
    let trace = args.string("trace").map { _ in ChromeTrace() }
    let observer: any RunObserver = trace.map { ObserverGroup([events, $0]) } ?? events
    let interrupt = InterruptHandler(events: events)
    defer { interrupt.stop() }
    let start = DispatchTime.now().uptimeNanoseconds
    let values: [String: Value]
    do {
      values = try Execution.run(graph, inputs: loaded.inputs, observer: observer, events: events)
    } catch {
      progress.finish()
      throw events.isCancelled ? Interrupted() : error
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    progress.finish()

    let outputs = try graph.outputs.map { output -> (name: String, value: Value) in
      guard let value = values[output.name] else {
        throw RunFailure("output '\(output.name)' was not produced")
      }
      return (output.name, value)
    }
    printer?.finish(outputs)
    let written = try OutputWriter(directory: outDirectory).write(
      outputs, isCancelled: { events.isCancelled })
    if let trace, let tracePath = args.string("trace") {
      do { try trace.write(to: URL(fileURLWithPath: tracePath)) } catch {
        throw RunFailure("cannot write the trace \(tracePath): \(error.localizedDescription)")
      }
    }
    if args.flag("json") {
      print(
        summary(path: path, graph: graph, written: written, seconds: seconds, events: events, cache: cache)
          .encoded(pretty: true))
    }
  }

  /// The cache from `--cache`/`--no-cache`/`--cache-limit`, or nil.
  static func openCache(_ args: Arguments) throws -> NodeCache? {
    if args.flag("no-cache") {
      guard args.string("cache") == nil else { throw UsageError("--cache and --no-cache exclude each other") }
      return nil
    }
    var limit = NodeCache.defaultSizeLimit
    if let text = args.string("cache-limit") {
      guard let parsed = NodeCache.parseSize(text) else {
        throw UsageError("--cache-limit expects a size such as 512M or 4G, found '\(text)'")
      }
      limit = parsed
    }
    do {
      return try NodeCache(directory: args.string("cache") ?? NodeCache.defaultDirectory(), sizeLimit: limit)
    } catch {
      throw ValidationFailure("\(error)")
    }
  }

  /// Every graph input that a needed node or an output reads must have a value.
  static func requireInputs(_ loaded: CommandSupport.LoadedGraph) throws {
    let graph = loaded.graph
    var used = Set<String>()
    for index in graph.neededNodes() {
      for reference in graph.nodes[index].inputs.values {
        if case .graphInput(let name) = reference { used.insert(name) }
      }
    }
    for output in graph.outputs {
      if case .graphInput(let name) = output.source { used.insert(name) }
    }
    let missing = graph.inputs.filter { used.contains($0.name) && loaded.inputs[$0.name] == nil }
    guard missing.isEmpty else {
      let list = missing.map { "'\($0.name)' (\($0.type))" }.joined(separator: ", ")
      let example = missing.map { "--input \($0.name)=PATH" }.joined(separator: " ")
      throw ValidationFailure(
        "graph input\(missing.count == 1 ? "" : "s") \(list) need\(missing.count == 1 ? "s" : "") a value: pass \(example)"
      )
    }
  }

  /// The `--json` summary: outputs (path, kind, dtype, shape, bytes), node timings and cache use.
  static func summary(
    path: String, graph: Graph, written: [OutputWriter.Written], seconds: Double, events: RunEvents,
    cache: NodeCache?
  ) -> JSONValue {
    let outputs = written.map { output -> JSONMember in
      var members = [JSONMember("path", .string(output.path)), JSONMember("format", .string(output.kind))]
      if let dtype = output.dtype { members.append(JSONMember("dtype", .string(dtype.name))) }
      if let shape = output.shape { members.append(JSONMember("shape", .array(shape.map { JSONValue($0) }))) }
      members.append(JSONMember("bytes", JSONValue(output.bytes)))
      return JSONMember(output.name, .object(members))
    }
    let timings = events.nodeTimings()
    let outcomes = cache?.recordedOutcomes() ?? [:]
    let needed = graph.neededNodes()
    let nodes = needed.map { index -> JSONValue in
      let node = graph.nodes[index]
      let cacheState =
        cache == nil
        ? "off"
        : outcomes[node.name]?.rawValue ?? (NodeCache.isCacheable(node.descriptor) ? "miss" : "not-cacheable")
      return .object([
        JSONMember("name", .string(node.name)), JSONMember("type", .string(node.descriptor.type)),
        JSONMember("seconds", JSONValue(timings[node.name] ?? 0)), JSONMember("cache", .string(cacheState)),
      ])
    }
    var members = [
      JSONMember("graph", .string(path)), JSONMember("ok", .bool(true)),
      JSONMember("seconds", JSONValue(seconds)),
      JSONMember("threads", JSONValue(ThreadPool.shared.threadCount)),
      JSONMember("outputs", .object(outputs)),
      JSONMember("nodes", .array(nodes)),
    ]
    if let cache {
      let hits = outcomes.values.filter { $0 == .hit }.count
      let stored = outcomes.values.filter { $0 == .stored }.count
      members.append(
        JSONMember(
          "cache",
          .object([
            JSONMember("directory", .string(cache.directory)), JSONMember("hits", JSONValue(hits)),
            JSONMember("stored", JSONValue(stored)),
          ])))
    } else {
      members.append(JSONMember("cache", .null))
    }
    return .object(members)
  }
}

/// Ctrl-C while running: the first cancels the run (nodes see `isCancelled`, the executor stops,
/// nothing is written); a second removes temporary files and exits at once with 130.
final class InterruptHandler {
  private let source: any DispatchSourceSignal

  init(events: RunEvents) {
    signal(SIGINT, SIG_IGN)
    source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
      if events.isCancelled {
        TemporaryFiles.removeAll()
        CommandSupport.printError("mmgraph: interrupted\n")
        _exit(130)
      }
      events.cancel()
    }
    source.resume()
  }

  func stop() {
    source.cancel()
    signal(SIGINT, SIG_DFL)
  }
}
