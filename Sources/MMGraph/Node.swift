import MMCore

/// A node instance: MediaPipe's lifecycle — `open` once, `process` per input set, `close` once.
///
/// **Batch inputs** (non-stream ports) arrive once and stay readable in every call. **Stream
/// inputs** are aligned by timestamp: `process` is called once per timestamp at which every
/// connected stream input has a packet. A node with stream outputs and no stream inputs is a
/// **source**: `process` is called again and again (each call emits a few packets) until it
/// returns `.done`; the scheduler calls it only while downstream queues have room (back-pressure).
/// `close` may emit final packets (an aggregate over a stream).
///
/// Nodes are used from one thread at a time, but possibly a different thread per call.
public protocol Node: AnyObject {
  func open(_ context: NodeContext) throws
  func process(_ context: NodeContext) throws -> ProcessResult
  func close(_ context: NodeContext) throws
}

extension Node {
  public func open(_ context: NodeContext) throws {}
  public func close(_ context: NodeContext) throws {}
}

public enum ProcessResult: Sendable {
  /// Call again when more input (or, for a source, more room downstream) is there.
  case more
  /// This node has nothing more to emit; its output streams end.
  case done
}

/// What a node sees while it runs: its inputs, a way to emit outputs, progress and cancellation.
/// Implemented by the executors (serial and parallel).
public protocol NodeContext: AnyObject {
  /// The node's name in the graph (for messages).
  var nodeName: String { get }
  /// The value on an input port: the batch value, or the current packet of a stream port.
  func input(_ port: String) -> Value?
  /// The current packet's timestamp (`.none` for batch calls).
  var timestamp: Timestamp { get }
  /// Sends a value on an output port (a stream port may be emitted many times, in increasing
  /// timestamps; a batch port once).
  func emit(_ port: String, _ value: Value, at timestamp: Timestamp)
  /// Reports progress of long work (`done` of `total` units such as clips, frames or tokens).
  func progress(_ done: Int, of total: Int, unit: String)
  /// Reports a piece of a text output that is still being produced (an LLM's reply token by
  /// token, a transcript): observers can show it as it comes. The node still emits the whole
  /// value on `port` when it is done; pieces are for display only.
  func partial(_ port: String, text: String)
  /// True once the run is being cancelled (Ctrl-C, or another node failed): stop early.
  var isCancelled: Bool { get }
}

extension NodeContext {
  public func emit(_ port: String, _ value: Value) { emit(port, value, at: timestamp) }
}
