import Foundation
import MMCore
import Testing

@testable import MMWeights

/// A CTranslate2 model.bin made by hand, laid out as `ModelSpec._serialize` writes it.
struct CT2Writer {
  var version: UInt32 = 6
  var spec = "TestSpec"
  var revision: UInt32 = 2
  /// name, type id, shape, data bytes.
  var variables: [(String, UInt8, [UInt32], [UInt8])] = []
  var aliases: [(String, String)] = []

  static func string(_ text: String) -> [UInt8] {
    let body = Array(text.utf8) + [0]
    return u16(UInt16(body.count)) + body
  }
  static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
  static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }

  var bytes: [UInt8] {
    var out = Self.u32(version) + Self.string(spec) + Self.u32(revision) + Self.u32(UInt32(variables.count))
    for (name, type, shape, data) in variables {
      out += Self.string(name) + [UInt8(shape.count)] + shape.flatMap(Self.u32) + [type]
      out += Self.u32(UInt32(data.count)) + data
    }
    out += Self.u32(UInt32(aliases.count))
    for (alias, target) in aliases { out += Self.string(alias) + Self.string(target) }
    return out
  }

  /// A small valid file: an f32 matrix, an f16 vector, an int16 scalar attribute, an int8 flag
  /// and an alias.
  static let sample: CT2Writer = {
    var w = CT2Writer()
    let matrix: [Float] = [1, -2, 3.5, 4, 5, 6]
    w.variables.append(("encoder/linear/weight", 0, [2, 3], matrix.flatMap { u32($0.bitPattern) }))
    w.variables.append(
      ("encoder/linear/bias", 4, [2], [Float16(0.5), Float16(-1)].flatMap { u16($0.bitPattern) }))
    w.variables.append(("encoder/num_heads", 2, [], u16(6)))
    w.variables.append(("decoder/pre_norm", 1, [], [1]))
    w.aliases.append(("decoder/projection/weight", "encoder/linear/weight"))
    return w
  }()
}

@Suite("CTranslate2 model.bin") struct CTranslate2Tests {
  static func parse(_ bytes: [UInt8]) throws(WeightFileError) -> CTranslate2Layout {
    let result = bytes.withUnsafeBytes { buffer -> Result<CTranslate2Layout, WeightFileError> in
      Result { () throws(WeightFileError) in try parseCTranslate2(buffer, path: "model.bin") }
    }
    return try result.get()
  }

  static func open(_ bytes: [UInt8]) throws -> CTranslate2File {
    let folder = try Fixtures.temporaryDirectory()
    let path = folder.appendingPathComponent("model.bin").path
    try Fixtures.write(bytes, to: path)
    return try CTranslate2File(path: path)
  }

  @Test("A hand-made file: names, dtypes, shapes, values, attributes, aliases")
  func sample() throws {
    let file = try Self.open(CT2Writer.sample.bytes)
    #expect(file.version == 6 && file.specName == "TestSpec" && file.revision == 2)
    #expect(
      file.names == [
        "encoder/linear/weight", "encoder/linear/bias", "encoder/num_heads", "decoder/pre_norm",
        "decoder/projection/weight",
      ])
    let weight = try file.tensor(named: "encoder/linear/weight")
    #expect(weight.dtype == .f32 && weight.shape == [2, 3] && weight.floats() == [1, -2, 3.5, 4, 5, 6])
    let bias = try file.tensor(named: "encoder/linear/bias")
    #expect(bias.dtype == .f16 && bias.floats() == [0.5, -1])
    #expect(try file.integer("encoder/num_heads") == 6)
    #expect(try file.integer("decoder/pre_norm") == 1)
    #expect(try file.integer("decoder/absent") == nil)
    #expect(try file.tensor(named: "decoder/projection/weight").floats() == weight.floats())
    #expect(try file.info(named: "decoder/projection/weight") == TensorInfo(dtype: .f32, shape: [2, 3]))
    #expect(throws: WeightFileError.self) { try file.integer("encoder/linear/bias") }
    do {
      _ = try file.tensor(named: "encoder/linear/weights")
      Issue.record("a missing name must throw")
    } catch {
      #expect(error.kind == .missingTensor && error.problem.contains("'encoder/linear/weight'"))
    }
  }

  @Test("The Whisper fixture converted by CTranslate2 4.8.5")
  func whisperFixture() throws {
    let path = Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/whisper/tiny-ct2/model.bin").path
    let file = try CTranslate2File(path: path)
    #expect(file.specName == "WhisperSpec" && file.version == 6)
    #expect(try file.integer("encoder/num_heads") == 4)
    #expect(try file.shape(of: "decoder/layer_1/self_attention/linear_0/weight") == [96, 32])
    #expect(try file.dtype(of: "encoder/conv1/weight") == .f16)
    #expect(file.aliases["decoder/projection/weight"] == "decoder/embeddings/weight")
    // The last variable's data ends where the alias table begins.
    let last = try #require(file.entries.last)
    #expect(last.offset + last.byteCount < file.file.size)
  }

  @Test("Hostile headers give WeightFileError naming the file and tensor")
  func hostile() throws {
    func expectFailure(
      _ kind: WeightFileError.Kind, _ fragment: String, tensor: String? = nil,
      _ edit: (inout CT2Writer) -> Void
    ) {
      var w = CT2Writer.sample
      edit(&w)
      do {
        _ = try Self.parse(w.bytes)
        Issue.record("expected \(kind) (\(fragment))")
      } catch {
        #expect(error.kind == kind, "\(error)")
        #expect(error.path == "model.bin" && error.description.contains(fragment), "\(error)")
        if let tensor { #expect(error.tensor == tensor, "\(error)") }
      }
    }
    expectFailure(.unsupported, "binary version 5") { $0.version = 5 }
    expectFailure(.dtype, "unknown type id 9", tensor: "decoder/pre_norm") { $0.variables[3].1 = 9 }
    expectFailure(.offsets, "byte count 24 but shape [2, 4]", tensor: "encoder/linear/weight") {
      $0.variables[0].2 = [2, 4]
    }
    expectFailure(.shape, "overflows", tensor: "encoder/linear/weight") {
      $0.variables[0].2 = [UInt32.max, UInt32.max, UInt32.max, UInt32.max]
    }
    expectFailure(.shape, "rank 9", tensor: "encoder/linear/weight") {
      $0.variables[0].2 = Array(repeating: 1, count: 9)
    }
    expectFailure(.duplicate, "twice", tensor: "encoder/linear/bias") {
      $0.variables[0].0 = "encoder/linear/bias"
    }
    expectFailure(.missingTensor, "not a variable", tensor: "decoder/projection/weight") {
      $0.aliases[0].1 = "nothing"
    }
    expectFailure(.duplicate, "alias repeats", tensor: "encoder/num_heads") {
      $0.aliases[0].0 = "encoder/num_heads"
    }

    var bytes = CT2Writer.sample.bytes
    bytes += [0, 0]
    #expect(throws: WeightFileError.self) { try Self.parse(bytes) }
    // A variable count far beyond the file.
    var huge = CT2Writer.sample.bytes
    let countOffset = 4 + 2 + "TestSpec".utf8.count + 1 + 4
    huge.replaceSubrange(countOffset..<countOffset + 4, with: CT2Writer.u32(.max))
    do {
      _ = try Self.parse(huge)
      Issue.record("huge count must throw")
    } catch { #expect(error.kind == .truncated && error.problem.contains("4294967295")) }
    // A byte count past the end of the file (the shape agrees with it).
    var long = CT2Writer.sample.bytes
    let dims = 19 + 4 + 2 + "encoder/linear/weight".utf8.count + 1 + 1
    long.replaceSubrange(dims..<dims + 8, with: CT2Writer.u32(2) + CT2Writer.u32(3_000_000))
    long.replaceSubrange(dims + 9..<dims + 13, with: CT2Writer.u32(24_000_000))
    do {
      _ = try Self.parse(long)
      Issue.record("data past the end must throw")
    } catch {
      #expect(error.kind == .truncated && error.tensor == "encoder/linear/weight", "\(error)")
    }
    // A string without its NUL, and one that is not UTF-8.
    var noNul = CT2Writer.sample.bytes
    noNul[4 + 2 + "TestSpec".utf8.count] = UInt8(ascii: "x")
    #expect(throws: WeightFileError.self) { try Self.parse(noNul) }
    var notUTF8 = CT2Writer.sample.bytes
    notUTF8[6] = 0xff
    #expect(throws: WeightFileError.self) { try Self.parse(notUTF8) }
    // Opening an empty or missing file.
    #expect(throws: WeightFileError.self) { try Self.open([]) }
    #expect(throws: WeightFileError.self) { try CTranslate2File(path: "/nonexistent/model.bin") }
  }

  @Test("Every proper prefix of a valid file is rejected as truncated")
  func truncation() throws {
    let bytes = CT2Writer.sample.bytes
    _ = try Self.parse(bytes)
    for length in 0..<bytes.count {
      do {
        _ = try Self.parse(Array(bytes[0..<length]))
        Issue.record("prefix of \(length) bytes parsed")
      } catch {
        #expect(error.kind == .truncated, "prefix \(length): \(error)")
        #expect(error.path == "model.bin")
      }
    }
  }

  @Test("Random byte flips: a valid layout inside the file, or a WeightFileError")
  func fuzz() throws {
    let base = CT2Writer.sample.bytes
    var rng = SeededRandom(seed: 7)
    for iteration in 0..<3000 {
      var bytes = base
      let flips = 1 + Int(rng.next() % 4)
      for _ in 0..<flips {
        let at = Int(rng.next() % UInt64(bytes.count))
        if rng.next() % 2 == 0 {
          bytes[at] ^= UInt8(1) << UInt8(rng.next() % 8)
        } else {
          bytes[at] = UInt8(truncatingIfNeeded: rng.next())
        }
      }
      if rng.next() % 8 == 0 { bytes.removeSubrange(Int(rng.next() % UInt64(bytes.count))...) }
      do {
        let layout = try Self.parse(bytes)
        for entry in layout.entries {
          #expect(
            entry.offset >= 0 && entry.offset + entry.byteCount <= bytes.count, "iteration \(iteration)")
          #expect(
            entry.shape.reduce(1, *) * entry.dtype.byteSize == entry.byteCount, "iteration \(iteration)")
        }
        for target in layout.aliases.values {
          #expect(layout.entries.contains { $0.name == target }, "iteration \(iteration)")
        }
      } catch {
        #expect(error.path == "model.bin", "iteration \(iteration): \(error)")
      }
    }
  }
}
