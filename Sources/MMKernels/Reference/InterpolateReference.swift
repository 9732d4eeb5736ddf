import MMCore

extension Reference {
  /// Bilinear resize from the definition, in Double: for each output pixel, the source position
  /// (half-pixel centres, or corners aligned), its four neighbours clamped to the edge, and the
  /// weighted sum. input [planes, inH, inW] → output [planes, outH, outW]
  public static func resizeBilinear(
    planes: Int, inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int,
    alignCorners: Bool = false, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
  ) {
    func taps(_ o: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Double) {
      let position: Double
      if alignCorners {
        position = outSize > 1 ? Double(o) * Double(inSize - 1) / Double(outSize - 1) : 0
      } else {
        position = max((Double(o) + 0.5) * Double(inSize) / Double(outSize) - 0.5, 0)
      }
      let low = min(Int(position.rounded(.down)), inSize - 1)
      let high = min(low + 1, inSize - 1)
      return (low, high, min(max(position - Double(low), 0), 1))
    }
    for p in 0..<planes {
      let plane = input + p * inputHeight * inputWidth
      for oh in 0..<outputHeight {
        let (y0, y1, fy) = taps(oh, inputHeight, outputHeight)
        for ow in 0..<outputWidth {
          let (x0, x1, fx) = taps(ow, inputWidth, outputWidth)
          let value = { (y: Int, x: Int) in Double(plane[y * inputWidth + x]) }
          let top = value(y0, x0) * (1 - fx) + value(y0, x1) * fx
          let bottom = value(y1, x0) * (1 - fx) + value(y1, x1) * fx
          output[(p * outputHeight + oh) * outputWidth + ow] = Float(top * (1 - fy) + bottom * fy)
        }
      }
    }
  }
}
