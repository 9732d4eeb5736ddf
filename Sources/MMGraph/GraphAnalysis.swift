import MMCore

/// Where a node input finally comes from, after following subgraph boundaries.
enum ResolvedSource {
  case graphInput(String)
  case node(Int, port: String)
  /// A subgraph input that its subgraph node leaves unconnected.
  case unconnected(Alias)
  /// Unknown because of an error already reported.
  case unknown
}

extension GraphExpansion {
  /// Follows aliases from `endpoint`; also returns the subgraph inputs crossed (their declared
  /// types are checked at the boundary).
  func resolve(_ endpoint: Endpoint) -> (source: ResolvedSource, boundaries: [Alias]) {
    var current = endpoint
    var boundaries: [Alias] = []
    var seen = Set<Endpoint>()
    while true {
      if case .input(let scope, let name) = current, scope.isEmpty { return (.graphInput(name), boundaries) }
      if let alias = aliases[current] {
        guard seen.insert(current).inserted else {
          report(
            Diagnostic(
              .error, .cycle,
              "cycle through subgraph '\(alias.node)': its output '\(alias.port)' feeds its own input",
              location: alias.location, node: alias.node, port: alias.port))
          return (.unknown, boundaries)
        }
        if case .input = current { boundaries.append(alias) }
        guard let target = alias.target else { return (.unconnected(alias), boundaries) }
        current = target
        continue
      }
      if case .output(let node, let port) = current, let index = nodeIndex[node] {
        return (.node(index, port: port), boundaries)
      }
      return (.unknown, boundaries)
    }
  }

  /// Sorts, type-checks and assembles the graph; adds the warnings; orders the diagnostics.
  func finish(inputTypes: [String: PortType]) -> LoadResult {
    for (index, override) in overrides.enumerated() where !usedOverrides.contains(index) {
      report(
        Diagnostic(
          .error, .unknownOverride, "--set \(override.node).\(override.option): no node '\(override.node)'",
          node: override.node, expected: "a node of the graph", found: override.node,
          hint: Diagnostic.didYouMean(override.node, among: allNodeNames)))
    }
    var graphInputTypes: [String: PortType] = [:]
    for input in top?.inputs ?? [] { graphInputTypes[input.name] = input.type }
    for (name, found) in inputTypes.sorted(by: { $0.key < $1.key }) {
      guard let input = top?.inputs.first(where: { $0.name == name }) else {
        let names = top?.inputs.map(\.name) ?? []
        report(
          Diagnostic(
            .error, .unknownPort, "the graph has no input '\(name)'", port: name,
            expected: names.isEmpty ? "no inputs" : "one of " + names.joined(separator: ", "), found: name,
            hint: Diagnostic.didYouMean(name, among: names)))
        continue
      }
      var bindings: [String: Int] = [:]
      if let declared = input.type, let problem = declared.accepts(found, bindings: &bindings) {
        report(
          Diagnostic(
            .error, .typeMismatch, "graph input '\(name)': expected \(declared), found \(found): \(problem)",
            location: top?.keyLocation(input.pointer), port: name, expected: "\(declared)", found: "\(found)")
        )
      } else {
        graphInputTypes[name] = found
      }
    }

    // Edges, then a stable topological order: among ready nodes, the earliest in the files first.
    let sources = nodes.map { $0.inputs.map { resolve($0.endpoint) } }
    var consumers = [[Int]](repeating: [], count: nodes.count)
    var pending = [Int](repeating: 0, count: nodes.count)
    for (index, inputs) in sources.enumerated() {
      for producer in Set(inputs.compactMap { if case .node(let p, _) = $0.source { p } else { nil } }) {
        consumers[producer].append(index)
        pending[index] += 1
      }
    }
    var ready = MinHeap(pending.indices.filter { pending[$0] == 0 })
    var order: [Int] = []
    while let index = ready.pop() {
      order.append(index)
      for consumer in consumers[index] {
        pending[consumer] -= 1
        if pending[consumer] == 0 { ready.push(consumer) }
      }
    }
    if order.count < nodes.count {
      reportCycles(consumers: consumers, blocked: Set(pending.indices.filter { pending[$0] > 0 }))
    }

    var outputTypes = [[String: PortType]?](repeating: nil, count: nodes.count)
    var inputTypesOfNode = [[String: PortType]](repeating: [:], count: nodes.count)
    for index in order {
      (inputTypesOfNode[index], outputTypes[index]) = typeCheck(
        index, sources[index], graphInputTypes: graphInputTypes, outputTypes: outputTypes)
    }

    let needed = neededNodes(sources: sources)
    // A node with errors of its own (an unknown type, say) cannot be judged unused: its ports may
    // be what failed to resolve.
    let nodesWithErrors = Set(diagnostics.filter { $0.severity == .error }.compactMap(\.node))
    for (index, node) in nodes.enumerated()
    where !needed.contains(index) && !nodesWithErrors.contains(node.name) {
      report(
        Diagnostic(
          .warning, .unusedNode, "node '\(node.name)' is not needed by any graph output; it will not run",
          location: node.location, node: node.name, hint: "use one of its outputs, or remove it"))
    }

    let sorted = sortedDiagnostics()
    guard !sorted.contains(where: { $0.severity == .error }), let top else {
      return LoadResult(graph: nil, diagnostics: sorted)
    }
    var position = [Int](repeating: 0, count: nodes.count)
    for (newIndex, index) in order.enumerated() { position[index] = newIndex }
    func reference(_ source: ResolvedSource) -> PortReference? {
      switch source {
      case .graphInput(let name): return .graphInput(name)
      case .node(let index, let port): return .node(position[index], port: port)
      case .unconnected, .unknown: return nil
      }
    }
    let graphNodes = order.map { index in
      let node = nodes[index]
      var inputs: [String: PortReference] = [:]
      for (input, resolved) in zip(node.inputs, sources[index]) {
        inputs[input.port] = reference(resolved.source)
      }
      return GraphNode(
        name: node.name, descriptor: node.descriptor!, options: node.options!, inputs: inputs,
        inputTypes: inputTypesOfNode[index], outputTypes: outputTypes[index] ?? [:], doc: node.doc,
        location: node.location)
    }
    let graphOutputs = outputs.compactMap { output -> GraphOutput? in
      guard let endpoint = output.endpoint, case let resolved = resolve(endpoint).source,
        let source = reference(resolved)
      else { return nil }
      let type: PortType
      switch resolved {
      case .graphInput(let name): type = graphInputTypes[name] ?? .any
      case .node(let index, let port): type = outputTypes[index]?[port] ?? .any
      default: type = .any
      }
      return GraphOutput(name: output.name, source: source, type: type)
    }
    let graph = Graph(
      file: top.path, doc: top.doc, inputs: top.inputs.map { ($0.name, graphInputTypes[$0.name] ?? .any) },
      outputs: graphOutputs, nodes: graphNodes)
    return LoadResult(graph: graph, diagnostics: sorted)
  }

  /// Nodes that some top-level output depends on.
  func neededNodes(sources: [[(source: ResolvedSource, boundaries: [Alias])]]) -> Set<Int> {
    var needed = Set<Int>()
    var stack = outputs.compactMap { output -> Int? in
      guard let endpoint = output.endpoint, case .node(let index, _) = resolve(endpoint).source else {
        return nil
      }
      return index
    }
    while let index = stack.popLast() {
      guard needed.insert(index).inserted else { continue }
      for resolved in sources[index] {
        if case .node(let producer, _) = resolved.source { stack.append(producer) }
      }
    }
    return needed
  }

  /// Names each cycle among the blocked nodes once: `cycle: a → b → a`.
  func reportCycles(consumers: [[Int]], blocked: Set<Int>) {
    var state = [Int: Int]()  // 1: on the current path, 2: done
    var reported = Set<Int>()
    for start in blocked.sorted() where state[start] == nil {
      var path: [Int] = [start]
      var next: [Int] = [0]
      state[start] = 1
      while let node = path.last {
        let edges = consumers[node].filter { blocked.contains($0) }
        let i = next[next.count - 1]
        guard i < edges.count else {
          state[node] = 2
          path.removeLast()
          next.removeLast()
          continue
        }
        next[next.count - 1] += 1
        let consumer = edges[i]
        if state[consumer] == 1, !reported.contains(consumer), let from = path.firstIndex(of: consumer) {
          let cycle = Array(path[from...])
          reported.formUnion(cycle)
          let first = nodes[cycle.min()!]
          let rotated = cycle.firstIndex(of: cycle.min()!).map { Array(cycle[$0...] + cycle[..<$0]) } ?? cycle
          let names = (rotated + [rotated[0]]).map { nodes[$0].name }
          report(
            Diagnostic(
              .error, .cycle, "cycle: " + names.joined(separator: " → "), location: first.location,
              node: first.name,
              hint: "a node cannot depend on its own output; break the loop"))
        } else if state[consumer] == nil {
          state[consumer] = 1
          path.append(consumer)
          next.append(0)
        }
      }
    }
  }

  /// Diagnostics without duplicates, by file (in the order files were read), line and column.
  func sortedDiagnostics() -> [Diagnostic] {
    var seen = Set<Diagnostic>()
    let unique = diagnostics.filter { seen.insert($0).inserted }
    let rank = Dictionary(fileOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    func key(_ d: Diagnostic) -> (Int, Int, Int) {
      guard let location = d.location else { return (Int.max, 0, 0) }
      return (rank[location.file] ?? Int.max - 1, location.line, location.column)
    }
    return unique.enumerated().sorted { a, b in
      let (ka, kb) = (key(a.element), key(b.element))
      return ka != kb ? ka < kb : a.offset < b.offset
    }.map(\.element)
  }
}

/// A binary min-heap of node indices (the ready set of the topological sort).
struct MinHeap {
  private var items: [Int] = []

  init(_ values: [Int]) {
    for value in values { push(value) }
  }

  mutating func push(_ value: Int) {
    items.append(value)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard items[child] < items[parent] else { break }
      items.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> Int? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let top = items.removeLast()
    var parent = 0
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var smallest = parent
      if left < items.count, items[left] < items[smallest] { smallest = left }
      if right < items.count, items[right] < items[smallest] { smallest = right }
      guard smallest != parent else { break }
      items.swapAt(parent, smallest)
      parent = smallest
    }
    return top
  }
}
