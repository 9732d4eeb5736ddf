/// Reads one kind of input file into a value: how a plugin teaches `mmgraph run --input` (and
/// any host) a new file type. The audio plugin reads `.wav`/`.flac`/…, the vision plugin `.png`
/// and `.jpg`, the point-cloud plugin `.ply`/`.pcd`/…; the graph core and the CLI know none of
/// these formats.
public struct FileReader: Sendable {
  /// A short name for messages and `mmgraph nodes` (`audio`, `image`).
  public var name: String
  /// Lower-case file extensions without the dot (`wav`, `flac`).
  public var extensions: [String]
  /// The type of the values it produces (checked against the graph input's declared type).
  public var type: PortType
  public var doc: String
  /// Reads the file at an absolute or relative path. Errors name the file and the problem.
  public var read: @Sendable (_ path: String) throws -> Value

  public init(
    name: String, extensions: [String], type: PortType, doc: String,
    read: @escaping @Sendable (_ path: String) throws -> Value
  ) {
    self.name = name
    self.extensions = extensions.map { $0.lowercased() }
    self.type = type
    self.doc = doc
    self.read = read
  }
}

extension NodeRegistry {
  /// Adds a file reader. Several readers may share an extension when they produce different
  /// kinds of value (`.npy` as a tensor or as a point cloud): the host picks by the type the graph
  /// input declares. The same extension and kind twice is an error naming both plugins.
  public mutating func register(reader: FileReader, from plugin: String) throws(RegistryError) {
    for ext in reader.extensions {
      if let existing = readers[ext]?.first(where: { $0.reader.type.kindName == reader.type.kindName }) {
        throw RegistryError(
          message:
            "file type '.\(ext)' as \(reader.type.kindName) from plugin '\(plugin)' is already read by '\(existing.plugin)' (\(existing.reader.name))"
        )
      }
    }
    for ext in reader.extensions { readers[ext, default: []].append((reader, plugin)) }
  }

  /// The readers for a path's extension (case-insensitive), in registration order.
  public func readers(forPath path: String) -> [FileReader] {
    guard let ext = Self.fileExtension(path) else { return [] }
    return (readers[ext] ?? []).map(\.reader)
  }

  /// The reader for `path` whose values fit `declared` (the graph input's type): the first whose
  /// type is compatible, else the first registered. Nil when no reader knows the extension.
  public func reader(forPath path: String, declared: PortType = .any) -> FileReader? {
    let candidates = readers(forPath: path)
    return candidates.first {
      var bindings: [String: Int] = [:]
      return declared.accepts($0.type, bindings: &bindings) == nil
    } ?? candidates.first
  }

  /// Every registered reader once, with its plugin, sorted by name.
  public var fileReaders: [(reader: FileReader, plugin: String)] {
    var seen = Set<String>()
    return readers.keys.sorted().flatMap { readers[$0]! }.filter {
      seen.insert($0.plugin + "/" + $0.reader.name).inserted
    }.sorted { $0.reader.name < $1.reader.name }
  }

  /// `wav` for `dir/clip.WAV`; nil without an extension.
  static func fileExtension(_ path: String) -> String? {
    let name = path.split(separator: "/").last ?? ""
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
    return name[name.index(after: dot)...].lowercased()
  }
}
