import Foundation
import MMCore

// A node type every embedding-space modality needs: a tensor in, unit vectors of a named space and
// the model's logit scale out, the model read from a weights file. The plugin brings the model
// (a closure); MMGraph knows none.

/// `weights` (a file, `default` when not set) and `config` (its configuration; empty: the one
/// the model finds beside the weights).
public func weightFileOptions(default path: String, doc: String) -> [OptionSpec] {
  [
    OptionSpec("weights", .path, default: .string(path), doc: doc),
    OptionSpec(
      "config", .string, default: .string(""), doc: "its JSON configuration (empty: the .json beside it)"),
  ]
}

/// in: a tensor → out: `[count, E]` unit vectors of `space`, logit_scale: `[1]`. `encode` gets
/// the weights path (`~` expanded) and the configuration path (nil: beside the weights) and
/// returns the encoder to call on each input; it runs when the node does, so a model loads only
/// for a graph that runs it (keep the loaded model in a `LoadedModels`).
public func unitEncoderDescriptor(
  type: String, doc: String, inputDoc: String, space: String, scaleDoc: String, options: [OptionSpec],
  encode:
    @escaping @Sendable (_ weights: String, _ config: String?) throws -> (Tensor) throws -> (
      unit: Tensor, logitScale: Float
    )
) -> NodeDescriptor {
  @Sendable func paths(_ options: NodeOptions) -> (weights: String, config: String?) {
    let config = options.string("config")
    return (
      (options.string("weights") as NSString).expandingTildeInPath,
      config.isEmpty ? nil : (config as NSString).expandingTildeInPath
    )
  }
  return NodeDescriptor(
    type: type, doc: doc,
    example: exampleNode(
      type, inputs: [("in", "$" + (type.split(separator: ".").last.map(String.init) ?? "in"))]),
    inputs: [PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: inputDoc)],
    outputs: [
      PortSpec("out", .embedding(space: space, dimension: nil, form: .unit), doc: "[count, E] unit vectors"),
      PortSpec("logit_scale", .tensor(dtype: .f32, shape: [.fixed(1)]), doc: scaleDoc),
    ],
    options: options,
    filesRead: { options in [paths(options).weights] },
    make: { options in
      let (weights, config) = paths(options)
      return FunctionNode { context in
        let input = try context.tensor("in")
        let result = try context.named { try encode(weights, config)(input) }
        context.emit("out", .embedding(Embedding(vectors: result.unit, space: space, form: .unit)))
        context.emit("logit_scale", .tensor(Tensor([result.logitScale], shape: [1])))
      }
    })
}
