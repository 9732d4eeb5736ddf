import MMCore

/// One chat message: a role (`system`, `user`, `assistant`, …) and its text.
public struct ChatMessage: Hashable, Sendable {
  public var role: String
  public var content: String
  public init(role: String, content: String) {
    self.role = role
    self.content = content
  }
}

/// Why a template did not compile or render. `line`/`column` (1-based, in Unicode scalars) point
/// into the template source; `description` reads "unsupported filter 'wordwrap' at line 3, column 17".
public struct ChatTemplateError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: Hashable, Sendable {
    /// Malformed template text.
    case syntax
    /// Valid Jinja that this subset does not implement (a filter, test, tag, method or function).
    case unsupported
    /// The template called `raise_exception(message)`; `message` is the template's text.
    case raised
    /// An error while rendering: an undefined value used as an object, a type error, …
    case runtime
  }
  public var kind: Kind
  public var message: String
  public var line: Int
  public var column: Int

  public init(_ kind: Kind, _ message: String, line: Int, column: Int) {
    self.kind = kind
    self.message = message
    self.line = line
    self.column = column
  }

  public var description: String {
    kind == .raised ? message : "\(message) at line \(line), column \(column)"
  }
}

/// A chat template (the `tokenizer.chat_template` of a GGUF, the `chat_template` of a
/// `tokenizer_config.json`) compiled once and rendered as HF transformers' `apply_chat_template`
/// renders it with jinja2: `trim_blocks`, `lstrip_blocks`, loop controls, `raise_exception`,
/// `strftime_now`, and a `tojson` that is Python's `json.dumps` (no HTML escaping).
///
/// The subset: `{{ }}`, `{% %}`, `{# #}`, whitespace control, `if`/`elif`/`else`, `for` (with the
/// `if` clause, `else`, `loop.*`, `break`/`continue`), `set` (names, tuples, `ns.attr`, blocks),
/// `macro`, `generation`; Python-like expressions; the filters, tests and string/dict methods
/// common templates use. Anything else fails with `.unsupported` naming the construct and where it
/// is, never a wrong string. Undefined values behave as jinja2's default `Undefined`.
public struct ChatTemplate: Sendable {
  public let source: String
  let body: [Node]

  public init(source: String) throws(ChatTemplateError) {
    self.source = source
    var lexer = Lexer(source: source)
    let tokens = try lexer.tokenize()
    var parser = Parser(tokens: tokens)
    body = try parser.parseTemplate()
  }

  /// Renders `messages` with `add_generation_prompt`; `variables` adds to or overrides the context
  /// (`bos_token`, `eos_token`, `tools`, `date_string`, …). As in transformers, `tools` and
  /// `documents` are defined as `none` unless `variables` gives them.
  public func render(
    messages: [ChatMessage], addGenerationPrompt: Bool, variables: [String: JSONValue] = [:]
  ) throws(ChatTemplateError) -> String {
    let list = messages.map { message in
      Value.dict(OrderedDict([("role", .string(message.role)), ("content", .string(message.content))]))
    }
    return try render(messages: .list(list), addGenerationPrompt: addGenerationPrompt, variables: variables)
  }

  /// Renders messages given as JSON (objects with any fields: `tool_calls`, `name`, …).
  public func render(
    messages: [JSONValue], addGenerationPrompt: Bool, variables: [String: JSONValue] = [:]
  ) throws(ChatTemplateError) -> String {
    try render(
      messages: .list(messages.map(Value.init)), addGenerationPrompt: addGenerationPrompt,
      variables: variables)
  }

  private func render(
    messages: Value, addGenerationPrompt: Bool, variables: [String: JSONValue]
  ) throws(ChatTemplateError) -> String {
    var context: [String: Value] = [
      "messages": messages, "tools": .none, "documents": .none,
      "add_generation_prompt": .bool(addGenerationPrompt),
    ]
    for (name, value) in variables { context[name] = Value(value) }
    var interpreter = Interpreter(context: context)
    return try interpreter.run(body)
  }
}
