import MMCore
import MMGraph
import Testing

/// Line and column (from 1) where `marker` begins in `text` (its `occurrence`-th appearance).
func position(of marker: String, in text: String, occurrence: Int = 1) -> (line: Int, column: Int) {
  var rest = Substring(text)
  var consumed = ""
  for _ in 1..<occurrence {
    let range = rest.range(of: marker)!
    consumed += rest[..<range.upperBound]
    rest = rest[range.upperBound...]
  }
  let before = consumed + rest[..<rest.range(of: marker)!.lowerBound]
  let lines = before.split(separator: "\n", omittingEmptySubsequences: false)
  return (lines.count, lines.last!.unicodeScalars.count + 1)
}

/// A graph around `nodes` with output `y` from `out`.
func graph(_ nodes: String, outputs: String = #""y": "out.out""#, extra: String = "") -> String {
  """
  {
    "mmgraph": 1,\(extra)
    "outputs": { \(outputs) },
    "nodes": {
  \(nodes)
    }
  }
  """
}

/// Expects exactly one error of `kind`, at `marker`, with the pointer, message fragment and hint.
func expectOne(
  _ text: String, _ kind: Diagnostic.Kind, at marker: String, occurrence: Int = 1, pointer: String,
  says fragment: String, hint: String? = nil, overrides: [OptionOverride] = [],
  inputTypes: [String: PortType] = [:], sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  let result = load(text, overrides: overrides, inputTypes: inputTypes)
  #expect(result.graph == nil, sourceLocation: sourceLocation)
  let matching = result.errors.filter { $0.kind == kind }
  #expect(matching.count == 1, "\(result.report)", sourceLocation: sourceLocation)
  guard let diagnostic = matching.first else { return }
  let (line, column) = position(of: marker, in: text, occurrence: occurrence)
  #expect(diagnostic.location?.file == "main.json", sourceLocation: sourceLocation)
  #expect(
    diagnostic.location?.line == line && diagnostic.location?.column == column,
    "expected \(line):\(column): \(diagnostic)", sourceLocation: sourceLocation)
  #expect(diagnostic.location?.pointer == pointer, "\(diagnostic)", sourceLocation: sourceLocation)
  #expect(diagnostic.message.contains(fragment), "\(diagnostic)", sourceLocation: sourceLocation)
  if let hint { #expect(diagnostic.hint == hint, "\(diagnostic)", sourceLocation: sourceLocation) }
}

@Suite("GraphLoader: one test per diagnostic") struct DiagnosticTests {
  static let source = #"    "src": { "type": "test.source" },"#

  @Test func malformedJSON() throws {
    let text = "{\n  \"mmgraph\": 1,\n  \"nodes\": { \"a\": { \"type\": \"test.source\" }\n"
    let result = load(text)
    #expect(result.graph == nil)
    let error = try #require(result.errors.first)
    #expect(result.errors.count == 1 && error.kind == .malformedJSON)
    #expect(
      error.description
        == "main.json:4:1: error: malformed JSON: expected ',' or '}' in an object, found the end of the text [/nodes]"
    )
    #expect(error.expected == "',' or '}' in an object" && error.found == "the end of the text")
  }

  @Test func versions() {
    expectOne(
      #"{"outputs": {}, "nodes": {}}"#, .version, at: "{", pointer: "", says: "missing the language version")
    expectOne(
      #"{"mmgraph": 2, "outputs": {}, "nodes": {}}"#, .version, at: "2", pointer: "/mmgraph",
      says: "unsupported graph language version 2", hint: "this mmgraph reads version 1: upgrade mmgraph")
    expectOne(
      #"{"mmgraph": "1", "outputs": {}, "nodes": {}}"#, .version, at: #""1""#, pointer: "/mmgraph",
      says: "version \"1\"")
  }

  @Test func unknownKeys() {
    let text = graph(#"    "out": { "type": "test.source", "optons": {} }"#, extra: #"\#n  "nodez": {},"#)
    let result = load(text)
    let unknown = result.errors.filter { $0.kind == .unknownKey }
    #expect(unknown.map(\.hint) == ["did you mean 'nodes'?", "did you mean 'options'?"], "\(result.report)")
    #expect(unknown.map(\.location?.pointer) == ["/nodez", "/nodes/out/optons"])
    let (line, column) = position(of: #""optons""#, in: text)
    #expect(unknown.last?.location?.line == line && unknown.last?.location?.column == column)
  }

  @Test func wrongJSONTypes() {
    expectOne(
      #"{"mmgraph": 1, "outputs": {}, "nodes": [1]}"#, .wrongJSONType, at: "[", pointer: "/nodes",
      says: "'nodes' must be an object")
    expectOne(
      graph(#"    "out": { "type": 3 }"#), .wrongJSONType, at: "3", pointer: "/nodes/out/type",
      says: "a node type must be a string")
    expectOne(
      graph(#"    "out": { "doc": "x" }"#), .wrongJSONType, at: #""out":"#, pointer: "/nodes/out",
      says: "has no \"type\"")
  }

  @Test func invalidName() {
    expectOne(
      graph(#"    "out": { "type": "test.source" }, "a.b": { "type": "test.source" }"#), .invalidName,
      at: #""a.b""#,
      pointer: "/nodes/a.b", says: "node name 'a.b' is not a valid name")
  }

  @Test func duplicateName() {
    let text = graph(#"    "out": { "type": "test.source" },\#n    "out": { "type": "test.text" }"#)
    expectOne(
      text, .duplicateName, at: #""out""#, occurrence: 2, pointer: "/nodes/out",
      says: "duplicate node name 'out' (first written at line 5, column 5)")
  }

  @Test func unknownNodeType() {
    expectOne(
      graph(#"    "out": { "type": "test.ad", "inputs": { "a": "$x" } }"#), .unknownNodeType,
      at: #""test.ad""#,
      pointer: "/nodes/out/type", says: "unknown node type 'test.ad'", hint: "did you mean 'test.add'?")
  }

  @Test func unknownPorts() {
    expectOne(
      graph(
        Self.source
          + #"    "out": { "type": "test.add", "inputs": { "a": "src.out", "b": "src.out", "bb": "src.out" } }"#
      ),
      .unknownPort, at: #""bb""#, pointer: "/nodes/out/inputs/bb", says: "(test.add) has no input 'bb'",
      hint: "did you mean 'b'?")
    expectOne(
      graph(
        Self.source
          + #"    "out": { "type": "test.scale", "options": { "factor": 1 }, "inputs": { "x": "src.outt" } }"#
      ),
      .unknownPort, at: #""src.outt""#, pointer: "/nodes/out/inputs/x",
      says: "node 'src' has no output 'outt'",
      hint: "did you mean 'out'?")
  }

  @Test func options() {
    let base = #"    "out": { "type": "test.scale", "inputs": { "x": "src" }, "options": "#
    expectOne(
      graph(Self.source + base + #"{ "factr": 2 } }"#), .unknownOption, at: #""factr""#,
      pointer: "/nodes/out/options/factr", says: "node 'out' has no option 'factr'",
      hint: "did you mean 'factor'?")
    expectOne(
      graph(Self.source + base + #"{ "mode": "log" } }"#), .missingOption, at: #""out""#,
      pointer: "/nodes/out", says: "node 'out' needs option 'factor' (float)")
    expectOne(
      graph(Self.source + base + #"{ "factor": "big" } }"#), .optionType, at: #""big""#,
      pointer: "/nodes/out/options/factor", says: "option 'factor': expected a number, found string")
    expectOne(
      graph(Self.source + base + #"{ "factor": 1, "mode": "lg" } }"#), .optionType, at: #""lg""#,
      pointer: "/nodes/out/options/mode", says: "'lg' is not one of linear, log (did you mean 'log'?)")
    expectOne(
      graph(#"    "out": { "type": "test.source", "options": { "rows": 0 } }"#), .optionType, at: "0 }",
      pointer: "/nodes/out/options/rows", says: "0 is outside 1...1000")
    expectOne(
      graph(#"    "out": { "type": "test.source", "options": { "rows": 2.5 } }"#), .optionType, at: "2.5",
      pointer: "/nodes/out/options/rows", says: "expected an integer, found 2.5")
  }

  @Test func badReferences() {
    expectOne(
      graph(Self.source + #"    "out": { "type": "test.bias", "inputs": { "x": 3 } }"#), .badReference,
      at: "3 }",
      pointer: "/nodes/out/inputs/x", says: "a reference must be a non-empty string")
    expectOne(
      graph(
        #"    "p": { "type": "test.pair", "inputs": { "x": "$x" } },"# + "\n"
          + #"    "out": { "type": "test.bias", "inputs": { "x": "p" } }"#,
        extra: #"\#n  "inputs": { "x": "tensor" },"#),
      .badReference, at: #""p" }"#, pointer: "/nodes/out/inputs/x", says: "node 'p' has 2 outputs: name one")
    expectOne(
      graph(#"    "out": { "type": "test.text", "options": { "value": "${oops" } }"#), .badReference,
      at: #""${oops""#,
      pointer: "/nodes/out/options/value", says: "unterminated '${'")
  }

  @Test func danglingReferences() {
    expectOne(
      graph(
        #"    "out": { "type": "test.bias", "inputs": { "x": "$xs" } }"#,
        extra: #"\#n  "inputs": { "x": "tensor" },"#),
      .danglingReference, at: #""$xs""#, pointer: "/nodes/out/inputs/x", says: "'$xs' names no graph input",
      hint: "did you mean '$x'?")
    expectOne(
      graph(Self.source + #"    "out": { "type": "test.bias", "inputs": { "x": "sr.out" } }"#),
      .danglingReference,
      at: #""sr.out""#, pointer: "/nodes/out/inputs/x", says: "'sr.out' names no node",
      hint: "did you mean 'src'?")
    expectOne(
      graph(
        Self.source
          + #"    "out": { "type": "test.scale", "inputs": { "x": "src" }, "options": { "factor": "${sclae}" } }"#,
        extra: #"\#n  "options": { "scale": { "type": "float", "default": 1 } },"#),
      .danglingReference, at: #""${sclae}""#, pointer: "/nodes/out/options/factor",
      says: "'${sclae}' names no graph option",
      hint: "did you mean 'scale'?")
    expectOne(
      graph(#"    "src": { "type": "test.source" }"#, outputs: #""y": "nothing.out""#), .danglingReference,
      at: #""nothing.out""#, pointer: "/outputs/y",
      says: "'nothing.out' names no node")
  }

  @Test func unboundInput() {
    expectOne(
      graph(Self.source + #"    "out": { "type": "test.add", "inputs": { "a": "src" } }"#), .unboundInput,
      at: #""out": {"#,
      pointer: "/nodes/out", says: "node 'out' input 'b' (tensor<f32>[n, d]) is not connected")
  }

  @Test func cycle() {
    let nodes = #"""
          "a": { "type": "test.bias", "inputs": { "x": "out.out" } },
          "b": { "type": "test.bias", "inputs": { "x": "a.out" } },
          "out": { "type": "test.bias", "inputs": { "x": "b.out" } },
          "self": { "type": "test.bias", "inputs": { "x": "self.out" } }
      """#
    let result = load(graph(nodes))
    let cycles = result.errors.filter { $0.kind == .cycle }.map(\.message)
    #expect(cycles == ["cycle: a → b → out → a", "cycle: self → self"], "\(result.report)")
    let selfLoop = graph(#"    "out": { "type": "test.bias", "inputs": { "x": "out.out" } }"#)
    expectOne(selfLoop, .cycle, at: #""out": {"#, pointer: "/nodes/out", says: "cycle: out → out")
  }

  @Test func typeSyntax() {
    expectOne(
      graph(
        #"    "out": { "type": "test.bias", "inputs": { "x": "$x" } }"#,
        extra: #"\#n  "inputs": { "x": "tensor<f33>" },"#),
      .typeSyntax, at: #""tensor<f33>""#, pointer: "/inputs/x",
      says: "input 'x': type 'tensor<f33>' at column 8: expected a dtype")
  }

  @Test func typeMismatches() {
    expectOne(
      graph(
        #"    "t": { "type": "test.text" },"# + "\n"
          + #"    "out": { "type": "test.bias", "inputs": { "x": "t" } }"#),
      .typeMismatch, at: #""t" }"#, pointer: "/nodes/out/inputs/x",
      says: "node 'out' input 'x': expected tensor, found text")
    let embed = #"""
          "e": { "type": "test.embed", "options": { "form": "scaled" }, "inputs": { "x": "src" } },
          "u": { "type": "test.embed", "inputs": { "x": "src" } },
      """#
    expectOne(
      graph(
        Self.source + embed + "\n"
          + #"    "out": { "type": "test.similarity", "inputs": { "a": "e", "b": "u" } }"#,
        outputs: #""y": "out""#),
      .typeMismatch, at: #""e", "b""#, pointer: "/nodes/out/inputs/a",
      says:
        "expected embedding<_, _, unit>, found embedding<clip, 512, scaled> (scaled embeddings, expected unit",
      hint: "take the embedding before the logit scale, or L2-normalize it")
    let two = #"""
          "src": { "type": "test.source" },
          "c": { "type": "test.embed", "inputs": { "x": "src" } },
          "i": { "type": "test.embed", "options": { "space": "imagebind" }, "inputs": { "x": "src" } },
          "out": { "type": "test.similarity", "inputs": { "a": "c", "b": "i" } }
      """#
    expectOne(
      graph(two), .typeMismatch, at: #""i" }"#, pointer: "/nodes/out/inputs/b",
      says: "node 'out' input 'b': expected embedding<clip>, found embedding<imagebind>")
    expectOne(
      graph(
        #"    "w": { "type": "test.wave" },"# + "\n"
          + #"    "out": { "type": "test.listen", "inputs": { "audio": "w" } }"#),
      .typeMismatch, at: #""w" }"#, pointer: "/nodes/out/inputs/audio",
      says: "sample rate 44100 Hz, expected 16000 Hz",
      hint: "insert an audio.resample node (44100 → 16000 Hz)")
    expectOne(
      graph(
        #"    "out": { "type": "test.add", "inputs": { "a": "$x", "b": "$x" } }"#,
        extra: #"\#n  "inputs": { "x": "tensor<f32>" },"#),
      .typeMismatch, at: #""x""#, pointer: "/inputs/x",
      says: "graph input 'x': expected tensor<f32>, found tensor<f16>",
      inputTypes: ["x": .tensor(dtype: .f16, shape: nil)])
    expectOne(
      graph(
        #"    "f": { "type": "test.frames" },"# + "\n"
          + #"    "out": { "type": "test.bias", "inputs": { "x": "f" } }"#),
      .typeMismatch, at: #""f" }"#, pointer: "/nodes/out/inputs/x",
      says: "(a stream cannot feed a single-value port")
  }

  @Test func overrides() {
    let text = graph(#"    "out": { "type": "test.source" }"#)
    expectOneOverride(
      text, [("outt", "rows", JSONValue(3))], says: "--set outt.rows: no node 'outt'",
      hint: "did you mean 'out'?")
    expectOneOverride(
      text, [("out", "row", JSONValue(3))], says: "--set out.row: node 'out' has no option 'row'",
      hint: "did you mean 'rows'?")
    expectOneOverride(
      text, [("", "scale", JSONValue(3))], says: "--set scale: graph has no option 'scale'", hint: nil)
    let result = load(text, overrides: [("out", "rows", .string("many"))])
    #expect(result.errors.map(\.message) == ["--set out.rows: expected an integer, found string"])
  }

  func expectOneOverride(
    _ text: String, _ overrides: [OptionOverride], says message: String, hint: String?,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let result = load(text, overrides: overrides)
    #expect(result.errors.map(\.message) == [message], "\(result.report)", sourceLocation: sourceLocation)
    #expect(result.errors.first?.kind == .unknownOverride, sourceLocation: sourceLocation)
    #expect(result.errors.first?.hint == hint, sourceLocation: sourceLocation)
    #expect(result.errors.first?.location == nil, sourceLocation: sourceLocation)
  }

  @Test func warnings() throws {
    let text = graph(
      #"    "out": { "type": "test.source" },"# + "\n" + #"    "spare": { "type": "test.text" }"#,
      extra: #"\#n  "inputs": { "unused": "text" },"#)
    let result = load(text)
    #expect(result.errors.isEmpty, "\(result.report)")
    #expect(result.graph != nil, "warnings do not stop a load")
    #expect(result.warnings.map(\.kind) == [.unusedInput, .unusedNode])
    #expect(
      result.warnings.map(\.message) == [
        "graph input 'unused' is never used",
        "node 'spare' is not needed by any graph output; it will not run",
      ])
    let (line, column) = position(of: #""spare""#, in: text)
    #expect(result.warnings.last?.location?.line == line && result.warnings.last?.location?.column == column)
    #expect(
      result.warnings.first?.description.hasPrefix("main.json:3:15: warning: graph input 'unused'") == true)
  }
}
