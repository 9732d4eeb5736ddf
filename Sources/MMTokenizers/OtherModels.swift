/// WordPiece (BERT): greedy longest-match-first within a word; later pieces carry the
/// continuing-subword prefix (`##`); a word with an unmatched rest, or longer than
/// `maxInputCharsPerWord` scalars, is one unknown token.
struct WordPieceModel: Sendable {
  let vocabulary: Vocabulary
  let unknownID: Int32
  let continuingSubwordPrefix: [UInt8]
  let maxInputCharsPerWord: Int

  func tokenize(_ piece: [Unicode.Scalar], into out: inout [Int32]) {
    if piece.isEmpty { return }
    if piece.count > maxInputCharsPerWord {
      out.append(unknownID)
      return
    }
    var found: [Int32] = []
    var start = 0
    while start < piece.count {
      var end = piece.count
      var match: Int32?
      while start < end {
        var text = start > 0 ? continuingSubwordPrefix : []
        for scalar in piece[start..<end] { appendUTF8(scalar, to: &text) }
        if let id = vocabulary.id(text) {
          match = id
          break
        }
        end -= 1
      }
      guard let match else {
        out.append(unknownID)
        return
      }
      found.append(match)
      start = end
    }
    out.append(contentsOf: found)
  }
}

/// WordLevel: each pre-tokenized piece is one token, or the unknown token.
struct WordLevelModel: Sendable {
  let vocabulary: Vocabulary
  let unknownID: Int32?

  func tokenize(_ piece: [Unicode.Scalar], into out: inout [Int32]) {
    if piece.isEmpty { return }
    if let id = vocabulary.id(piece.utf8Bytes) {
      out.append(id)
    } else if let unknownID {
      out.append(unknownID)
    }
  }
}

/// llama.cpp's SentencePiece tokenizer for `tokenizer.ggml.model = "llama"` vocabularies
/// (`llm_tokenizer_spm_session`): merges are chosen by token *score*, not by a merge list.
///
/// The text (spaces already written `▁`) starts as one symbol per UTF-8 character; every
/// adjacent pair whose concatenation is a token is queued with that token's score; the
/// highest score merges first (ties: the leftmost), and the new neighbours are queued. A final
/// symbol that is not a token becomes its bytes' `<0xNN>` tokens (or the single-byte token, or
/// the unknown token).
struct SentencePieceModel: Sendable {
  let vocabulary: Vocabulary
  let scores: [Float]
  let unknownID: Int32?
  private let byteIDs: [Int32?]

  init(vocabulary: Vocabulary, scores: [Float], unknownID: Int32?) {
    self.vocabulary = vocabulary
    self.scores = scores
    self.unknownID = unknownID
    byteIDs = (0..<256).map { b in
      vocabulary.id(byteFallbackName(UInt8(b))) ?? vocabulary.id([UInt8(b)])
    }
  }

  private struct Symbol {
    var offset: Int
    var length: Int
    var prev: Int
    var next: Int
  }

  func tokenize(_ text: [UInt8], into out: inout [Int32]) {
    guard !text.isEmpty else { return }
    var symbols: [Symbol] = []
    symbols.reserveCapacity(text.count)
    var offset = 0
    while offset < text.count {
      let length = min(utf8Length(text[offset]), text.count - offset)
      let index = symbols.count
      symbols.append(
        Symbol(
          offset: offset, length: length, prev: index - 1,
          next: offset + length == text.count ? -1 : index + 1))
      offset += length
    }
    var queue = ScoreHeap()
    func addBigram(_ left: Int, _ right: Int) {
      guard left >= 0, right >= 0 else { return }
      let start = symbols[left].offset
      let size = symbols[left].length + symbols[right].length
      guard let id = vocabulary.id(Array(text[start..<(start + size)])), Int(id) < scores.count else {
        return
      }
      queue.push(
        ScoredBigram(score: scores[Int(id)], left: Int32(left), right: Int32(right), size: Int32(size)))
    }
    for i in 1..<max(symbols.count, 1) { addBigram(i - 1, i) }
    while let bigram = queue.pop() {
      let (l, r) = (Int(bigram.left), Int(bigram.right))
      if symbols[l].length == 0 || symbols[r].length == 0
        || symbols[l].length + symbols[r].length != Int(bigram.size)
      {
        continue
      }
      symbols[l].length += symbols[r].length
      symbols[r].length = 0
      symbols[l].next = symbols[r].next
      if symbols[r].next >= 0 { symbols[symbols[r].next].prev = l }
      addBigram(symbols[l].prev, l)
      addBigram(l, symbols[l].next)
    }
    var i = 0
    while i != -1 {
      let symbol = symbols[i]
      let bytes = Array(text[symbol.offset..<(symbol.offset + symbol.length)])
      if let id = vocabulary.id(bytes) {
        out.append(id)
      } else {
        for b in bytes {
          if let id = byteIDs[Int(b)] ?? unknownID { out.append(id) }
        }
      }
      i = symbol.next
    }
  }
}

/// The length of the UTF-8 sequence a lead byte starts (llama.cpp's `unicode_len_utf8`).
@inline(__always) func utf8Length(_ lead: UInt8) -> Int {
  switch lead >> 4 {
  case 0xC, 0xD: return 2
  case 0xE: return 3
  case 0xF: return 4
  default: return 1
  }
}

/// A SentencePiece bigram: the highest score first, then the leftmost.
struct ScoredBigram: HeapOrdered {
  var score: Float
  var left: Int32
  var right: Int32
  var size: Int32

  @inline(__always) static func before(_ a: Self, _ b: Self) -> Bool {
    a.score != b.score ? a.score > b.score : a.left < b.left
  }
}

/// A max-heap of SentencePiece bigrams: highest score first, then the leftmost.
typealias ScoreHeap = BinaryHeap<ScoredBigram>
