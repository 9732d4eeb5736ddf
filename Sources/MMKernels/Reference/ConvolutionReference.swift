import MMCore

extension Reference {
  /// Direct convolution: for every output element, the sum over its input channels and kernel taps
  /// in Double, then bias and activation. Ranks 1–3 share the loops by treating missing leading
  /// spatial dimensions as size 1.
  /// input [batch, Cin, …] f32, weight [Cout, Cin/groups, k…] f32/f16/bf16, bias [Cout]
  /// → output [batch, Cout, …]
  public static func convolution(
    _ geometry: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafeRawPointer,
    weightType: DType = .f32, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
    activation: Activation = .identity
  ) {
    let pad = 3 - geometry.inputSize.count
    func lift(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: pad) + values
    }
    let inSize = lift(geometry.inputSize, 1)
    let kernel = lift(geometry.kernelSize, 1)
    let stride = lift(geometry.stride, 1)
    let dilation = lift(geometry.dilation, 1)
    let padding = lift(geometry.padBefore, 0)
    let outSize = lift(geometry.outputSize, 1)
    let cinPerGroup = geometry.inChannels / geometry.groups
    let coutPerGroup = geometry.outChannels / geometry.groups

    for b in 0..<geometry.batch {
      for co in 0..<geometry.outChannels {
        let group = co / coutPerGroup
        for od in 0..<outSize[0] {
          for oh in 0..<outSize[1] {
            for ow in 0..<outSize[2] {
              var sum = 0.0
              for cg in 0..<cinPerGroup {
                let ci = group * cinPerGroup + cg
                for kd in 0..<kernel[0] {
                  let id = od * stride[0] - padding[0] + kd * dilation[0]
                  if id < 0 || id >= inSize[0] { continue }
                  for kh in 0..<kernel[1] {
                    let ih = oh * stride[1] - padding[1] + kh * dilation[1]
                    if ih < 0 || ih >= inSize[1] { continue }
                    for kw in 0..<kernel[2] {
                      let iw = ow * stride[2] - padding[2] + kw * dilation[2]
                      if iw < 0 || iw >= inSize[2] { continue }
                      let x = input[
                        (((b * geometry.inChannels + ci) * inSize[0] + id) * inSize[1] + ih)
                          * inSize[2] + iw]
                      let wIndex =
                        (((co * cinPerGroup + cg) * kernel[0] + kd) * kernel[1] + kh) * kernel[2] + kw
                      sum += Double(x) * ScalarAccess.load(weight, weightType, wIndex)
                    }
                  }
                }
              }
              if let bias { sum += Double(bias[co]) }
              let o =
                (((b * geometry.outChannels + co) * outSize[0] + od) * outSize[1] + oh)
                * outSize[2] + ow
              output[o] = activation.apply(Float(sum))
            }
          }
        }
      }
    }
  }
}
