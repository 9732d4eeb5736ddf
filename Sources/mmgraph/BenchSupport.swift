import Foundation

/// Wall-clock timing of a repeated closure: one warm-up call, then calls until `minTime` seconds
/// (and at least 3 calls) have passed.
struct Timing {
  var best: Double
  var median: Double
  var runs: Int
  /// Process CPU seconds per run (all threads): on a loaded machine, wall time includes waiting
  /// for a core, CPU time does not.
  var cpuPerRun: Double
}

/// User + system CPU seconds of this process so far.
func processCPUSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
  let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
  return user + system
}

func measure(minTime: Double, _ body: () -> Void) -> Timing {
  body()
  var times: [Double] = []
  let cpuStart = processCPUSeconds()
  let start = DispatchTime.now().uptimeNanoseconds
  repeat {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
  } while times.count < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minTime
  let cpu = (processCPUSeconds() - cpuStart) / Double(times.count)
  times.sort()
  return Timing(best: times[0], median: times[times.count / 2], runs: times.count, cpuPerRun: cpu)
}

/// A JSON scalar for bench output.
enum JSONScalar {
  case int(Int)
  case double(Double)
  case string(String)
  case bool(Bool)
  var json: String {
    switch self {
    case .int(let v): return String(v)
    case .double(let v): return v.isFinite ? String(format: "%.6g", v) : "null"
    case .string(let v): return "\"" + v.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    case .bool(let v): return v ? "true" : "false"
    }
  }
}

/// One benchmark's outcome: the op, its parameters and its speed.
struct BenchResult {
  var op: String
  var timing: Timing
  var flops: Double
  var fields: [String: JSONScalar]

  var gflops: Double { flops / timing.best / 1e9 }

  var json: String {
    var all = fields
    all["op"] = .string(op)
    all["seconds_best"] = .double(timing.best)
    all["seconds_median"] = .double(timing.median)
    all["runs"] = .int(timing.runs)
    all["gflops"] = .double(gflops)
    all["gflops_median"] = .double(flops / timing.median / 1e9)
    all["cpu_seconds_per_run"] = .double(timing.cpuPerRun)
    return "{" + all.keys.sorted().map { "\"\($0)\": \(all[$0]!.json)" }.joined(separator: ", ") + "}"
  }

  var text: String {
    let params = fields.keys.sorted().map { "\($0)=\(fields[$0]!.json)" }.joined(separator: " ")
    return String(
      format: "%@ %@: best %.3f ms, median %.3f ms, %.1f GFLOP/s (%d runs; %.1f GFLOP per CPU-second)",
      op, params, timing.best * 1e3, timing.median * 1e3, gflops, timing.runs,
      flops / timing.cpuPerRun / 1e9)
  }
}
