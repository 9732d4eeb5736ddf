import MMCore

/// One dimension of a tensor port: a fixed size or a symbol (`n`, `tokens`) that must agree
/// wherever the same symbol appears in one node's ports.
public enum Dimension: Hashable, Sendable, CustomStringConvertible {
  case fixed(Int)
  case symbol(String)

  public var description: String {
    switch self {
    case .fixed(let n): return String(n)
    case .symbol(let s): return s
    }
  }
}

/// What an embedding's vectors are: raw model output, unit vectors (L2-normalized), or unit
/// vectors multiplied by a logit scale (ready for a softmax over similarities). Feeding one where
/// another is expected is a load-time error.
public enum EmbeddingForm: String, Hashable, Sendable, CaseIterable {
  case raw
  case unit
  case scaled
}

/// The type of a port, checked before a graph runs. Written in graph files as text:
/// `tensor<f32>[n, 768]`, `audio<16000, 1>`, `embedding<imagebind, 1024, unit>`, `stream<image>`.
/// Missing parameters are wildcards (`tensor` accepts any dtype and shape).
public indirect enum PortType: Hashable, Sendable {
  case any
  case tensor(dtype: DType?, shape: [Dimension]?)
  /// Samples `[channels, frames]` f32 at a sample rate.
  case audio(sampleRate: Int?, channels: Int?)
  /// Pixels `[height, width, channels]`, u8 or f32.
  case image
  /// A video file or decoder handle; its frames flow as `stream<image>`.
  case video
  /// Points `[count, 3 + features]` f32.
  case pointCloud
  case text
  case tokens
  /// Vectors `[count, dimension]` in a named embedding space.
  case embedding(space: String?, dimension: Int?, form: EmbeddingForm?)
  /// Structured results (rankings, labels with scores, summaries).
  case json
  /// A stream of timestamped packets of the element type.
  case stream(PortType)
}

extension PortType {
  /// The element type of a stream, or the type itself.
  public var element: PortType {
    if case .stream(let inner) = self { return inner }
    return self
  }

  public var isStream: Bool {
    if case .stream = self { return true }
    return false
  }
}
