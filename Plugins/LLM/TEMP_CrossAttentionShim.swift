import MMCore
import MMLLM

// TEMPORARY until the Idefics helper delivers LlamaModel's gated cross-attention. DELETE.
extension LlamaModel {
  var crossAttentionWidth: Int? { nil }
  func setCrossAttentionImages(_ images: [Tensor]) throws {}
}
