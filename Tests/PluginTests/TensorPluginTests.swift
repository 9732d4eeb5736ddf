import MMCore
import MMGraph
import MMTestSupport
import Testing

@testable import TensorPlugin

/// The tensor plugin's type rules (load-time shapes) and node computations.
@Suite struct TensorPluginTests {
  static func descriptor(_ type: String) -> NodeDescriptor {
    TensorPlugin.descriptors.first { $0.type == type }!
  }

  static func outputs(_ type: String, _ inputs: [String: PortType], options: [String: JSONValue] = [:])
    throws(TypeRuleError)
    -> [String: PortType]
  {
    let d = descriptor(type)
    var values = options
    for option in d.options where values[option.name] == nil { values[option.name] = option.defaultValue }
    return try d.typeRule!(inputs, NodeOptions(values))
  }

  static func tensor(_ dtype: DType?, _ dims: [Dimension]?) -> PortType { .tensor(dtype: dtype, shape: dims) }

  @Test func registersUniqueNamespacedTypes() throws {
    var registry = NodeRegistry()
    try TensorPlugin.register(into: &registry)
    #expect(registry.typeNames.count == TensorPlugin.descriptors.count)
    #expect(registry.typeNames.allSatisfy { $0.hasPrefix("tensor.") })
    #expect(throws: RegistryError.self) { try TensorPlugin.register(into: &registry) }
  }

  @Test func broadcastingRule() throws {
    let out = try Self.outputs(
      "tensor.add", ["a": Self.tensor(.f32, [.symbol("n"), .fixed(3)]), "b": Self.tensor(.f16, [.fixed(3)])])
    #expect(out["out"] == Self.tensor(.f32, [.symbol("n"), .fixed(3)]))
    let ones = try Self.outputs(
      "tensor.mul",
      ["a": Self.tensor(nil, [.fixed(1), .fixed(4)]), "b": Self.tensor(nil, [.fixed(5), .fixed(1)])])
    #expect(ones["out"] == Self.tensor(.f32, [.fixed(5), .fixed(4)]))
    #expect(throws: TypeRuleError.self) {
      try Self.outputs(
        "tensor.sub", ["a": Self.tensor(nil, [.fixed(2), .fixed(3)]), "b": Self.tensor(nil, [.fixed(4)])])
    }
    #expect(throws: TypeRuleError.self) {
      try Self.outputs("tensor.add", ["a": Self.tensor(.i32, nil), "b": Self.tensor(nil, nil)])
    }
    #expect(throws: TypeRuleError.self) {
      try Self.outputs("tensor.add", ["a": .text, "b": Self.tensor(nil, nil)])
    }
  }

  @Test func matmulRuleKeepsSymbols() throws {
    let out = try Self.outputs(
      "tensor.matmul",
      ["a": Self.tensor(.f32, [.symbol("n"), .fixed(4)]), "b": Self.tensor(.bf16, [.fixed(4), .fixed(7)])])
    #expect(out["out"] == Self.tensor(.f32, [.symbol("n"), .fixed(7)]))
    do {
      _ = try Self.outputs(
        "tensor.matmul",
        ["a": Self.tensor(nil, [.fixed(2), .fixed(3)]), "b": Self.tensor(nil, [.fixed(4), .fixed(5)])])
      Issue.record("a [2, 3] · [4, 5] product must be rejected")
    } catch {
      #expect(error.port == "b" && error.expected.contains("3"), "\(error)")
    }
    #expect(throws: TypeRuleError.self) {
      try Self.outputs("tensor.matmul", ["a": Self.tensor(nil, [.fixed(2)]), "b": Self.tensor(nil, nil)])
    }
  }

  @Test func concatAndSumRules() throws {
    let joined = try Self.outputs(
      "tensor.concat",
      [
        "a": Self.tensor(.f32, [.symbol("n"), .fixed(2)]), "b": Self.tensor(.f32, [.symbol("n"), .fixed(3)]),
      ],
      options: ["axis": .number("-1")])
    #expect(joined["out"] == Self.tensor(.f32, [.symbol("n"), .fixed(5)]))
    #expect(throws: TypeRuleError.self) {
      try Self.outputs(
        "tensor.concat",
        ["a": Self.tensor(.f32, [.fixed(2), .fixed(2)]), "b": Self.tensor(.f32, [.fixed(3), .fixed(3)])],
        options: ["axis": .number("1")])
    }
    #expect(throws: TypeRuleError.self) {
      try Self.outputs("tensor.concat", ["a": Self.tensor(.f32, nil), "b": Self.tensor(.f16, nil)])
    }
    let summed = try Self.outputs(
      "tensor.sum", ["x": Self.tensor(.f32, [.fixed(2), .fixed(3), .fixed(4)])],
      options: ["axis": .number("1")])
    #expect(summed["out"] == Self.tensor(.f32, [.fixed(2), .fixed(4)]))
    let all = try Self.outputs("tensor.sum", ["x": Self.tensor(.f32, nil)], options: ["all": .bool(true)])
    #expect(all["out"] == Self.tensor(.f32, []))
  }

  @Test(arguments: [0, 1, 2, -1])
  func concatMatchesReference(axis: Int) throws {
    let a = Tensor(randomFloats(2 * 3 * 4, seed: 1), shape: [2, 3, 4])
    var bShape = [2, 3, 4]
    let resolved = axis < 0 ? axis + 3 : axis
    bShape[resolved] = 5
    let b = Tensor(randomFloats(bShape.reduce(1, *), seed: 2), shape: bShape)
    let out = try concat([a, b], axis: axis)
    var expectedShape = [2, 3, 4]
    expectedShape[resolved] += 5
    #expect(out.shape == expectedShape)
    // Element (i, j, k) comes from a when its index along the axis is below a's size there, else from b.
    let split = a.shape[resolved]
    let values = out.floats()
    let strides = Tensor.contiguousStrides(expectedShape)
    let aValues = a.floats()
    let bValues = b.floats()
    let aStrides = Tensor.contiguousStrides(a.shape)
    let bStrides = Tensor.contiguousStrides(bShape)
    for i in 0..<expectedShape[0] {
      for j in 0..<expectedShape[1] {
        for k in 0..<expectedShape[2] {
          var index = [i, j, k]
          let got = values[zip(index, strides).map(*).reduce(0, +)]
          let fromA = index[resolved] < split
          if !fromA { index[resolved] -= split }
          let want =
            fromA
            ? aValues[zip(index, aStrides).map(*).reduce(0, +)]
            : bValues[zip(index, bStrides).map(*).reduce(0, +)]
          #expect(got == want)
        }
      }
    }
  }

  @Test(arguments: [(1, 1, 1), (3, 5, 2), (17, 31, 13), (64, 70, 33)])
  func matmulMatchesReference(m: Int, k: Int, n: Int) throws {
    let a = Tensor(randomFloats(m * k, seed: 3), shape: [m, k])
    let b = Tensor(randomFloats(k * n, seed: 4), shape: [k, n])
    let out = try matmul(a, b)
    var expected = [Float](repeating: 0, count: m * n)
    let av = a.floats()
    let bv = b.floats()
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(av[i * k + p]) * Double(bv[p * n + j]) }
        expected[i * n + j] = Float(sum)
      }
    }
    #expect(
      maxAbsDifference(out.floats(), expected).value < 1e-4, "\(differenceReport(out.floats(), expected))")
  }
}
