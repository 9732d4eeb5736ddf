import Foundation
import MMCore

/// Named intermediate activations of one forward pass, for layer-by-layer comparison with a
/// reference dump (`trunk.blocks.3.out`, `head`, …). Models call `record` at every named
/// point; a trace that is nil costs nothing, and `only` keeps just the names a caller wants.
public final class ActivationTrace: @unchecked Sendable {
  private let lock = NSLock()
  private var values: [String: Tensor] = [:]
  private var order: [String] = []
  /// When set, only these names are kept.
  public let only: Set<String>?

  public init(only: Set<String>? = nil) { self.only = only }

  /// Keeps a contiguous copy of `tensor` under `name` (a later record of the same name wins).
  public func record(_ name: String, _ tensor: Tensor) {
    if let only, !only.contains(name) { return }
    let copy = tensor.isContiguous ? Tensor(copying: tensor) : tensor.contiguous()
    lock.lock()
    defer { lock.unlock() }
    if values.updateValue(copy, forKey: name) == nil { order.append(name) }
  }

  /// The tensor recorded as `name`.
  public subscript(name: String) -> Tensor? {
    lock.lock()
    defer { lock.unlock() }
    return values[name]
  }

  /// Every recorded name, in recording order.
  public var names: [String] {
    lock.lock()
    defer { lock.unlock() }
    return order
  }
}

extension Tensor {
  /// A contiguous copy with its own storage (the source may be overwritten afterwards).
  public init(copying source: Tensor) {
    let dense = source.contiguous()
    self.init(zeros: dense.shape, dtype: dense.dtype)
    storage.bytes.copyMemory(from: dense.baseAddress, byteCount: dense.byteCount)
  }
}

extension Optional where Wrapped == ActivationTrace {
  /// `trace?.record(name, tensor)` that reads well at call sites.
  @inline(__always) public func record(_ name: @autoclosure () -> String, _ tensor: Tensor) {
    if let self { self.record(name(), tensor) }
  }
}
