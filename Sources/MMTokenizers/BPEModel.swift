/// Byte-pair encoding by merge rank, as `tokenizers`' `BPE` model does it: a piece starts as
/// one symbol per Unicode scalar, then the adjacent pair with the lowest merge rank is merged,
/// leftmost first, until no pair has a merge.
struct BPEModel: Sendable {
  struct Merge: Sendable {
    var rank: Int32
    var id: Int32
  }

  let vocabulary: Vocabulary
  /// (left id, right id) packed as `left << 32 | right` → rank and merged id.
  let merges: [UInt64: Merge]
  let unknownID: Int32?
  let fuseUnknown: Bool
  let byteFallback: Bool
  let ignoreMerges: Bool
  let continuingSubwordPrefix: [UInt8]?
  let endOfWordSuffix: [UInt8]?
  /// Ids of the single-scalar tokens (no prefix or suffix), for the common first step.
  private let scalarIDs: [UInt32: Int32]
  /// `<0xNN>` ids, when the vocabulary has them.
  private let byteIDs: [Int32?]

  /// - Parameter merges: (left, right) token texts in rank order; a pair listed twice keeps
  ///   its later rank, as the reference's map does. Each names a token of `vocabulary`, and
  ///   so must their concatenation (less `continuingSubwordPrefix` on the right).
  /// - Throws: the index of the first merge that names an unknown token, and that token.
  init(
    vocabulary: Vocabulary, merges: [([UInt8], [UInt8])], unknownToken: [UInt8]?, fuseUnknown: Bool,
    byteFallback: Bool, ignoreMerges: Bool, continuingSubwordPrefix: [UInt8]?, endOfWordSuffix: [UInt8]?
  ) throws(MergeError) {
    self.vocabulary = vocabulary
    let prefixLength = continuingSubwordPrefix?.count ?? 0
    var table: [UInt64: Merge] = [:]
    table.reserveCapacity(merges.count)
    for (rank, (left, right)) in merges.enumerated() {
      guard let a = vocabulary.id(left) else { throw MergeError(index: rank, token: left) }
      guard let b = vocabulary.id(right) else { throw MergeError(index: rank, token: right) }
      let merged = left + (right.count >= prefixLength ? right.dropFirst(prefixLength) : right[...])
      guard let id = vocabulary.id(merged) else { throw MergeError(index: rank, token: merged) }
      table[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] = Merge(rank: Int32(rank), id: id)
    }
    self.merges = table
    if let unknownToken {
      guard let id = vocabulary.id(unknownToken) else { throw MergeError(index: -1, token: unknownToken) }
      unknownID = id
    } else {
      unknownID = nil
    }
    self.fuseUnknown = fuseUnknown
    self.byteFallback = byteFallback
    self.ignoreMerges = ignoreMerges
    self.continuingSubwordPrefix = continuingSubwordPrefix.flatMap { $0.isEmpty ? nil : $0 }
    self.endOfWordSuffix = endOfWordSuffix.flatMap { $0.isEmpty ? nil : $0 }
    var scalarIDs: [UInt32: Int32] = [:]
    for (id, entry) in vocabulary.tokens.enumerated() {
      if let scalars = entry?.scalars, scalars.count == 1 { scalarIDs[scalars[0].value] = Int32(id) }
    }
    self.scalarIDs = scalarIDs
    byteIDs = (0..<256).map { b in vocabulary.id(Array(byteFallbackName(UInt8(b)).utf8)) }
  }

  struct MergeError: Error {
    /// The merge's index, or -1 for the unknown token.
    var index: Int
    var token: [UInt8]
  }

  /// Appends the ids of one pre-tokenized piece. `cache` maps pieces seen before in this call.
  func tokenize(_ piece: [Unicode.Scalar], cache: inout [[UInt8]: [Int32]], into out: inout [Int32]) {
    if piece.isEmpty { return }
    let key = piece.utf8Bytes
    if ignoreMerges, let id = vocabulary.id(key) {
      out.append(id)
      return
    }
    if let hit = cache[key] {
      out.append(contentsOf: hit)
      return
    }
    var symbols = initialSymbols(piece)
    mergeAll(&symbols)
    if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
    cache[key] = symbols
    out.append(contentsOf: symbols)
  }

  /// One symbol per scalar (`merge_word`): its token, else its `<0xNN>` bytes, else the unknown
  /// token (consecutive ones fused with `fuse_unk`), else nothing.
  private func initialSymbols(_ piece: [Unicode.Scalar]) -> [Int32] {
    var symbols: [Int32] = []
    symbols.reserveCapacity(piece.count)
    var pendingUnknown = false
    let plain = continuingSubwordPrefix == nil && endOfWordSuffix == nil
    for (index, scalar) in piece.enumerated() {
      var id: Int32?
      var text: [UInt8] = []
      if plain {
        id = scalarIDs[scalar.value]
        if id == nil { appendUTF8(scalar, to: &text) }
      } else {
        if index > 0, let prefix = continuingSubwordPrefix { text += prefix }
        appendUTF8(scalar, to: &text)
        if index == piece.count - 1, let suffix = endOfWordSuffix { text += suffix }
        id = vocabulary.id(text)
      }
      if let id {
        if pendingUnknown, let unknownID { symbols.append(unknownID) }
        pendingUnknown = false
        symbols.append(id)
        continue
      }
      if byteFallback {
        let ids = text.map { byteIDs[Int($0)] }
        if ids.allSatisfy({ $0 != nil }) {
          symbols.append(contentsOf: ids.map { $0! })
          continue
        }
      }
      if let unknownID {
        if pendingUnknown && !fuseUnknown { symbols.append(unknownID) }
        pendingUnknown = true
      }
    }
    if pendingUnknown, let unknownID { symbols.append(unknownID) }
    return symbols
  }

  /// `Word::merge_all`: a min-heap of (rank, position); stale entries are skipped.
  private func mergeAll(_ ids: inout [Int32]) {
    let n = ids.count
    guard n > 1 else { return }
    var next = [Int32](0..<Int32(n)).map { $0 + 1 }
    next[n - 1] = -1
    var prev = [Int32](0..<Int32(n)).map { $0 - 1 }
    var alive = [Bool](repeating: true, count: n)
    var heap = MergeHeap()
    heap.reserve(n)
    for i in 0..<(n - 1) {
      if let m = merges[pairKey(ids[i], ids[i + 1])] { heap.push(rank: m.rank, position: Int32(i), id: m.id) }
    }
    while let top = heap.pop() {
      let pos = Int(top.position)
      guard alive[pos], next[pos] >= 0 else { continue }
      let right = Int(next[pos])
      guard let m = merges[pairKey(ids[pos], ids[right])], m.id == top.id else { continue }
      ids[pos] = top.id
      alive[right] = false
      next[pos] = next[right]
      if next[right] >= 0 { prev[Int(next[right])] = Int32(pos) }
      if prev[pos] >= 0 {
        let p = Int(prev[pos])
        if let m = merges[pairKey(ids[p], ids[pos])] { heap.push(rank: m.rank, position: Int32(p), id: m.id) }
      }
      if next[pos] >= 0 {
        let r = Int(next[pos])
        if let m = merges[pairKey(ids[pos], ids[r])] {
          heap.push(rank: m.rank, position: Int32(pos), id: m.id)
        }
      }
    }
    var out: [Int32] = []
    out.reserveCapacity(n)
    var i = 0
    while i >= 0 && i < n {
      out.append(ids[i])
      i = Int(next[i])
    }
    ids = out
  }

  @inline(__always) private func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
  }
}

/// `<0xNN>` with upper-case hex, the byte-fallback token name.
func byteFallbackName(_ b: UInt8) -> String {
  let hex = Array("0123456789ABCDEF".unicodeScalars)
  var s = "<0x"
  s.unicodeScalars.append(hex[Int(b >> 4)])
  s.unicodeScalars.append(hex[Int(b & 15)])
  return s + ">"
}

/// What comes out of a `BinaryHeap` first.
protocol HeapOrdered {
  /// Whether `a` comes out before `b`.
  static func before(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap (the BPE merge queue and the SentencePiece bigram queue).
struct BinaryHeap<Entry: HeapOrdered> {
  private var items: [Entry] = []

  mutating func reserve(_ n: Int) { items.reserveCapacity(n) }

  mutating func push(_ entry: Entry) {
    items.append(entry)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard Entry.before(items[i], items[parent]) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  mutating func pop() -> Entry? {
    guard let top = items.first else { return nil }
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var i = 0
      while true {
        let l = 2 * i + 1
        let r = l + 1
        var m = i
        if l < items.count && Entry.before(items[l], items[m]) { m = l }
        if r < items.count && Entry.before(items[r], items[m]) { m = r }
        if m == i { break }
        items.swapAt(i, m)
        i = m
      }
    }
    return top
  }
}

/// A BPE merge candidate: the lowest rank first, then the leftmost.
struct MergeCandidate: HeapOrdered {
  var rank: Int32
  var position: Int32
  var id: Int32

  @inline(__always) static func before(_ a: Self, _ b: Self) -> Bool {
    a.rank != b.rank ? a.rank < b.rank : a.position < b.position
  }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
typealias MergeHeap = BinaryHeap<MergeCandidate>

extension BinaryHeap where Entry == MergeCandidate {
  mutating func push(rank: Int32, position: Int32, id: Int32) {
    push(MergeCandidate(rank: rank, position: position, id: id))
  }
}
