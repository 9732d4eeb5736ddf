import Foundation
import MMCore
import MMGraph
import MMRuntime
import Synchronization

/// What the CLI hears while a graph runs (a `RunObserver`): node timings for the `--json`
/// summary, progress for the display; it owns the run's cancellation token (Ctrl-C).
final class RunEvents: RunObserver {
  let progress: ProgressDisplay
  let cache: NodeCache?
  /// `--print`: streams text outputs to standard output.
  let printer: TextPrinter?
  let cancellation = CancellationToken()
  private let busy = Mutex<[String: Double]>([:])

  init(progress: ProgressDisplay, cache: NodeCache?, printer: TextPrinter? = nil) {
    self.progress = progress
    self.cache = cache
    self.printer = printer
  }

  var isCancelled: Bool { cancellation.isCancelled }
  func cancel() { cancellation.cancel() }

  func observe(_ event: RunEvent) {
    switch event {
    case .nodeFinished(let node, _, _, let time):
      let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) * 1e-18
      busy.withLock { $0[node] = seconds }
      progress.nodeFinished(node, cached: cache?.recordedOutcomes()[node] == .hit)
    case .progress(let node, let done, let total, let unit):
      progress.progress(node, done: done, total: total, unit: unit)
    case .partial(let node, let port, let text):
      printer?.partial(node: node, port: port, text: text)
    default: break
    }
    progress.jsonLine(event)
  }

  /// Seconds spent in each node's calls.
  func nodeTimings() -> [String: Double] { busy.withLock { $0 } }
}

/// Runs a graph on the parallel scheduler and turns its results into one value per output.
enum Execution {
  /// Graph input values as packets: one batch packet each; a JSON list given for a stream
  /// input becomes one packet per element (strings as text) at timestamps 0, 1, 2, … s.
  static func packets(_ graph: Graph, _ inputs: [String: Value]) -> [String: [Packet]] {
    var packets: [String: [Packet]] = [:]
    for (name, value) in inputs {
      let type = graph.inputs.first { $0.name == name }?.type
      if type?.isStream == true, case .json(.array(let items)) = value {
        packets[name] = items.enumerated().map { index, item in
          Packet(
            item.string.map(Value.text) ?? .json(item), at: Timestamp(microseconds: Int64(index) * 1_000_000))
        }
      } else {
        packets[name] = [Packet(value)]
      }
    }
    return packets
  }

  static func run(_ graph: Graph, inputs: [String: Value], observer: any RunObserver, events: RunEvents)
    throws
    -> [String: Value]
  {
    let scheduler = Scheduler(cancellation: events.cancellation)
    let results: [String: [Packet]]
    do {
      results = try scheduler.run(graph, inputs: packets(graph, inputs), outputs: nil, observer: observer)
    } catch .cancelled {
      throw Interrupted()
    } catch {
      throw RunFailure("\(error)")
    }
    var values: [String: Value] = [:]
    for output in graph.outputs {
      let packets = results[output.name] ?? []
      if output.type.isStream {
        values[output.name] = try streamValue(output.name, packets.map(\.value))
      } else if let packet = packets.last {
        values[output.name] = packet.value
      }
    }
    return values
  }

  /// A stream output as one value: tensors of one shape stacked along a new first axis, texts
  /// as a JSON list of strings, JSON values as a JSON list.
  static func streamValue(_ name: String, _ values: [Value]) throws -> Value {
    if values.allSatisfy({ if case .text = $0 { return true } else { return false } }) {
      return .json(
        .array(values.map { if case .text(let s) = $0 { return .string(s) } else { return .null } }))
    }
    if values.allSatisfy({ if case .json = $0 { return true } else { return false } }) {
      return .json(.array(values.map { if case .json(let j) = $0 { return j } else { return .null } }))
    }
    let tensors = values.compactMap { if case .tensor(let t) = $0 { return t } else { return nil } }
    guard tensors.count == values.count, let first = tensors.first else {
      throw RunFailure(
        "stream output '\(name)' holds \(values.first.map { "\($0.portType)" } ?? "nothing"); only streams of tensors, text or json can be written"
      )
    }
    guard tensors.allSatisfy({ $0.shape == first.shape && $0.dtype == first.dtype }) else {
      throw RunFailure(
        "stream output '\(name)': packets differ in shape or dtype, so they cannot be stacked into one .npy")
    }
    let stacked = Tensor(zeros: [tensors.count] + first.shape, dtype: first.dtype)
    for (index, tensor) in tensors.enumerated() {
      let dense = tensor.contiguous()
      (stacked.baseAddress + index * dense.byteCount).copyMemory(
        from: dense.baseAddress, byteCount: dense.byteCount)
    }
    return .tensor(stacked)
  }
}
