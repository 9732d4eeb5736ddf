import MMCore
import MMGraph
import Testing

@Suite("Port type syntax and compatibility") struct PortTypeTests {
  /// (written, canonical)
  static let spellings: [(String, String)] = [
    ("any", "any"), ("tensor", "tensor"), ("tensor<f32>", "tensor<f32>"),
    ("tensor<f32>[n, 768]", "tensor<f32>[n, 768]"), ("tensor[batch,3,224,224]", "tensor[batch, 3, 224, 224]"),
    ("tensor<bf16>[]", "tensor<bf16>[]"), ("tensor<_>[_, 4]", "tensor[_, 4]"),
    ("tensor<F8_E4M3>", "tensor<f8_e4m3>"),
    ("audio", "audio"), ("audio<16000>", "audio<16000>"), ("audio<16000, 1>", "audio<16000, 1>"),
    ("audio<_, 2>", "audio<_, 2>"), ("image", "image"), ("video", "video"), ("pointcloud", "pointcloud"),
    ("text", "text"), ("tokens", "tokens"), ("embedding", "embedding"),
    ("embedding<imagebind>", "embedding<imagebind>"),
    ("embedding<imagebind, 1024, unit>", "embedding<imagebind, 1024, unit>"),
    ("embedding<clip-vit.b32, scaled>", "embedding<clip-vit.b32, _, scaled>"),
    ("embedding<_, 512>", "embedding<_, 512>"),
    ("json", "json"), ("stream<image>", "stream<image>"),
    (" stream < audio<16000> > ", "stream<audio<16000>>"),
    ("stream<stream<text>>", "stream<stream<text>>"),
  ]

  @Test(arguments: spellings) func parsesAndPrints(written: String, canonical: String) throws {
    let type = try PortType(parsing: written)
    #expect(type.description == canonical)
    #expect(try PortType(parsing: canonical) == type)
  }

  @Test func parsesToTheRightCases() throws {
    #expect(
      try PortType(parsing: "tensor<f32>[n, 768]")
        == .tensor(dtype: .f32, shape: [.symbol("n"), .fixed(768)]))
    #expect(try PortType(parsing: "audio<16000>") == .audio(sampleRate: 16000, channels: nil))
    #expect(
      try PortType(parsing: "embedding<imagebind, 1024, unit>")
        == .embedding(space: "imagebind", dimension: 1024, form: .unit))
    #expect(try PortType(parsing: "stream<image>") == .stream(.image))
  }

  /// (text, column, expected contains)
  static let badTypes: [(String, Int, String)] = [
    ("", 1, "a port type"), ("tensr", 1, "a port type"), ("tensor<f33>", 8, "a dtype"),
    ("tensor<f32", 11, "'>'"),
    ("tensor[n, ]", 11, "a dimension"), ("tensor[3.5]", 8, "a dimension"), ("audio<0>", 7, "a sample rate"),
    ("audio<16000, x>", 14, "a channel count"), ("embedding<clip, 12, round>", 21, "a form"),
    ("embedding<clip, -3>", 17, "a dimension, a form"), ("stream", 7, "'<'"),
    ("image<3>", 6, "the end of the type"),
    ("text text", 6, "the end of the type"),
  ]

  @Test(arguments: badTypes) func rejectsBadTypes(text: String, column: Int, expected: String) {
    do {
      let type = try PortType(parsing: text)
      Issue.record("parsed \(text) as \(type)")
    } catch {
      #expect(error.column == column, "\(error)")
      #expect(error.expected.contains(expected), "\(error)")
      #expect(error.description.hasPrefix("type '\(text)' at column \(column): expected"))
    }
  }

  static let optionSpellings = [
    "bool", "int", "int<0, 10>", "int<-5, 5>", "float", "string", "path", "json", "choice<linear, log>",
    "list<int>", "list<choice<a, b>>",
  ]

  @Test(arguments: optionSpellings) func optionTypesRoundTrip(text: String) throws {
    #expect(try OptionType(parsing: text).description == text)
  }

  @Test func optionTypeErrors() {
    #expect(throws: TypeSyntaxError.self) { try OptionType(parsing: "int<5, 1>") }
    #expect(throws: TypeSyntaxError.self) { try OptionType(parsing: "choice<>") }
    #expect(throws: TypeSyntaxError.self) { try OptionType(parsing: "number") }
  }

  /// (expected port, found value type, nil if accepted else a fragment of the reason)
  static let compatibility: [(String, String, String?)] = [
    ("any", "text", nil), ("any", "tensor<f32>[2]", nil), ("tensor", "any", nil),
    ("any", "stream<image>", "a stream cannot feed"), ("stream<any>", "stream<image>", nil),
    ("tensor", "tensor<f16>[2, 3]", nil), ("tensor<f32>", "tensor<f32>[2, 3]", nil),
    ("tensor<f32>", "tensor<f16>", "dtype f16, expected f32"), ("tensor<f32>", "tensor", nil),
    ("tensor[n, 768]", "tensor[4, 768]", nil),
    ("tensor[n, 768]", "tensor[4, 512]", "dimension 1 is 512, expected 768"),
    ("tensor[n, 768]", "tensor[4, 768, 1]", "rank 3"), ("tensor[n, 768]", "tensor[m, d]", nil),
    ("tensor[n, n]", "tensor[3, 4]", "n = 3"), ("tensor[_, _]", "tensor[3, 4]", nil),
    ("tensor[2, 3]", "tensor", nil),
    ("tensor", "text", "text, expected tensor"), ("image", "tensor<u8>[4, 4, 3]", "tensor, expected image"),
    ("audio<16000>", "audio<16000, 2>", nil), ("audio<16000>", "audio<44100, 1>", "sample rate 44100 Hz"),
    ("audio<_, 1>", "audio<16000, 2>", "2 channel(s), expected 1"), ("audio<16000>", "audio", nil),
    ("embedding<imagebind, 1024, unit>", "embedding<imagebind, 1024, unit>", nil),
    ("embedding<_, _, unit>", "embedding<clip, 512, scaled>", "scaled embeddings, expected unit"),
    ("embedding<imagebind>", "embedding<clip>", "embedding space 'clip', expected 'imagebind'"),
    ("embedding<clip, 512>", "embedding<clip, 768>", "dimension 768, expected 512"),
    ("embedding", "embedding<clip, 512, raw>", nil), ("embedding<clip, 512, unit>", "embedding", nil),
    ("stream<image>", "image", "a single value cannot feed a stream port"),
    ("image", "stream<image>", "a stream cannot feed"),
    ("stream<image>", "stream<text>", "stream element: text"),
    ("stream<audio<16000>>", "stream<audio<8000>>", "sample rate 8000"), ("text", "text", nil),
    ("tokens", "text", "text, expected tokens"), ("json", "json", nil), ("pointcloud", "pointcloud", nil),
    ("video", "image", "image, expected video"),
  ]

  @Test(arguments: compatibility) func compatibilityTable(expected: String, found: String, problem: String?)
    throws
  {
    var bindings: [String: Int] = [:]
    let result = try PortType(parsing: expected).accepts(PortType(parsing: found), bindings: &bindings)
    if let problem {
      #expect(result?.contains(problem) == true, "\(expected) ← \(found): \(result ?? "accepted")")
    } else {
      #expect(result == nil, "\(expected) ← \(found): \(result ?? "")")
    }
  }

  @Test func symbolsBindAcrossPortsOfOneNode() throws {
    let port = try PortType(parsing: "tensor<f32>[n, d]")
    var bindings: [String: Int] = [:]
    #expect(port.accepts(try PortType(parsing: "tensor<f32>[3, 4]"), bindings: &bindings) == nil)
    #expect(bindings == ["n": 3, "d": 4])
    #expect(port.accepts(try PortType(parsing: "tensor<f32>[3, 4]"), bindings: &bindings) == nil)
    let problem = port.accepts(try PortType(parsing: "tensor<f32>[5, 4]"), bindings: &bindings)
    #expect(problem == "dimension 0 is 5, but n = 3 from another input")
    #expect(
      try PortType(parsing: "tensor<f32>[n, 2, d]").substituting(bindings).description
        == "tensor<f32>[3, 2, 4]")
  }
}
