import Dispatch
import MMCore
import MMTestSupport
import Synchronization
import Testing

@testable import MMKernels

/// FFT lengths: trivial, small radices, primes (17 → generic radix; 97, 509 → Bluestein),
/// mixed radix (100, 400, 1000, 2·3·5·7·11, 8·31 = the largest direct prime in the 8-wide path),
/// Bluestein on a composite (4·37) and powers of two up to 4096.
let fftLengths = [
  1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 97, 100, 128, 400, 509, 512, 1000, 1024, 4096, 2 * 3 * 5 * 7 * 11,
  8 * 31, 4 * 37,
]

/// FFT tolerance: max |Δ| ≤ fftTolerance·‖x‖₂ against a Double DFT (observed ≤ 8e-7).
let fftTolerance: Float = 2e-6

/// √(Σ x²) of the inputs: FFT errors are bounded relative to it.
func euclideanNorm(_ arrays: [Float]...) -> Float {
  var sum = 0.0
  for array in arrays { for v in array { sum += Double(v) * Double(v) } }
  return Float(sum.squareRoot())
}

@Suite("Spectral: FFT")
struct SpectralFFTTests {
  @Test(arguments: fftLengths)
  func complexForwardMatchesDFT(n: Int) throws {
    let re = randomFloats(n, seed: UInt64(n))
    let im = randomFloats(n, seed: UInt64(n) + 7)
    let fast = try fft(real: re, imag: im)
    let slow = Reference.dft(real: re, imag: im)
    let bound = fftTolerance * euclideanNorm(re, im)
    let got = fast.real + fast.imag
    let want = slow.real + slow.imag
    #expect(
      maxAbsDifference(got, want).value <= bound, "n=\(n): \(differenceReport(got, want)), bound \(bound)")
  }

  /// The inverse is the + sign DFT scaled by 1/n: max |Δ| ≤ tolerance·‖X‖₂/√n.
  @Test(arguments: fftLengths)
  func complexInverseMatchesDFT(n: Int) throws {
    let re = randomFloats(n, seed: UInt64(n) + 1)
    let im = randomFloats(n, seed: UInt64(n) + 2)
    let fast = try ifft(real: re, imag: im)
    let slow = Reference.dft(real: re, imag: im, inverse: true)
    let bound = fftTolerance * euclideanNorm(re, im) / Float(n).squareRoot()
    let got = fast.real + fast.imag
    let want = slow.real + slow.imag
    #expect(
      maxAbsDifference(got, want).value <= bound, "n=\(n): \(differenceReport(got, want)), bound \(bound)")
  }

  @Test(arguments: fftLengths)
  func realForwardMatchesDFT(n: Int) throws {
    let x = randomFloats(n, seed: UInt64(n) + 3)
    let fast = try rfft(x)
    let slow = Reference.rfft(x)
    #expect(fast.count == 2 * (n / 2 + 1))
    let bound = fftTolerance * euclideanNorm(x)
    #expect(
      maxAbsDifference(fast, slow).value <= bound, "n=\(n): \(differenceReport(fast, slow)), bound \(bound)")
  }

  /// irfft(rfft(x)) ≈ x to 1e-5 absolute (inputs in [−1, 1]; observed ≤ 1e-6).
  @Test(arguments: fftLengths)
  func realRoundTrip(n: Int) throws {
    let x = randomFloats(n, seed: UInt64(n) + 4)
    let back = try irfft(rfft(x), count: n)
    #expect(maxAbsDifference(back, x).value <= 1e-5, "n=\(n): \(differenceReport(back, x))")
  }

  @Test(arguments: fftLengths)
  func complexRoundTripInPlace(n: Int) throws {
    var re = randomFloats(n, seed: UInt64(n) + 5)
    var im = randomFloats(n, seed: UInt64(n) + 6)
    let original = re + im
    let plan = FFTPlan(count: n)
    plan.forward(real: re, imag: im, outputReal: &re, outputImag: &im)
    plan.inverse(real: re, imag: im, outputReal: &re, outputImag: &im)
    #expect(
      maxAbsDifference(re + im, original).value <= 1e-5, "n=\(n): \(differenceReport(re + im, original))")
  }

  /// irfft against the definition: x[j] = (1/n)·Σ over the full Hermitian spectrum.
  @Test(arguments: [1, 2, 6, 9, 17, 400, 509])
  func realInverseMatchesDFT(n: Int) throws {
    var spectrum = randomFloats(2 * (n / 2 + 1), seed: UInt64(n) + 8)
    let fast = try irfft(spectrum, count: n)
    spectrum[1] = 0  // NumPy ignores the imaginary parts of bin 0 and (even n) bin n/2
    if n % 2 == 0 { spectrum[2 * (n / 2) + 1] = 0 }
    var fullRe = [Float](repeating: 0, count: n)
    var fullIm = [Float](repeating: 0, count: n)
    for k in 0..<n {
      let source = k <= n / 2 ? k : n - k
      fullRe[k] = spectrum[2 * source]
      fullIm[k] = k <= n / 2 ? spectrum[2 * k + 1] : -spectrum[2 * source + 1]
    }
    let slow = Reference.dft(real: fullRe, imag: fullIm, inverse: true).real
    #expect(maxAbsDifference(fast, slow).value <= 1e-5, "n=\(n): \(differenceReport(fast, slow))")
  }

  @Test func factorizationChoosesRadicesOrBluestein() {
    #expect(FFTPlan.radices(of: 1) == [])
    #expect(FFTPlan.radices(of: 4096) == [4, 4, 4, 4, 4, 4])
    #expect(FFTPlan.radices(of: 2 * 3 * 5 * 7 * 11) == [2, 3, 5, 7, 11])
    #expect(FFTPlan.radices(of: 400) == [4, 4, 5, 5])
    #expect(FFTPlan.radices(of: 31 * 8) == [4, 2, 31])
    #expect(FFTPlan.radices(of: 509) == nil)
    #expect(FFTPlan.radices(of: 37 * 4) == nil)
  }

  @Test func sharedPlansAreCachedPerLength() {
    #expect(FFTPlan.shared(count: 100) === FFTPlan.shared(count: 100))
    #expect(RealFFTPlan.shared(count: 400) === RealFFTPlan.shared(count: 400))
    #expect(FFTPlan.shared(count: 100).count == 100)
  }

  /// One plan used from many threads at once gives the same answer as from one thread.
  @Test(arguments: [400, 509])
  func onePlanManyThreads(n: Int) {
    let plan = RealFFTPlan.shared(count: n)
    let inputs = (0..<16).map { randomFloats(n, seed: UInt64(100 + $0)) }
    let serial = inputs.map { x in
      var out = [Float](repeating: 0, count: 2 * plan.binCount)
      plan.forward(x, &out)
      return out
    }
    let results = Mutex<[[Float]]>(Array(repeating: [], count: inputs.count))
    DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
      var out = [Float](repeating: 0, count: 2 * plan.binCount)
      plan.forward(inputs[i], &out)
      results.withLock { $0[i] = out }
    }
    #expect(results.withLock { $0 } == serial)
  }

  @Test func badArraysThrow() {
    #expect(throws: TensorError.self) { try fft(real: [1, 2], imag: [1]) }
    #expect(throws: TensorError.self) { try fft(real: [], imag: []) }
    #expect(throws: TensorError.self) { try rfft([]) }
    #expect(throws: TensorError.self) { try irfft([1, 0, 2, 0], count: 4) }
    #expect(throws: TensorError.self) { try irfft([1, 0], count: 0) }
  }
}
