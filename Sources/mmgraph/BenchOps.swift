import MMCore
import MMKernels

extension BenchCommand {
  static func benchAttention(_ args: Arguments, minTime: Double) throws -> BenchResult {
    throw UsageError("attention benchmark arrives with the attention kernel")
  }
  static func benchConv2d(_ args: Arguments, minTime: Double) throws -> BenchResult {
    throw UsageError("conv2d benchmark arrives with the conv kernel")
  }
}
