/// Token texts by id and ids by text. Texts are compared as UTF-8 bytes, never as Swift
/// `String`s (whose `==` is canonical equivalence: `"é"` and `"e\u{301}"` are distinct tokens).
struct Vocabulary: Sendable {
  struct Entry: Sendable {
    var bytes: [UInt8]
    var scalars: [Unicode.Scalar]
  }

  /// Index = id; nil where the vocabulary skips an id.
  private(set) var tokens: [Entry?]
  private var ids: [[UInt8]: Int32]

  init() {
    tokens = []
    ids = [:]
  }

  var count: Int { tokens.count }

  func id(_ bytes: [UInt8]) -> Int32? { ids[bytes] }

  func id(_ text: String) -> Int32? { ids[Array(text.utf8)] }

  func entry(_ id: Int32) -> Entry? {
    id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
  }

  /// Adds `text` as `id`. Returns the id it already had, if any (the caller decides whether a
  /// duplicate is an error), without changing anything.
  @discardableResult
  mutating func insert(_ text: String, id: Int32) -> Int32? {
    let bytes = Array(text.utf8)
    if let existing = ids[bytes] { return existing }
    if Int(id) >= tokens.count { tokens += [Entry?](repeating: nil, count: Int(id) + 1 - tokens.count) }
    if tokens[Int(id)] != nil { return id }
    tokens[Int(id)] = Entry(bytes: bytes, scalars: Array(text.unicodeScalars))
    ids[bytes] = id
    return nil
  }

  /// Adds `text` as `id`; a text written twice maps to its later id (both ids decode to it).
  mutating func insertReplacingID(_ text: String, id: Int32) {
    let bytes = Array(text.utf8)
    if Int(id) >= tokens.count { tokens += [Entry?](repeating: nil, count: Int(id) + 1 - tokens.count) }
    tokens[Int(id)] = Entry(bytes: bytes, scalars: Array(text.unicodeScalars))
    ids[bytes] = id
  }

  mutating func reserve(_ n: Int) {
    tokens.reserveCapacity(n)
    ids.reserveCapacity(n)
  }
}
