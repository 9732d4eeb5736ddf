import MMCore
import MMGraph
import MMMediaIO

/// Point-cloud nodes (`pointcloud.*`) and the reader of PLY, PCD, XYZ/TXT and `.npy` clouds for
/// `--input`: centring and scaling into the unit sphere, farthest point sampling and Point-BERT's
/// FPS + kNN grouping, as Point-BERT and ULIP prepare their inputs. Registered through `MMBuiltins`.
public enum PointCloudPlugin: NodePlugin {
  public static let name = "pointcloud"

  public static let descriptors: [NodeDescriptor] = [
    readDescriptor, normalizeDescriptor, sampleDescriptor, groupDescriptor,
  ]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
    try registry.register(reader: fileReader, from: name)
  }

  /// `--input cloud.ply`: `[points, 3 + features]` f32 (x, y, z first; normals and colours after).
  /// `.txt` and `.npy` are also claimed by the text and tensor readers; a graph input declared
  /// `pointcloud` picks this one.
  static let fileReader = FileReader(
    name: "pointcloud", extensions: ["ply", "pcd", "xyz", "txt", "npy"], type: .pointCloud,
    doc: "PLY (ASCII, binary LE/BE), PCD (ASCII, binary), XYZ/TXT rows, .npy [N, 3+F]",
    read: { path in .pointCloud(try PointCloud.read(contentsOf: path).points) })
}

/// The cloud on input `port`, checked again (a tensor from elsewhere may hold NaN).
func cloud(_ context: NodeContext, _ port: String) throws -> PointCloud {
  let points = try context.tensor(port)
  return try context.named { try PointCloud(tensor: points, file: "\(context.nodeName).\(port)") }
}

/// Accepts `pointcloud` (or a `[N, ≥3]` tensor); anything else is a type error.
func requireCloud(_ inputs: [String: PortType], _ port: String) throws(TypeRuleError) {
  switch inputs[port] {
  case nil, .any?, .pointCloud?: return
  case .tensor(_, let shape?)? where shape.count != 2:
    throw TypeRuleError(
      port: port, expected: "a point cloud [points, 3 + features]", found: "rank \(shape.count)")
  case .tensor?: return
  case let other?: throw TypeRuleError(port: port, expected: "pointcloud", found: "\(other)")
  }
}

/// path (option) → out: pointcloud.
let readDescriptor = NodeDescriptor(
  type: "pointcloud.read",
  doc: "Reads a point cloud (PLY, PCD, XYZ/TXT, .npy) into [points, 3 + features] f32.",
  example: exampleNode("pointcloud.read", options: [("path", "\"scans/chair.ply\"")]),
  inputs: [],
  outputs: [PortSpec("out", .pointCloud, doc: "x, y, z then features")],
  options: [OptionSpec("path", .path, doc: "the file, relative to the graph file's folder")],
  filesRead: { options in [options.string("path")] },
  make: { options in
    let path = options.string("path")
    return FunctionNode { context in
      context.emit("out", .pointCloud(try PointCloud.read(contentsOf: path).points))
    }
  })

/// in → out: x, y, z centred on the centroid and scaled into the unit sphere (ULIP's `pc_normalize`).
let normalizeDescriptor = NodeDescriptor(
  type: "pointcloud.normalize",
  doc:
    "Centres x, y, z on the centroid and scales them into the unit sphere (ULIP's pc_normalize); features unchanged.",
  example: exampleNode("pointcloud.normalize", inputs: [("in", "$cloud")]),
  inputs: [PortSpec("in", .pointCloud, doc: "[points, 3 + features]")],
  outputs: [PortSpec("out", .pointCloud, doc: "the same points, normalized")],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    try requireCloud(inputs, "in")
    return ["out": .pointCloud]
  },
  make: { _ in
    FunctionNode { context in
      context.emit("out", .pointCloud(try cloud(context, "in").normalizedToUnitSphere().points))
    }
  })

/// in: N points → out: `count` of them by farthest point sampling (deterministic: starts at point 0).
let sampleDescriptor = NodeDescriptor(
  type: "pointcloud.sample",
  doc: "Keeps `count` points chosen by farthest point sampling (from point 0, ties to the lower index).",
  example: exampleNode("pointcloud.sample", inputs: [("in", "$cloud")], options: [("count", "8192")]),
  inputs: [PortSpec("in", .pointCloud, doc: "[points, 3 + features]")],
  outputs: [PortSpec("out", .pointCloud, doc: "[count, 3 + features]")],
  options: [OptionSpec("count", .int(range: 1...Int(Int32.max)), doc: "how many points to keep")],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    try requireCloud(inputs, "in")
    return ["out": .pointCloud]
  },
  make: { options in
    let count = options.int("count")
    return FunctionNode { context in
      let points = try cloud(context, "in")
      guard count <= points.count else {
        throw NodeFailure(
          "\(context.nodeName): cannot sample \(count) points from a cloud of \(points.count)")
      }
      let groups = try points.group(groups: count, k: 1)
      let width = points.columns.count
      let values = points.points.floats()
      let kept = groups.centreIndices.flatMap { values[($0 * width)..<($0 * width + width)] }
      context.emit("out", .pointCloud(Tensor(kept, shape: [count, width])))
    }
  })

/// in → centres [groups, 3], neighbourhoods [groups, k, 3] (relative to their centre), indices
/// [groups, k] i32: Point-BERT's `Group` (FPS centres, then each centre's k nearest points).
let groupDescriptor = NodeDescriptor(
  type: "pointcloud.group",
  doc:
    "Point-BERT's Group: farthest point sampling of `groups` centres, then each centre's k nearest points relative to it.",
  example: exampleNode(
    "pointcloud.group", inputs: [("in", "normalized.out")], options: [("groups", "512"), ("k", "32")]),
  inputs: [PortSpec("in", .pointCloud, doc: "[points, 3 + features]; only x, y, z are used")],
  outputs: [
    PortSpec("centres", .tensor(dtype: .f32, shape: [.symbol("groups"), .fixed(3)]), doc: "[groups, 3]"),
    PortSpec(
      "neighbourhoods", .tensor(dtype: .f32, shape: [.symbol("groups"), .symbol("k"), .fixed(3)]),
      doc: "[groups, k, 3], each point minus its centre, nearest first"),
    PortSpec("indices", .tensor(dtype: .i32, shape: [.symbol("groups"), .symbol("k")]), doc: "[groups, k]"),
  ],
  options: [
    OptionSpec("groups", .int(range: 1...1_000_000), doc: "how many centres"),
    OptionSpec("k", .int(range: 1...100_000), doc: "points per group"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    try requireCloud(inputs, "in")
    let (g, k) = (options.int("groups"), options.int("k"))
    return [
      "centres": .tensor(dtype: .f32, shape: [.fixed(g), .fixed(3)]),
      "neighbourhoods": .tensor(dtype: .f32, shape: [.fixed(g), .fixed(k), .fixed(3)]),
      "indices": .tensor(dtype: .i32, shape: [.fixed(g), .fixed(k)]),
    ]
  },
  make: { options in
    let (g, k) = (options.int("groups"), options.int("k"))
    return FunctionNode { context in
      let points = try cloud(context, "in")
      guard g <= points.count, k <= points.count else {
        throw NodeFailure(
          "\(context.nodeName): groups (\(g)) and k (\(k)) must not exceed the cloud's \(points.count) points"
        )
      }
      let groups = try points.group(groups: g, k: k)
      context.emit("centres", .tensor(groups.centres))
      context.emit("neighbourhoods", .tensor(groups.neighbourhoods))
      context.emit("indices", .tensor(groups.indices))
    }
  })
