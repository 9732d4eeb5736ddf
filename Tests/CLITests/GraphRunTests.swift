import Foundation
import MMCore
import MMWeights
import Testing

/// Every graph in Graphs/ validates and runs through the `mmgraph` binary; outputs are
/// compared with plain reference loops.
@Suite struct GraphRunTests {
  static let fixtures = "Tests/Fixtures/"

  /// c[m, n] = Σ a[m, k]·b[k, n] in Double.
  static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
        c[i * n + j] = Float(sum)
      }
    }
    return c
  }

  /// Graphs whose `gallery` option has no default (a gallery's manifest sets their query's type):
  /// without one `check` names the option; ImageBindSpaceGraphTests checks and runs them with one.
  static let needGallery: Set = [
    "imagebind-audio-to-image.json", "imagebind-text-to-video.json", "imagebind-compose.json",
  ]

  @Test func everyGraphValidates() throws {
    let graphs = CLI.files(in: CLI.path("Graphs")).filter { $0.hasSuffix(".json") }
    #expect(graphs.count >= 4, "expected the example graphs in Graphs/, found \(graphs)")
    for graph in graphs + CLI.files(in: CLI.path("Graphs/lib")).map({ "lib/" + $0 }) {
      let result = try CLI.run(["check", "Graphs/" + graph])
      if Self.needGallery.contains(graph) {
        #expect(
          result.code == 2 && result.stderr.contains("graph option 'gallery'"),
          "check Graphs/\(graph): \(result.stderr)")
      } else {
        #expect(result.code == 0, "check Graphs/\(graph): \(result.stderr)")
      }
    }
  }

  @Test func tensorArithmeticIsExact() throws {
    let out = CLI.temporaryFolder("arith")
    let result = try CLI.run([
      "run", "Graphs/tensor-arithmetic.json", "--input", "a=\(Self.fixtures)a.npy", "--input",
      "b=\(Self.fixtures)b.npy", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(CLI.files(in: out) == ["product.npy", "sum.npy"])
    let a = try CLI.npy(CLI.path(Self.fixtures + "a.npy")).floats()
    let b = try CLI.npy(CLI.path(Self.fixtures + "b.npy")).floats()
    let w = try CLI.npy(CLI.path("Graphs/data/w.npy")).floats()
    let sum = zip(a, b).map { $0 + $1 }
    let product = Self.matmul(sum, w, m: 2, k: 3, n: 2).map { $0 * 0.5 }
    let gotSum = try CLI.npy(out + "/sum.npy")
    let gotProduct = try CLI.npy(out + "/product.npy")
    #expect(gotSum.shape == [2, 3] && gotSum.dtype == .f32)
    #expect(try gotSum.scalars(Float.self) == sum)
    #expect(gotProduct.shape == [2, 2])
    #expect(try gotProduct.scalars(Float.self) == product)

    // A graph option from the command line.
    let scaled = CLI.temporaryFolder("arith-set")
    let again = try CLI.run([
      "run", "Graphs/tensor-arithmetic.json", "--input", "\(Self.fixtures)a.npy", "--input",
      "\(Self.fixtures)b.npy",
      "--set", "scale=2", "--out", scaled, "--no-cache",
    ])
    #expect(again.code == 0, "\(again.stderr)")
    #expect(try CLI.npy(scaled + "/product.npy").scalars(Float.self) == product.map { $0 * 4 })
  }

  @Test func twoBranchesMatchReference() throws {
    let out = CLI.temporaryFolder("branches")
    let result = try CLI.run([
      "run", "Graphs/two-branches.json", "--input", "\(Self.fixtures)x.npy", "--out", out, "--no-cache",
      "--threads", "2",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let x = try CLI.npy(CLI.path(Self.fixtures + "x.npy")).floats()
    let w1 = try CLI.npy(CLI.path("Graphs/data/w1.npy")).floats()
    let w2 = try CLI.npy(CLI.path("Graphs/data/w2.npy")).floats()
    let left = Self.matmul(x, w1, m: 3, k: 4, n: 5).map { max($0, 0) }
    let right = Self.matmul(x, w2, m: 3, k: 4, n: 3)
    var expected: [Float] = []
    for row in 0..<3 {
      let scores = right[(row * 3)..<(row * 3 + 3)].map(Double.init)
      let peak = scores.max()!
      let exps = scores.map { Foundation.exp($0 - peak) }
      let total = exps.reduce(0, +)
      expected += left[(row * 5)..<(row * 5 + 5)] + exps.map { Float($0 / total) }
    }
    let joined = try CLI.npy(out + "/joined.npy")
    #expect(joined.shape == [3, 8])
    let difference = zip(joined.floats(), expected).map { abs($0 - $1) }.max() ?? 1
    #expect(difference < 1e-6, "joined differs from the reference by \(difference)")
    let total = try CLI.npy(out + "/total.npy")
    #expect(total.shape == [])
    #expect(abs(total.floats()[0] - expected.reduce(0, +)) < 1e-4)
  }

  @Test(arguments: [(nil, 2575.0, 100), ("10", 32.5, 10), ("0", 0.0, 0)] as [(String?, Float, Int64)])
  func streamSum(count: String?, sum: Float, packets: Int64) throws {
    let out = CLI.temporaryFolder("stream")
    let result = try CLI.run(
      ["run", "Graphs/stream-sum.json", "--out", out, "--no-cache"]
        + (count.map { ["--set", "count=\($0)"] } ?? []))
    #expect(result.code == 0, "\(result.stderr)")
    #expect(try CLI.npy(out + "/sum.npy").floats() == [sum])
    let counted = try CLI.npy(out + "/count.npy")
    #expect(counted.dtype == .i64)
    #expect(try counted.scalars(Int64.self) == [packets])
  }

  @Test func subgraphMLPMatchesReference() throws {
    let out = CLI.temporaryFolder("mlp")
    let result = try CLI.run([
      "run", "Graphs/mlp.json", "--input", "x=\(Self.fixtures)x.npy", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let x = try CLI.npy(CLI.path(Self.fixtures + "x.npy")).floats()
    let data = { (name: String) in try CLI.npy(CLI.path("Graphs/data/\(name).npy")).floats() }
    let b1 = try data("b1")
    let b2 = try data("b2")
    let hidden = Self.matmul(x, try data("w1"), m: 3, k: 4, n: 5).enumerated().map { max($1 + b1[$0 % 5], 0) }
    let y = Self.matmul(hidden, try data("w3"), m: 3, k: 5, n: 3).enumerated().map { $1 + b2[$0 % 3] }
    let got = try CLI.npy(out + "/y.npy")
    #expect(got.shape == [3, 3])
    let difference = zip(got.floats(), y).map { abs($0 - $1) }.max() ?? 1
    #expect(difference < 1e-5, "y differs from the reference by \(difference)")
  }
}
