import Foundation
import MMCore
import MMGraph
import MMKernels

/// A stream source: `count` scalar f32 tensors start, start + step, … at timestamps 0, interval,
/// 2·interval, … µs. `delay_ms` paces it in real time (demos of progress and Ctrl-C).
let rangeStreamDescriptor = NodeDescriptor(
  type: "tensor.range_stream",
  doc: "Emits count scalar tensors (start + i·step) at timestamps i·interval µs; a stream source.",
  example: exampleNode("tensor.range_stream", options: [("count", "5"), ("step", "0.5")]),
  inputs: [],
  outputs: [PortSpec("out", .stream(.tensor(dtype: .f32, shape: [])), doc: "the values, one packet each")],
  options: [
    OptionSpec("count", .int(range: 0...100_000_000), default: .number("10"), doc: "how many packets"),
    OptionSpec("start", .float, default: .number("0"), doc: "the first value"),
    OptionSpec("step", .float, default: .number("1"), doc: "the increment"),
    OptionSpec(
      "interval", .int(range: 1...Int(Int32.max)), default: .number("1000"), doc: "µs between timestamps"),
    OptionSpec(
      "delay_ms", .int(range: 0...60_000), default: .number("0"), doc: "real-time pause before each packet"),
  ],
  make: { options in RangeStream(options) })

final class RangeStream: Node {
  let count: Int
  let start: Double
  let step: Double
  let interval: Int64
  let delay: Int
  var next = 0

  init(_ options: NodeOptions) {
    count = options.int("count")
    start = options.double("start")
    step = options.double("step")
    interval = Int64(options.int("interval"))
    delay = options.int("delay_ms")
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    guard next < count, !context.isCancelled else { return .done }
    if delay > 0 { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
    let value = Float(start + Double(next) * step)
    context.emit(
      "out", .tensor(Tensor([value], shape: [])), at: Timestamp(microseconds: Int64(next) * interval))
    next += 1
    context.progress(next, of: count, unit: "packets")
    return next < count ? .more : .done
  }
}

/// in: stream of tensors of one shape → sum: their elementwise sum (f32), emitted when the
/// stream ends; count: how many packets (i64 scalar). An empty stream gives a scalar 0.
let streamSumDescriptor = NodeDescriptor(
  type: "tensor.stream_sum",
  doc:
    "Adds up every tensor of a stream (same shapes); emits the sum and the packet count when the stream ends.",
  example: exampleNode("tensor.stream_sum", inputs: [("in", "ticks.out")]),
  inputs: [PortSpec("in", .stream(.any), doc: "tensors (or images) of one shape")],
  outputs: [
    PortSpec("sum", TensorTypes.f32Tensor, doc: "the elementwise sum"),
    PortSpec("count", .tensor(dtype: .i64, shape: []), doc: "the number of packets"),
  ],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    guard case .stream(let element)? = inputs["in"] else {
      if let found = inputs["in"], found != .any {
        throw TypeRuleError(port: "in", expected: "stream<tensor>", found: "\(found)")
      }
      return ["sum": TensorTypes.f32Tensor, "count": .tensor(dtype: .i64, shape: [])]
    }
    if element == .image {  // images are [height, width, channels] tensors
      return ["sum": TensorTypes.f32Tensor, "count": .tensor(dtype: .i64, shape: [])]
    }
    let x = try TensorTypes.parts(["in": element], "in")
    try TensorTypes.requireFloat(x.dtype, port: "in")
    return ["sum": .tensor(dtype: .f32, shape: x.shape), "count": .tensor(dtype: .i64, shape: [])]
  },
  make: { _ in StreamSum() })

final class StreamSum: Node {
  var total: Tensor?
  var packets: Int64 = 0

  func process(_ context: NodeContext) throws -> ProcessResult {
    var x = try context.tensor("in")
    if case .image? = context.input("in") { x = x.converted(to: .f32) }  // u8/u16 pixels
    if let sum = total {
      guard sum.shape == x.shape else {
        throw TensorNodeError(
          "\(context.nodeName): packet at \(context.timestamp) has shape \(shapeText(x.shape)), expected \(shapeText(sum.shape)) like the first"
        )
      }
      total = try add(sum, x)
    } else {
      total = try f32Copy(x, node: context.nodeName)
    }
    packets += 1
    return .more
  }

  func close(_ context: NodeContext) throws {
    context.emit("sum", .tensor(total ?? Tensor([0], shape: [])), at: .none)
    context.emit("count", .tensor(try Tensor(shape: [], values: [packets])), at: .none)
  }
}
