import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Files written by the reference `safetensors` library (Scripts/goldens/files.py) read back
/// exactly, and the Swift writer reproduces them byte for byte.
@Suite struct SafetensorsGoldenTests {
  @Test func readsEveryDtypeExactly() throws {
    let path = try Fixtures.golden("all_dtypes.safetensors")
    let expected = try #require(try Fixtures.expected()["all_dtypes.safetensors"] as? [String: Any])
    let tensors = try #require(expected["tensors"] as? [String: [String: Any]])
    let file = try SafetensorsFile(path: path)
    #expect(file.metadata == expected["metadata"] as? [String: String])
    #expect(Set(file.names) == Set(tensors.keys))
    #expect(Set(file.entries.map(\.dtype)) == Set(DType.allCases), "every dtype is covered")
    for (name, entry) in tensors {
      expectMatches(try file.tensor(named: name), entry, name)
      #expect(try file.info(named: name).shape == entry["shape"] as? [Int])
    }
  }

  @Test func namesComeInFileOrderOrSorted() throws {
    let file = try SafetensorsFile(path: try Fixtures.golden("all_dtypes.safetensors"))
    let starts = file.names.map { try! file.entry(named: $0).dataOffsets.lowerBound }
    #expect(starts == starts.sorted(), "the reference writes the header in data order")
    #expect(file.sortedNames == file.names.sorted())
    #expect(file.names.first == "u64.values", "widest dtype first, as the reference sorts")
  }

  @Test func tensorsAreZeroCopyViewsOfTheMapping() throws {
    let file = try SafetensorsFile(path: try Fixtures.golden("all_dtypes.safetensors"))
    let base = try #require(file.file.bytes)
    for (name, tensor) in file.tensors() {
      let entry = try file.entry(named: name)
      #expect(tensor.baseAddress == base + file.dataStart + entry.dataOffsets.lowerBound)
      #expect(tensor.storage.owner === file.file, "\(name) keeps the mapping alive")
      #expect(Int(bitPattern: tensor.baseAddress) % tensor.dtype.byteSize == 0, "\(name) aligned")
    }
  }

  @Test func tensorOutlivesTheFileObject() throws {
    let path = try Fixtures.golden("all_dtypes.safetensors")
    let tensor = try SafetensorsFile(path: path).tensor(named: "f32.matrix")
    #expect(tensor.floats().first == -1)
  }

  @Test func writerReproducesTheReferenceFileByteForByte() throws {
    let path = try Fixtures.golden("all_dtypes.safetensors")
    let original = try SafetensorsFile(path: path)
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let copy = directory.appendingPathComponent("copy.safetensors").path
    // Shuffle the input: the reference order must not depend on it.
    var rng = SeededRandom(seed: 11)
    let shuffled = original.tensors().shuffled(using: &rng)
    try Safetensors.write(shuffled, metadata: original.metadata, to: copy)
    let written = try Fixtures.bytes(of: copy)
    let reference = try Fixtures.bytes(of: path)
    #expect(written.count == reference.count)
    #expect(
      written == reference,
      "first difference at byte \(zip(written, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)"
    )
  }
}

/// Sharded checkpoints through `model.safetensors.index.json`.
@Suite struct ShardedSafetensorsTests {
  @Test(arguments: [ShardedSafetensors.Loading.lazy, .eager])
  func readsEveryTensorThroughTheIndex(loading: ShardedSafetensors.Loading) throws {
    let index = try Fixtures.golden("sharded/model.safetensors.index.json")
    let expected = try #require(try Fixtures.expected()["sharded"] as? [String: Any])
    let tensors = try #require(expected["tensors"] as? [String: [String: Any]])
    let store = try ShardedSafetensors(indexPath: index, loading: loading)
    #expect(store.weightMap == expected["weight_map"] as? [String: String])
    #expect(store.metadata["total_size"] == "\(expected["total_size"] as? Int ?? -1)")
    #expect(store.shardNames.count == 2)
    #expect(Set(store.names) == Set(tensors.keys))
    for (name, entry) in tensors {
      expectMatches(try store.tensor(named: name), entry, name)
      #expect(try store.dtype(of: name).rawValue == entry["dtype"] as? String)
    }
  }

  @Test func openWeightStoreFindsTheIndexInADirectory() throws {
    let index = try Fixtures.golden("sharded/model.safetensors.index.json")
    let directory = URL(fileURLWithPath: index).deletingLastPathComponent().path
    let store = try openWeightStore(path: directory)
    #expect(store is ShardedSafetensors)
    #expect(try store.shape(of: "embed.weight") == [4, 3])
    let single = try openWeightStore(path: try Fixtures.golden("all_dtypes.safetensors"))
    #expect(single is SafetensorsFile)
  }

  @Test func openWeightStoreRejectsUnknownPaths() throws {
    let golden = try Fixtures.golden("npy/f4.npy")
    for path in [golden, "/nonexistent/model.safetensors"] {
      do {
        _ = try openWeightStore(path: path)
        Issue.record("expected an error for \(path)")
      } catch {
        #expect(error.description.hasPrefix(path + ": "), "\(error)")
      }
    }
  }

  @Test func missingNameSuggestsTheNearest() throws {
    let store = try ShardedSafetensors(
      indexPath: try Fixtures.golden("sharded/model.safetensors.index.json"))
    do {
      _ = try store.tensor(named: "layers.0.weights")
      Issue.record("expected a missing-tensor error")
    } catch {
      #expect(error.kind == .missingTensor)
      #expect(error.tensor == "layers.0.weights")
      #expect(error.description.contains("nearest names: 'layers.0.weight'"), "\(error)")
      #expect(error.description.contains("model.safetensors.index.json"), "\(error)")
    }
  }

  @Test func nearestNamesRanksByEditDistance() {
    let names = [
      "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight", "lm_head.weight",
    ]
    #expect(nearestNames(to: "model.layers.0.mlp.up_proj.wieght", in: names, limit: 1) == [names[0]])
    #expect(nearestNames(to: "lm_head", in: names, limit: 1) == ["lm_head.weight"])
    #expect(nearestNames(to: "x", in: []).isEmpty)
  }
}
