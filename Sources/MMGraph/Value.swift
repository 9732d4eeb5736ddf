import MMCore

/// Audio samples: `[channels, frames]` f32 in [-1, 1] at `sampleRate` Hz.
public struct Audio: Sendable {
  public var samples: Tensor
  public var sampleRate: Int
  public init(samples: Tensor, sampleRate: Int) {
    self.samples = samples
    self.sampleRate = sampleRate
  }
  public var channels: Int { samples.shape.first ?? 0 }
  public var frames: Int { samples.shape.count > 1 ? samples.shape[1] : 0 }
}

/// Vectors `[count, dimension]` and the space they live in.
public struct Embedding: Sendable {
  public var vectors: Tensor
  public var space: String
  public var form: EmbeddingForm
  public init(vectors: Tensor, space: String, form: EmbeddingForm) {
    self.vectors = vectors
    self.space = space
    self.form = form
  }
}

/// A value flowing along an edge. The graph core knows these shapes of data, never how to
/// decode or compute them (that is the plugins' business).
public enum Value: Sendable {
  case tensor(Tensor)
  case audio(Audio)
  /// `[height, width, channels]`, u8 or f32.
  case image(Tensor)
  /// A path to a video file (frames are decoded by a plugin into `stream<image>`).
  case video(path: String)
  /// `[count, 3 + features]` f32.
  case pointCloud(Tensor)
  case text(String)
  case tokens([Int32])
  case embedding(Embedding)
  case json(JSONValue)

  /// The most specific port type this value has (used to check values against ports at run time).
  public var portType: PortType {
    switch self {
    case .tensor(let t): return .tensor(dtype: t.dtype, shape: t.shape.map { .fixed($0) })
    case .audio(let a): return .audio(sampleRate: a.sampleRate, channels: a.channels)
    case .image: return .image
    case .video: return .video
    case .pointCloud: return .pointCloud
    case .text: return .text
    case .tokens: return .tokens
    case .embedding(let e):
      return .embedding(space: e.space, dimension: e.vectors.shape.last, form: e.form)
    case .json: return .json
    }
  }
}

/// A point in a stream, in microseconds. Batch values (one per run) carry `Timestamp.none`.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var microseconds: Int64
  public init(microseconds: Int64) { self.microseconds = microseconds }
  public static let none = Timestamp(microseconds: .min)
  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
  public var description: String {
    self == .none ? "none" : "\(Double(microseconds) / 1e6)s"
  }
}

/// One value at one timestamp.
public struct Packet: Sendable {
  public var value: Value
  public var timestamp: Timestamp
  public init(_ value: Value, at timestamp: Timestamp = .none) {
    self.value = value
    self.timestamp = timestamp
  }
}
