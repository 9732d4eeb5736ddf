import Foundation
import MMCore
import MMGraph
import Synchronization

/// Where a node stands, for a progress display.
public struct NodeProgress: Sendable {
  public enum State: String, Sendable { case waiting, running, finished }
  public var node: String
  public var state: State
  /// Units done and in total as last reported by the node (0 of 0 until it reports).
  public var done: Int
  public var total: Int
  public var unit: String
  /// Time in the node's calls (known once it finished).
  public var busy: Duration
}

/// Folds run events into per-node progress and hands each change to `update` — the CLI draws a
/// bar per node on a terminal or prints JSON lines. Progress reports of one node are passed on
/// at most once per `interval` (the last one, 100%, always is); lifecycle changes always are.
/// `update` is called with the observer's lock held, so calls never overlap.
public final class ProgressObserver: RunObserver {
  private struct State {
    var nodes: [String: NodeProgress] = [:]
    var order: [String] = []
    var lastSent: [String: ContinuousClock.Instant] = [:]
  }
  private let state = Mutex(State())
  private let interval: Duration
  private let update: @Sendable (_ changed: NodeProgress, _ all: [NodeProgress]) -> Void

  public init(
    interval: Duration = .milliseconds(100),
    update: @escaping @Sendable (_ changed: NodeProgress, _ all: [NodeProgress]) -> Void
  ) {
    self.interval = interval
    self.update = update
  }

  /// Every node of the run in topological order.
  public var snapshot: [NodeProgress] { state.withLock { s in s.order.compactMap { s.nodes[$0] } } }

  public func observe(_ event: RunEvent) {
    state.withLock { s in
      var changed: NodeProgress?
      switch event {
      case .runStarted(let nodes):
        s.order = nodes
        for node in nodes {
          s.nodes[node] = NodeProgress(node: node, state: .waiting, done: 0, total: 0, unit: "", busy: .zero)
        }
      case .nodeStarted(let node, _):
        s.nodes[node]?.state = .running
        changed = s.nodes[node]
      case .progress(let node, let done, let total, let unit):
        s.nodes[node]?.done = done
        s.nodes[node]?.total = total
        s.nodes[node]?.unit = unit
        let now = ContinuousClock.now
        if done >= total || s.lastSent[node].map({ now - $0 >= interval }) ?? true {
          s.lastSent[node] = now
          changed = s.nodes[node]
        }
      case .nodeFinished(let node, _, _, let busy):
        s.nodes[node]?.state = .finished
        s.nodes[node]?.busy = busy
        changed = s.nodes[node]
      case .call, .emitted, .partial, .runFinished:
        break
      }
      if let changed { update(changed, s.order.compactMap { s.nodes[$0] }) }
    }
  }
}

/// Passes every event to each of several observers (a trace and a progress display).
public final class ObserverGroup: RunObserver {
  public let observers: [any RunObserver]
  public init(_ observers: [any RunObserver]) { self.observers = observers }
  public func observe(_ event: RunEvent) {
    for observer in observers { observer.observe(event) }
  }
}

extension RunEvent {
  /// The event as one line of JSON (`--progress json`), or nil for per-call and per-packet
  /// events, which are too many for a progress stream. Text pieces (`partial`) are included. Times are in seconds since the run began.
  public var jsonLine: String? {
    func seconds(_ d: Duration) -> String {
      let (s, atto) = d.components
      return String(format: "%.6f", Double(s) + Double(atto) * 1e-18)
    }
    func quoted(_ s: String) -> String { JSONValue.quoted(s) }
    switch self {
    case .runStarted(let nodes):
      return #"{"event":"run_started","nodes":[\#(nodes.map(quoted).joined(separator: ","))]}"#
    case .nodeStarted(let node, let at):
      return #"{"event":"node_started","node":\#(quoted(node)),"time":\#(seconds(at))}"#
    case .progress(let node, let done, let total, let unit):
      return
        #"{"event":"progress","node":\#(quoted(node)),"done":\#(done),"total":\#(total),"unit":\#(quoted(unit))}"#
    case .nodeFinished(let node, let at, let calls, let busy):
      return
        #"{"event":"node_finished","node":\#(quoted(node)),"time":\#(seconds(at)),"calls":\#(calls),"busy":\#(seconds(busy))}"#
    case .runFinished(let elapsed, let error):
      let message = error.map { quoted($0.description) } ?? "null"
      return #"{"event":"run_finished","elapsed":\#(seconds(elapsed)),"error":\#(message)}"#
    case .partial(let node, let port, let text):
      return #"{"event":"partial","node":\#(quoted(node)),"port":\#(quoted(port)),"text":\#(quoted(text))}"#
    case .call, .emitted:
      return nil
    }
  }
}
