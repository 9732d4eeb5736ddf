import MMCore
import MMNN
import MMWeights

/// NExT-GPT's input projection: `llama_proj`, one `nn.Linear` from ImageBind's space into the
/// LLM's width — each shared-space embedding becomes one soft token, spliced into the prompt
/// between `<Img>` and `</Img>` (NExT-GPT's `prompt_wrap`). Reads the two tensors under any key
/// prefix (`llama_proj` in NExT-GPT's checkpoint) of a safetensors file.
///
/// ```swift
/// let projection = try NExTGPTProjection(weights: try openWeightStore(path: "projection.safetensors"))
/// let token = try projection(audioEmbedding)   // [1, 1024] → [1, 4096]
/// ```
public final class NExTGPTProjection: Sendable {
  /// `llama_proj.weight` [hidden, embedding], `llama_proj.bias` [hidden].
  public let llamaProj: Linear

  /// The widths come from the stored weight; `embedding`/`hidden`, when given, must match it.
  public init(
    weights: any WeightStore, prefix: String = "llama_proj", embedding: Int? = nil, hidden: Int? = nil
  )
    throws(ModelError)
  {
    let scope = ParameterScope(weights)
    let key = scope.key(prefix.isEmpty ? "weight" : prefix + ".weight")
    let shape: [Int]
    do { shape = try weights.shape(of: key) } catch { throw ModelError(error) }
    guard shape.count == 2 else {
      throw .weights(
        path: weights.path, tensor: key, problem: "shape \(shapeText(shape)), expected [hidden, embedding]")
    }
    let (outputs, inputs) = (hidden ?? shape[0], embedding ?? shape[1])
    llamaProj = try scope.linear(prefix, inputs: inputs, outputs: outputs)
  }

  /// The embedding width it takes (1024 for ImageBind huge).
  public var embeddingWidth: Int { llamaProj.inputs }
  /// The LLM hidden size it produces.
  public var hiddenSize: Int { llamaProj.outputs }

  /// embeddings: [count, embedding] → soft tokens [count, hidden].
  public func callAsFunction(_ embeddings: Tensor) throws(ModelError) -> Tensor {
    try llamaProj(embeddings.dtype == .f32 ? embeddings : embeddings.converted(to: .f32))
  }
}
