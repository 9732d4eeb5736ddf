import Foundation
import MMCore
import MMGraph
import Synchronization

/// A run observer that records every node call and writes Chrome trace-event JSON
/// (`chrome://tracing`, https://ui.perfetto.dev): one complete ("X") event per open, process and
/// close call, named after the node, on a track per OS thread.
///
///     {"traceEvents":[{"name":"mm","cat":"process","ph":"X","ts":12.5,"dur":830.25,"pid":1,"tid":2,…}]}
public final class ChromeTrace: RunObserver {
  private let spans = Mutex<[NodeCallSpan]>([])

  public init() {}

  public func observe(_ event: RunEvent) {
    if case .call(let span) = event { spans.withLock { $0.append(span) } }
  }

  /// The calls recorded so far, in the order they finished.
  public var calls: [NodeCallSpan] { spans.withLock { $0 } }

  /// The trace as JSON text. Threads are numbered 1, 2, … in order of first appearance.
  public var json: String {
    let all = calls.sorted { $0.start < $1.start }
    var threadIDs: [UInt64: Int] = [:]
    var events: [String] = []
    for span in all {
      let tid: Int
      if let known = threadIDs[span.thread] {
        tid = known
      } else {
        tid = threadIDs.count + 1
        threadIDs[span.thread] = tid
        events.append(
          #"{"name":"thread_name","ph":"M","pid":1,"tid":\#(tid),"args":{"name":"thread \#(tid)"}}"#)
      }
      var args = #""phase":"\#(span.phase.rawValue)""#
      if span.timestamp != .none { args += #","packet_us":\#(span.timestamp.microseconds)"# }
      events.append(
        #"{"name":\#(JSONValue.quoted(span.node)),"cat":"\#(span.phase.rawValue)","ph":"X","#
          + #""ts":\#(microseconds(span.start)),"dur":\#(microseconds(span.duration)),"#
          + #""pid":1,"tid":\#(tid),"args":{\#(args)}}"#)
    }
    return #"{"traceEvents":["# + events.joined(separator: ",\n") + #"],"displayTimeUnit":"ms"}"# + "\n"
  }

  /// Writes the trace to `url` (a temporary file in the same folder, then a rename).
  public func write(to url: URL) throws {
    try Data(json.utf8).write(to: url, options: .atomic)
  }
}

/// A duration in microseconds with nanosecond resolution, as JSON number text.
func microseconds(_ duration: Duration) -> String {
  let (seconds, attoseconds) = duration.components
  let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
  let whole = nanoseconds / 1000
  let fraction = abs(nanoseconds % 1000)
  return fraction == 0 ? "\(whole)" : "\(whole).\(String(fraction + 1000).dropFirst())"
}
