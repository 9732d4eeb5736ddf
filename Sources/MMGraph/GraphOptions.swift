import Foundation
import MMCore

/// An option a node or subgraph declares: name, type, default (nil: required).
struct OptionSlot {
  var name: String
  var type: OptionType
  var defaultValue: JSONValue?

  init(_ spec: OptionSpec) {
    (name, type, defaultValue) = (spec.name, spec.type, spec.defaultValue)
  }

  init(_ option: GraphFile.Option) {
    (name, type, defaultValue) = (option.name, option.type, option.defaultValue)
  }
}

extension GraphExpansion {
  func overrideIndices(for node: String) -> [Int] {
    overrides.indices.filter { overrides[$0].node == node }
  }

  func markOverridesUsed(for node: String) {
    usedOverrides.formUnion(overrideIndices(for: node))
  }

  /// Checks the options written on a node (or, for the top graph, only overrides) against
  /// `slots`: substitutes `${…}`, applies `--set` overrides, fills defaults, resolves paths.
  /// Returns the values that are valid and whether all were.
  func optionValues(
    _ slots: [OptionSlot], given: [JSONMember], in file: GraphFile, nodePointer: String, node: String,
    overrideIndices: [Int], what: String, scopeValues: ScopeContext? = nil
  ) -> (values: [String: JSONValue], ok: Bool) {
    var values: [String: JSONValue] = [:]
    var ok = true
    let names = slots.map(\.name)
    let subject = node.isEmpty ? "graph" : "node '\(node)'"
    for member in given {
      let pointer = JSONPointer.appending(member.key, to: nodePointer + "/options")
      guard let slot = slots.first(where: { $0.name == member.key }) else {
        ok = false
        report(
          Diagnostic(
            .error, .unknownOption, "\(subject) has no option '\(member.key)'",
            location: file.keyLocation(pointer),
            node: node, expected: names.isEmpty ? "no options" : "one of " + names.joined(separator: ", "),
            found: member.key, hint: Diagnostic.didYouMean(member.key, among: names)))
        continue
      }
      guard let substituted = substitute(member.value, at: pointer, scopeValues) else {
        ok = false
        continue
      }
      if let problem = check(substituted, against: slot.type) {
        ok = false
        report(
          Diagnostic(
            .error, .optionType, "\(subject) \(what) '\(slot.name)': \(problem)",
            location: file.location(pointer),
            node: node, expected: "\(slot.type)", found: substituted.encoded()))
        continue
      }
      values[slot.name] = resolvePath(substituted, slot.type, relativeTo: file.directory)
    }
    for index in overrideIndices {
      usedOverrides.insert(index)
      let override = overrides[index]
      let target = node.isEmpty ? override.option : "\(node).\(override.option)"
      guard let slot = slots.first(where: { $0.name == override.option }) else {
        ok = false
        report(
          Diagnostic(
            .error, .unknownOverride, "--set \(target): \(subject) has no option '\(override.option)'",
            node: node,
            expected: names.isEmpty ? "no options" : "one of " + names.joined(separator: ", "),
            found: override.option,
            hint: Diagnostic.didYouMean(override.option, among: names)))
        continue
      }
      let value = Self.coerceOverride(override.value, to: slot.type)
      if let problem = check(value, against: slot.type) {
        ok = false
        report(
          Diagnostic(
            .error, .optionType, "--set \(target): \(problem)", node: node, expected: "\(slot.type)",
            found: value.encoded()))
        continue
      }
      let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
      values[slot.name] = resolvePath(value, slot.type, relativeTo: here)
    }
    for slot in slots where values[slot.name] == nil && !given.contains(where: { $0.key == slot.name }) {
      if let defaultValue = slot.defaultValue {
        values[slot.name] = resolvePath(defaultValue, slot.type, relativeTo: file.directory)
      } else {
        ok = false
        report(
          Diagnostic(
            .error, .missingOption, "\(subject) needs \(what) '\(slot.name)' (\(slot.type))",
            location: file.keyLocation(nodePointer), node: node, expected: "\(slot.type)", found: "nothing",
            hint: node.isEmpty
              ? "give it a \"default\" or pass --set \(slot.name)=VALUE"
              : "add \"options\": { \"\(slot.name)\": … } or pass --set \(node).\(slot.name)=VALUE"))
      }
    }
    return (values, ok)
  }

  /// `--set n.mode=3` means the text "3" for a string option.
  static func coerceOverride(_ value: JSONValue, to type: OptionType) -> JSONValue {
    switch (type, value) {
    case (.string, .number(let text)), (.path, .number(let text)), (.choice, .number(let text)):
      return .string(text)
    case (.string, .bool(let flag)), (.choice, .bool(let flag)): return .string(String(flag))
    default: return value
    }
  }

  /// Why `value` is not of `type`, or nil.
  func check(_ value: JSONValue, against type: OptionType) -> String? {
    switch type {
    case .json: return nil
    case .bool: return value.bool == nil ? "expected true or false, found \(value.typeName)" : nil
    case .float: return value.double == nil ? "expected a number, found \(value.typeName)" : nil
    case .string, .path: return value.string == nil ? "expected a string, found \(value.typeName)" : nil
    case .int(let range):
      guard let int = value.int else {
        return "expected an integer, found \(value.typeName == "number" ? value.encoded() : value.typeName)"
      }
      if let range, !range.contains(int) {
        return "\(int) is outside \(range.lowerBound)...\(range.upperBound)"
      }
      return nil
    case .choice(let names):
      guard let name = value.string else {
        return "expected one of \(names.joined(separator: ", ")), found \(value.typeName)"
      }
      guard names.contains(name) else {
        let hint = Diagnostic.nearest(to: name, among: names).map { " (did you mean '\($0)'?)" } ?? ""
        return "'\(name)' is not one of \(names.joined(separator: ", "))\(hint)"
      }
      return nil
    case .list(let element):
      guard let items = value.elements else { return "expected a list, found \(value.typeName)" }
      for (index, item) in items.enumerated() {
        if let problem = check(item, against: element) { return "element \(index): \(problem)" }
      }
      return nil
    }
  }

  /// Path options become absolute, resolved against `directory`; `~/…` is in the home folder.
  func resolvePath(_ value: JSONValue, _ type: OptionType, relativeTo directory: URL) -> JSONValue {
    switch (type, value) {
    case (.path, .string(let path)) where path.hasPrefix("~/"):
      let home =
        ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
      return .string(GraphExpansion.normalized(home + path.dropFirst(1)))
    case (.path, .string(let path)):
      return .string(GraphExpansion.normalized(path.hasPrefix("/") ? path : directory.path + "/" + path))
    case (.list(let element), .array(let items)):
      return .array(items.map { resolvePath($0, element, relativeTo: directory) })
    default: return value
    }
  }

  /// Replaces `${name}` with graph option values: a string that is exactly `${name}` becomes the
  /// option's typed value; inside longer text the option's text is spliced in; `$$` is a `$`.
  /// nil after reporting an unknown name or an unterminated `${`.
  func substitute(_ value: JSONValue, at pointer: String, _ scope: ScopeContext?) -> JSONValue? {
    switch value {
    case .array(let items):
      var out: [JSONValue] = []
      for (index, item) in items.enumerated() {
        guard let item = substitute(item, at: pointer + "/\(index)", scope) else { return nil }
        out.append(item)
      }
      return .array(out)
    case .object(let members):
      var out: [JSONMember] = []
      for member in members {
        guard let item = substitute(member.value, at: JSONPointer.appending(member.key, to: pointer), scope)
        else { return nil }
        out.append(JSONMember(member.key, item))
      }
      return .object(out)
    case .string(let text) where text.contains("$"):
      return substitute(text, at: pointer, scope)
    default:
      return value
    }
  }

  private func substitute(_ text: String, at pointer: String, _ scope: ScopeContext?) -> JSONValue? {
    let declared = scope?.file.options.map(\.name) ?? []
    let values = scope?.values ?? [:]
    let location = scope?.file.location(pointer)
    var out = ""
    var rest = Substring(text)
    while let dollar = rest.firstIndex(of: "$") {
      out += rest[..<dollar]
      let after = rest[rest.index(after: dollar)...]
      if after.hasPrefix("$") {
        out += "$"
        rest = after.dropFirst()
        continue
      }
      guard after.hasPrefix("{") else {
        out += "$"
        rest = after
        continue
      }
      guard let close = after.firstIndex(of: "}") else {
        report(
          Diagnostic(
            .error, .badReference, "unterminated '${' in \"\(text)\"", location: location,
            expected: "${option}", found: text, hint: "write $$ for a literal $"))
        return nil
      }
      let name = String(after[after.index(after: after.startIndex)..<close])
      guard declared.contains(name) else {
        report(
          Diagnostic(
            .error, .danglingReference, "'${\(name)}' names no graph option", location: location,
            expected: declared.isEmpty
              ? "no graph options are declared" : "one of " + declared.joined(separator: ", "),
            found: name, hint: Diagnostic.didYouMean(name, among: declared) ?? "declare it under \"options\"")
        )
        return nil
      }
      guard let value = values[name] else { return nil }  // its own error is already reported
      if out.isEmpty && after[after.index(after: close)...].isEmpty { return value }
      switch value {
      case .string(let s): out += s
      case .number(let s): out += s
      default: out += value.encoded()
      }
      rest = after[after.index(after: close)...]
    }
    return .string(out + rest)
  }
}
