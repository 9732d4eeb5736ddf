import MMCore
import MMGraph
import MMWeights

/// `.npy` file → out: the stored dtype and shape. The type rule reads the file's header, so a
/// missing or malformed file is reported by `mmgraph check`, and shapes are static in `plan`.
let loadDescriptor = NodeDescriptor(
  type: "tensor.load",
  doc: "Reads a NumPy .npy file (any byte order or Fortran order) into a tensor.",
  example: exampleNode("tensor.load", options: [("path", "\"weights/w.npy\"")]),
  inputs: [],
  outputs: [PortSpec("out", TensorTypes.anyTensor, doc: "the array, in its stored dtype and shape")],
  options: [OptionSpec("path", .path, doc: "the .npy file, relative to the graph file's folder")],
  typeRule: { (_, options) throws(TypeRuleError) in
    let path = options.string("path")
    do {
      let file = try MappedFile(path: path)
      let bytes = UnsafeRawBufferPointer(start: file.bytes, count: file.size)
      let header = try NPY.parseHeader(bytes, path: path)
      return ["out": .tensor(dtype: header.dtype, shape: header.shape.map { .fixed($0) })]
    } catch {
      throw TypeRuleError(port: "path", expected: "a readable .npy file", found: "\(error)")
    }
  },
  filesRead: { options in [options.string("path")] },
  make: { options in
    let path = options.string("path")
    return FunctionNode { context in context.emit("out", .tensor(try NPY.read(contentsOf: path))) }
  })

/// x → a `.npy` file (atomic); out: the path written. Not pure (it writes a file), never cached.
let saveDescriptor = NodeDescriptor(
  type: "tensor.save",
  doc: "Writes x to a .npy file atomically (bf16/f8 are widened to f32) and outputs the path.",
  example: exampleNode("tensor.save", inputs: [("x", "sum.out")], options: [("path", "\"out/sum.npy\"")]),
  inputs: [PortSpec("x", TensorTypes.anyTensor, doc: "the tensor to write")],
  outputs: [PortSpec("path", .text, doc: "the absolute path written")],
  options: [OptionSpec("path", .path, doc: "the .npy file to write, relative to the graph file's folder")],
  isPure: false,
  make: { options in
    let path = options.string("path")
    return FunctionNode { context in
      var x = try context.tensor("x")
      if [.bf16, .f8e4m3, .f8e5m2].contains(x.dtype) { x = x.converted(to: .f32) }
      try NPY.write(x, to: path)
      context.emit("path", .text(path))
    }
  })
