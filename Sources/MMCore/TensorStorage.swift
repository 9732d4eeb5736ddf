#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The bytes behind one or more tensors: heap memory (64-byte aligned, zero-filled) or a
/// region of a memory-mapped file kept alive by `owner`.
///
/// Storage is shared by views; it is `@unchecked Sendable` because kernels write disjoint
/// regions from several threads, and the graph layer hands finished tensors between threads
/// without mutating them.
public final class TensorStorage: @unchecked Sendable {
  public let bytes: UnsafeMutableRawPointer
  public let byteCount: Int
  /// What keeps `bytes` alive when this storage does not own them (a `MappedFile`).
  public let owner: AnyObject?
  private let ownsMemory: Bool

  public static let alignment = 64

  /// Zero-filled heap memory.
  public convenience init(byteCount: Int) {
    self.init(uninitializedByteCount: byteCount)
    bytes.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
  }

  /// Heap memory with unspecified contents, for outputs that a kernel overwrites entirely (a
  /// GEMM with beta 0, a norm): skips a zeroing pass over memory that is about to be written.
  public init(uninitializedByteCount byteCount: Int) {
    precondition(byteCount >= 0, "negative storage size")
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(byteCount, 1), alignment: Self.alignment)
    self.bytes = raw
    self.byteCount = byteCount
    self.owner = nil
    self.ownsMemory = true
  }

  /// Borrowed memory, valid while `owner` lives (zero copy from a mapped file).
  public init(borrowing bytes: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
    self.bytes = bytes
    self.byteCount = byteCount
    self.owner = owner
    self.ownsMemory = false
  }

  deinit {
    if ownsMemory { bytes.deallocate() }
  }
}

/// A whole file mapped into memory, copy-on-write: tensors read it in place, and a stray
/// write changes only this process's copy of the page, never the file.
public final class MappedFile: @unchecked Sendable {
  public let path: String
  public let bytes: UnsafeMutableRawPointer?
  public let size: Int

  public init(path: String) throws(FileError) {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(path: path, problem: "cannot open: \(errnoText())") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw FileError(path: path, problem: "cannot stat: \(errnoText())")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw FileError(path: path, problem: "not a regular file")
    }
    size = Int(info.st_size)
    if size == 0 {
      bytes = nil
      return
    }
    let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
    guard let mapped, mapped != MAP_FAILED else {
      throw FileError(path: path, problem: "cannot map \(size) bytes: \(errnoText())")
    }
    bytes = mapped
  }

  deinit {
    if let bytes { munmap(bytes, size) }
  }

  /// The bytes `range` as a read-only buffer (caller checked the bounds).
  public func buffer(_ range: Range<Int>) -> UnsafeRawBufferPointer {
    guard let bytes else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: bytes + range.lowerBound, count: range.count)
  }
}

/// The text of the current `errno`.
public func errnoText() -> String { String(cString: strerror(errno)) }

/// A problem with a file: which file, and what is wrong with it.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
  public let path: String
  public let problem: String
  public init(path: String, problem: String) {
    self.path = path
    self.problem = problem
  }
  public var description: String { "\(path): \(problem)" }
}
