import Foundation
import MMCore

/// A saved set of embeddings with what they are: `NAME.npy` holds the vectors [count, dimension]
/// f32 and `NAME.json` the manifest — one file name per row, the embedding space, dimension and
/// form, the graph that made them and the mmgraph version. `mmgraph gallery build` writes one;
/// `space.search` (option `gallery`) reads it, and its manifest gives the search's input type at
/// load time. Both files are written atomically, the vectors first: a manifest that exists always
/// describes complete vectors.
///
///     {"mmgraph_gallery": 1, "vectors": "docs.npy", "count": 8, "space": "minilm", "dimension": 384,
///      "form": "unit", "files": ["a.txt", …], "graph": "/abs/embed.json", "folder": "/abs/docs",
///      "mmgraph_version": "0.1.0"}
public struct EmbeddingGallery: Sendable, Equatable {
  /// The name of each row (the file it was computed from, relative to `folder`).
  public var files: [String]
  public var space: String
  public var dimension: Int
  /// `raw`, `unit` or `scaled` (mmgraph's embedding forms).
  public var form: String
  public var graph: String
  public var folder: String
  public var version: String

  public init(
    files: [String], space: String, dimension: Int, form: String, graph: String, folder: String,
    version: String
  ) {
    self.files = files
    self.space = space
    self.dimension = dimension
    self.form = form
    self.graph = graph
    self.folder = folder
    self.version = version
  }

  /// The manifest format version this code reads and writes.
  public static let formatVersion = 1

  /// `NAME.json` for a gallery named `NAME`, `NAME.json` or `NAME.npy`.
  public static func manifestPath(_ name: String) -> String { basePath(name) + ".json" }
  /// `NAME.npy` for a gallery named `NAME`, `NAME.json` or `NAME.npy`.
  public static func vectorsPath(_ name: String) -> String { basePath(name) + ".npy" }

  static func basePath(_ name: String) -> String {
    for suffix in [".json", ".npy"] where name.hasSuffix(suffix) {
      return String(name.dropLast(suffix.count))
    }
    return name
  }

  /// The manifest as JSON.
  public var json: JSONValue {
    .object([
      JSONMember("mmgraph_gallery", JSONValue(Self.formatVersion)), JSONMember("vectors", .string("")),
      JSONMember("count", JSONValue(files.count)), JSONMember("space", .string(space)),
      JSONMember("dimension", JSONValue(dimension)), JSONMember("form", .string(form)),
      JSONMember("files", .array(files.map { .string($0) })), JSONMember("graph", .string(graph)),
      JSONMember("folder", .string(folder)), JSONMember("mmgraph_version", .string(version)),
    ])
  }

  /// Writes `NAME.npy` (vectors [files.count, dimension], converted to f32) then `NAME.json`.
  public func write(vectors: Tensor, to name: String) throws(WeightFileError) {
    let manifest = Self.manifestPath(name)
    guard vectors.shape == [files.count, dimension] else {
      throw WeightFileError(
        path: Self.vectorsPath(name), kind: .shape,
        problem:
          "vectors \(shapeText(vectors.shape)), expected [\(files.count), \(dimension)] (one row per file)")
    }
    try NPY.write(vectors.dtype == .f32 ? vectors : vectors.converted(to: .f32), to: Self.vectorsPath(name))
    var members = json.members ?? []
    if let index = members.firstIndex(where: { $0.key == "vectors" }) {
      members[index].value = .string(URL(fileURLWithPath: Self.vectorsPath(name)).lastPathComponent)
    }
    let text = Array((JSONValue.object(members).encoded(pretty: true) + "\n").utf8)
    try writeAtomically(to: manifest) { (sink) throws(WeightFileError) in try sink.write(text) }
  }

  /// Reads and checks a manifest (`NAME`, `NAME.json` or `NAME.npy`); every problem names the
  /// file and the JSON key.
  public static func readManifest(_ name: String) throws(WeightFileError) -> EmbeddingGallery {
    let path = manifestPath(name)
    func fail(_ problem: String) -> WeightFileError {
      WeightFileError(path: path, kind: .header, problem: problem)
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw WeightFileError(
        path: path, kind: .io,
        problem: "cannot read the gallery manifest (make one with `mmgraph gallery build`)")
    }
    let root: JSONValue
    do { root = try JSONParser.parse(data, file: path).root } catch { throw fail(error.message) }
    guard root.members != nil else { throw fail("expected a JSON object, found \(root.typeName)") }
    guard root["mmgraph_gallery"]?.int == formatVersion else {
      throw fail(
        "'mmgraph_gallery' is \(root["mmgraph_gallery"]?.encoded() ?? "missing"), expected \(formatVersion)")
    }
    func string(_ key: String) throws(WeightFileError) -> String {
      guard let value = root[key]?.string else {
        throw fail("'\(key)' is \(root[key]?.typeName ?? "missing"), expected a string")
      }
      return value
    }
    guard let dimension = root["dimension"]?.int, dimension > 0 else {
      throw fail("'dimension' is \(root["dimension"]?.encoded() ?? "missing"), expected a positive integer")
    }
    guard let items = root["files"]?.elements else {
      throw fail("'files' is \(root["files"]?.typeName ?? "missing"), expected a list of names")
    }
    var files: [String] = []
    for (index, item) in items.enumerated() {
      guard let name = item.string else {
        throw fail("'files'/\(index) is \(item.typeName), expected a string")
      }
      files.append(name)
    }
    if let count = root["count"]?.int, count != files.count {
      throw fail("'count' is \(count) but 'files' names \(files.count)")
    }
    let form = try string("form")
    guard ["raw", "unit", "scaled"].contains(form) else {
      throw fail("'form' is \"\(form)\", expected raw, unit or scaled")
    }
    return EmbeddingGallery(
      files: files, space: try string("space"), dimension: dimension, form: form, graph: try string("graph"),
      folder: (root["folder"]?.string) ?? "", version: (root["mmgraph_version"]?.string) ?? "")
  }

  /// The manifest and its vectors [count, dimension] f32, checked against each other.
  public static func read(_ name: String) throws(WeightFileError) -> (
    gallery: EmbeddingGallery, vectors: Tensor
  ) {
    let gallery = try readManifest(name)
    let path = vectorsPath(name)
    let vectors = try NPY.read(contentsOf: path)
    guard vectors.shape == [gallery.files.count, gallery.dimension] else {
      throw WeightFileError(
        path: path, kind: .shape,
        problem:
          "vectors \(shapeText(vectors.shape)), but the manifest says [\(gallery.files.count), \(gallery.dimension)]"
      )
    }
    return (gallery, vectors.dtype == .f32 ? vectors.contiguous() : vectors.converted(to: .f32))
  }
}
