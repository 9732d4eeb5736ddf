import Foundation
import MMCore

/// mmgraph's command line. Exit codes: 0 success, 1 run failure, 2 usage or validation error.
let version = "0.1.0"

let commands: [(name: String, summary: String, run: ([String]) throws -> Void)] = [
  ("run", "run a graph on inputs and write its outputs", RunCommand.run),
  ("check", "validate a graph and report every problem", CheckCommand.run),
  ("plan", "show what a run would do: order, shapes, FLOPs, memory, cache hits", PlanCommand.run),
  ("dot", "print a graph as Graphviz dot", DotCommand.run),
  ("nodes", "list the node types: ports, types, options, examples", NodesCommand.run),
  ("gallery", "embed each file of a folder, save the vectors for space.search", GalleryCommand.run),
  ("bench", "measure kernel speed (gemm, gemv, attention, conv2d)", BenchCommand.run),
]

@MainActor func printUsage() {
  var text = """
    mmgraph \(version) — an any-to-any multimodal graph toolkit

    USAGE: mmgraph <command> [options]

    COMMANDS:

    """
  for command in commands {
    text += "  " + command.name.padding(toLength: 12, withPad: " ", startingAt: 0) + command.summary + "\n"
  }
  text += """

    OPTIONS:
      --version     print the version
      --help        show this help; `mmgraph <command> --help` for a command's options

    ENVIRONMENT:
      MMGRAPH_THREADS      worker threads for all kernels (default: the available cores)
      MMGRAPH_PLUGIN_PATH  folders (colon-separated) whose *.so plugins load at start
      XDG_CACHE_HOME       the node-output cache lives in $XDG_CACHE_HOME/mmgraph
                           (default ~/.cache/mmgraph; `run --cache DIR` or `--no-cache`)

    EXIT CODES: 0 success, 1 run failure, 2 usage or validation error, 130 interrupted

    """
  print(text, terminator: "")
}

func fail(_ message: String, code: Int32) -> Never {
  FileHandle.standardError.write(Data("mmgraph: error: \(message)\n".utf8))
  exit(code)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let first = arguments.first else {
  printUsage()
  exit(2)
}
switch first {
case "--version", "version":
  print("mmgraph \(version)")
case "--help", "-h", "help":
  printUsage()
default:
  guard let command = commands.first(where: { $0.name == first }) else {
    let hint = nearest(first, in: commands.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
    fail("unknown command '\(first)'\(hint); see `mmgraph --help`", code: 2)
  }
  CPUCheck.requireBuildFeatures()
  do {
    try command.run(Array(arguments.dropFirst()))
  } catch let error as UsageError {
    fail("\(error)\nsee `mmgraph \(command.name) --help`", code: 2)
  } catch let error as ValidationFailure {
    fail("\(error)", code: 2)
  } catch is Interrupted {
    fail("interrupted", code: 130)
  } catch {
    fail("\(error)", code: 1)
  }
}
