import Foundation
import MMCore
import Testing

@testable import MMWeights

/// The fixture written by the reference `gguf` package (Scripts/goldens/gguf.py): header,
/// metadata of every value type, tensor infos as `gguf.GGUFReader` reads them, and plain
/// tensors equal to their goldens exactly. (Dequantization of the quantized tensors is tested
/// in MMKernelsTests against the same goldens.)
@Suite struct GGUFGoldenTests {
  static var fixture: String {
    Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/gguf/tiny.gguf").path
  }

  static func golden(_ name: String) throws -> String {
    let path = Fixtures.packageRoot.appendingPathComponent("Tests/Goldens/gguf/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else {
      Issue.record("missing golden file \(path): run Scripts/goldens/gguf.py")
      throw CocoaError(.fileNoSuchFile)
    }
    return path
  }

  static func expected() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: try golden("expected.json")))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  @Test func headerAndTensorInfosMatchTheReferenceReader() throws {
    let expected = try Self.expected()
    let file = try GGUFFile(path: Self.fixture)
    #expect(file.version == expected["version"] as? Int)
    #expect(file.alignment == expected["alignment"] as? Int)
    #expect(file.dataStart % file.alignment == 0)
    #expect(file.names == expected["tensor_order"] as? [String])
    let tensors = try #require(expected["tensors"] as? [String: [String: Any]])
    for info in file.tensorInfos {
      let entry = try #require(tensors[info.name], "\(info.name)")
      #expect(info.type.name == entry["type"] as? String, "\(info.name)")
      #expect(Int(info.type.rawValue) == entry["type_id"] as? Int, "\(info.name)")
      #expect(info.shape == entry["shape"] as? [Int], "\(info.name): row-major shape")
      #expect(info.dimensions == (entry["shape"] as? [Int])?.reversed(), "\(info.name): ggml order")
      #expect(info.fileOffset == entry["data_offset"] as? Int, "\(info.name): offset")
      #expect(info.byteCount == entry["n_bytes"] as? Int, "\(info.name): size")
      #expect(info.fileOffset % file.alignment == 0, "\(info.name): aligned")
      #expect(info.rowCount * info.rowByteCount == info.byteCount, "\(info.name): rows")
    }
  }

  @Test func metadataRoundTripsEveryValueType() throws {
    let expected = try Self.expected()
    let file = try GGUFFile(path: Self.fixture)
    #expect(file.keys == expected["metadata_order"] as? [String])
    let metadata = try #require(expected["metadata"] as? [String: [String: Any]])
    for (key, json) in metadata {
      let value = try #require(file.value(key), "\(key) missing")
      #expect(Self.matches(value, json), "\(key): \(value) vs \(json)")
    }
    let types = Set(file.metadata.map(\.value.type))
    #expect(types == Set(GGUFValueType.allCases), "every value type is covered")
    var arrayTypes = Set<GGUFValueType>()
    for (_, value) in file.metadata {
      if case .array(let array) = value { arrayTypes.insert(array.elementType) }
    }
    #expect(arrayTypes == Set(GGUFValueType.allCases), "arrays of every element type")
  }

  /// Whether `value` is what expected.json says (type-tagged; floats as bit patterns, 64-bit
  /// integers as decimal strings).
  static func matches(_ value: GGUFValue, _ json: [String: Any]) -> Bool {
    guard value.type.description == json["type"] as? String else { return false }
    switch value {
    case .array(let array):
      guard array.elementType.description == json["element_type"] as? String,
        let items = json["values"] as? [[String: Any]], items.count == array.count
      else { return false }
      return zip(array.values, items).allSatisfy { matches($0, $1) }
    case .float32(let f): return Int(f.bitPattern) == json["bits"] as? Int
    case .float64(let f): return String(f.bitPattern) == json["bits"] as? String
    case .uint64(let u): return String(u) == json["value"] as? String
    case .int64(let i): return String(i) == json["value"] as? String
    case .string(let s): return s == json["value"] as? String
    case .bool(let b): return b == json["value"] as? Bool
    default: return value.intValue != nil && value.intValue == (json["value"] as? NSNumber)?.intValue
    }
  }

  @Test func typedAccessors() throws {
    let file = try GGUFFile(path: Self.fixture)
    #expect(try file.string("general.architecture") == "llama")
    #expect(try file.string("general.name") == "tiny ✓ fixture")
    #expect(try file.string("general.empty_string") == "")
    #expect(try file.int("general.alignment") == 64)
    #expect(try file.int("test.uint8") == 200)
    #expect(try file.int("test.int8") == -100)
    #expect(try file.int("test.uint32") == 4_000_000_000)
    #expect(try file.int("test.int64") == -(1 << 62) - 7)
    #expect(try file.float("test.float32") == Double(Float(3.14159)))
    #expect(try file.float("test.float64") == 2.718281828459045)
    #expect(try file.float("test.int16") == -30000)
    #expect(try file.bool("test.bool_true") == true)
    #expect(try file.bool("test.bool_false") == false)
    #expect(try file.ints("test.array.int32") == [1, -2, 3])
    #expect(try file.ints("test.array.uint8") == [0, 1, 255])
    #expect(try file.strings("test.array.string") == ["a", "bé", "", "<0x0A>"])
    #expect(try file.floats("tokenizer.ggml.scores") == [0, -1.5, -2.25])
    #expect(try file.array("test.array.nested") == .array([.int32([1, 2]), .int32([3])]))
    #expect(try file.array("test.array.nested_strings") == .array([.string(["x"]), .string(["y", "z"])]))
    #expect(file["test.uint16"] == .uint16(60000))
    // Absent keys are nil; present keys of another type throw, naming key, type and expectation.
    #expect(try file.string("no.such.key") == nil)
    #expect(try file.int("no.such.key") == nil)
    for (call, says) in [
      (
        { _ = try file.int("general.name") },
        "metadata 'general.name' is STRING \"tiny ✓ fixture\", expected an integer"
      ),
      (
        { _ = try file.int("test.uint64") },
        "metadata 'test.uint64' is UINT64 9223372036854775813, expected an integer that fits"
      ),
      ({ _ = try file.string("test.uint8") }, "metadata 'test.uint8' is UINT8 200, expected STRING"),
      ({ _ = try file.strings("test.array.int32") }, "is ARRAY[INT32] of 3, expected ARRAY[STRING]"),
      ({ _ = try file.float("test.bool_true") }, "is BOOL true, expected a number"),
      ({ _ = try file.ints("test.array.uint64") }, "is ARRAY[UINT64] of 2, expected an integer ARRAY"),
    ] as [(() throws -> Void, String)] {
      do {
        try call()
        Issue.record("expected an error: \(says)")
      } catch let error as WeightFileError {
        #expect(error.kind == .header)
        #expect(error.description.hasPrefix(Self.fixture + ": "), "\(error)")
        #expect(error.description.contains(says), "\(error)")
      }
    }
  }

  @Test func plainTensorsEqualTheirGoldens() throws {
    let file = try GGUFFile(path: Self.fixture)
    for name in ["f32", "f16", "bf16", "norm.weight", "f16_3d"] {
      let tensor = try file.tensor(named: name)
      let golden = try NPY.read(contentsOf: try Self.golden("\(name).npy"))
      #expect(tensor.shape == golden.shape, "\(name)")
      #expect(tensor.f32Bits == golden.f32Bits, "\(name): values differ")
      #expect(try file.info(named: name) == TensorInfo(dtype: tensor.dtype, shape: golden.shape))
    }
    #expect(try file.tensor(named: "bf16").dtype == .bf16)
    let ints = try file.tensor(named: "i32")
    #expect(ints.dtype == .i32 && ints.shape == [3, 5])
    #expect(try ints.scalars(Int32.self) == Array(-6...8))
  }

  @Test func tensorsAreZeroCopyViewsOfTheMapping() throws {
    let file = try GGUFFile(path: Self.fixture)
    let base = try #require(file.file.bytes)
    for info in file.tensorInfos {
      let data = file.data(of: info)
      #expect(
        UnsafeRawPointer(data.storage.bytes) == UnsafeRawPointer(base + info.fileOffset), "\(info.name)")
      #expect(data.storage.owner === file.file, "\(info.name) keeps the mapping alive")
      #expect(data.bytes.count == info.byteCount)
      #expect(
        data.row(info.rowCount - 1) + info.rowByteCount
          == UnsafeRawPointer(base + info.fileOffset + info.byteCount))
      if info.type.dtype != nil {
        #expect(try file.tensor(named: info.name).baseAddress == base + info.fileOffset, "\(info.name)")
      }
    }
    let q = try file.tensorInfo(named: "q4_k")
    #expect(q.type == .q4_K && q.shape == [4, 512] && q.rowLength == 512 && q.rowCount == 4)
    #expect(q.rowByteCount == 2 * 144)
  }

  @Test func quantizedTensorsAreNotPlainTensors() throws {
    let file = try GGUFFile(path: Self.fixture)
    for name in ["q4_0", "q4_1", "q8_0", "q4_k", "q5_k", "q6_k"] {
      #expect(file.contains(name))
      do {
        _ = try file.tensor(named: name)
        Issue.record("\(name): expected an error")
      } catch {
        #expect(error.kind == .unsupported)
        #expect(error.tensor == name)
        #expect(error.description.contains("quantized in blocks of"), "\(error)")
        #expect(error.description.contains("GGUFFile.data(named:)"), "\(error)")
      }
      #expect(throws: WeightFileError.self) { try file.info(named: name) }
    }
  }

  @Test func missingTensorNamesTheNearest() throws {
    let file = try GGUFFile(path: Self.fixture)
    do {
      _ = try file.data(named: "q4_kk")
      Issue.record("expected an error")
    } catch {
      #expect(error.kind == .missingTensor)
      #expect(error.description.contains("nearest names: 'q4_k'"), "\(error)")
    }
    let store: any WeightStore = file
    #expect(store.sortedNames == file.names.sorted())
    #expect(!store.contains("nope"))
  }

  @Test func typeTableMatchesTheReference() {
    // Spot checks against GGML_QUANT_SIZES; every type has a layout and a unique name.
    #expect(GGMLType.q4_0.blockLength == 32 && GGMLType.q4_0.blockByteCount == 18)
    #expect(GGMLType.q4_K.blockLength == 256 && GGMLType.q4_K.blockByteCount == 144)
    #expect(GGMLType.q5_K.blockByteCount == 176 && GGMLType.q6_K.blockByteCount == 210)
    #expect(GGMLType.q8_K.blockByteCount == 292 && GGMLType.iq4_xs.blockByteCount == 136)
    #expect(GGMLType.bf16.dtype == .bf16 && GGMLType.q8_0.dtype == nil && GGMLType.q8_0.isQuantized)
    #expect(Set(GGMLType.allCases.map(\.name)).count == GGMLType.allCases.count)
    #expect(GGMLType.iq2_xxs.name == "IQ2_XXS" && GGMLType.q6_K.description == "Q6_K")
  }
}
