/// Naive twins of the GEMM kernels: triple loops in Double, the ground truth for the tests.
public enum Reference {}

extension Reference {
  /// C[m×n] = act(alpha · op(A)[m×k] · op(B)[k×n] + beta·C + bias)
  public static func gemm(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = GEMMEpilogue()
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a.element(i, p)) * Double(b.element(p, j)) }
        var value = epilogue.alpha * Float(sum)
        if epilogue.beta != 0 { value += epilogue.beta * c[i * ldc + j] }
        if let bias = epilogue.bias { value += bias[j] }
        c[i * ldc + j] = epilogue.activation.apply(value)
      }
    }
  }
}
