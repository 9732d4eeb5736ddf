import MMCore

extension GraphExpansion {
  /// Checks node `index`'s inputs against its ports (symbols bound across all of its inputs) and
  /// runs its type rule. Returns the input types seen and the output types (nil when unknown
  /// because of an earlier error, so later nodes are not blamed for it).
  func typeCheck(
    _ index: Int, _ sources: [(source: ResolvedSource, boundaries: [Alias])],
    graphInputTypes: [String: PortType],
    outputTypes: [[String: PortType]?]
  ) -> (inputs: [String: PortType], outputs: [String: PortType]?) {
    let node = nodes[index]
    guard let descriptor = node.descriptor else { return ([:], nil) }
    var bindings: [String: Int] = [:]
    var found: [String: PortType] = [:]
    var complete = node.options != nil
    for (input, resolved) in zip(node.inputs, sources) {
      guard let spec = descriptor.inputs.first(where: { $0.name == input.port }) else { continue }
      let type: PortType
      switch resolved.source {
      case .unconnected(let alias):
        if !spec.optional {
          complete = false
          report(
            Diagnostic(
              .error, .unboundInput,
              "node '\(node.name)' input '\(spec.name)' comes from input '\(alias.port)' of subgraph node '\(alias.node)', which is not connected",
              location: input.location, node: node.name, port: spec.name, expected: "\(spec.type)",
              found: "nothing",
              hint: "connect '\(alias.port)' on node '\(alias.node)'"))
        }
        continue
      case .unknown:
        complete = false
        continue
      case .graphInput(let name):
        guard let known = graphInputTypes[name] else {
          complete = false
          continue
        }
        type = known
      case .node(let producer, let port):
        guard let known = outputTypes[producer] else {
          complete = false
          continue
        }
        type = known[port] ?? .any
      }
      // A value that already fails a subgraph's declared input type is reported there only.
      let boundaryProblems = resolved.boundaries.reversed().compactMap { alias -> Diagnostic? in
        var scratch: [String: Int] = [:]
        guard let declared = alias.declaredType, let problem = declared.accepts(type, bindings: &scratch)
        else {
          return nil
        }
        return mismatch(
          "node '\(alias.node)' input '\(alias.port)'", expected: declared, found: type, problem: problem,
          location: alias.location, node: alias.node, port: alias.port)
      }
      if let first = boundaryProblems.first {
        complete = false
        report(first)
        continue
      }
      if let problem = spec.type.accepts(type, bindings: &bindings) {
        complete = false
        report(
          mismatch(
            "node '\(node.name)' input '\(spec.name)'", expected: spec.type, found: type, problem: problem,
            location: input.location, node: node.name, port: spec.name))
        continue
      }
      found[spec.name] = type
    }
    var outputs: [String: PortType] = [:]
    for spec in descriptor.outputs { outputs[spec.name] = spec.type.substituting(bindings) }
    guard complete, let rule = descriptor.typeRule, let options = node.options else {
      return (found, outputs)
    }
    do throws(TypeRuleError) {
      for (port, type) in try rule(found, options) { outputs[port] = type }
    } catch {
      let location = node.inputs.first(where: { $0.port == error.port })?.location ?? node.location
      let isInput = descriptor.inputs.contains { $0.name == error.port }
      report(
        Diagnostic(
          .error, .typeMismatch,
          "node '\(node.name)' \(isInput ? "input" : "port") '\(error.port)': expected \(error.expected), found \(error.found)",
          location: location, node: node.name, port: error.port, expected: error.expected, found: error.found)
      )
      return (found, nil)
    }
    return (found, outputs)
  }

  private func mismatch(
    _ subject: String, expected: PortType, found: PortType, problem: String, location: SourceLocation,
    node: String, port: String
  ) -> Diagnostic {
    var message = "\(subject): expected \(expected), found \(found)"
    if expected.element.kindName == found.element.kindName || expected.isStream != found.isStream {
      message += " (\(problem))"
    }
    return Diagnostic(
      .error, .typeMismatch, message, location: location, node: node, port: port, expected: "\(expected)",
      found: "\(found)", hint: hint(expected: expected, found: found))
  }

  /// Advice for the common mismatches.
  private func hint(expected: PortType, found: PortType) -> String? {
    switch (expected.element, found.element) {
    case (.embedding(_, _, .unit?), .embedding(_, _, .scaled?)):
      return "take the embedding before the logit scale, or L2-normalize it"
    case (.embedding(let a?, _, _), .embedding(let b?, _, _)) where a != b:
      return "both sides must come from the same embedding model ('\(a)')"
    case (.audio(let rate?, _), .audio(let other?, _)) where rate != other:
      return "insert an audio.resample node (\(other) → \(rate) Hz)"
    default:
      return nil
    }
  }
}
