/// MMModels: the encoders, heads and connectors of mmgraph, one file per model family under a
/// folder per source (ImageBind/, CLIP/, Whisper/, BERT/), each with its checkpoint's real key
/// names. Models know nothing of graphs; plugins adapt them into nodes.
public enum MMModels {}
