import AudioPlugin
import BLIP2Plugin
import CLIPPlugin
import DepthPlugin
import IMUPlugin
import IdeficsPlugin
import ImageBindPlugin
import LLMPlugin
import LLaVAPlugin
import MMGraph
import NExTGPTPlugin
import PointCloudPlugin
import SentencePlugin
import SpacePlugin
import SpeechPlugin
import TensorPlugin
import TextPlugin
import ThermalPlugin
import VideoPlugin
import VisionPlugin

/// The one list of built-in plugins. A new modality is a folder under `Plugins/` (a target with
/// an explicit `path:`) plus one line here; nothing else in the graph core, scheduler or CLI
/// changes.
public enum Builtins {
  public static var plugins: [any NodePlugin.Type] {
    [
      TensorPlugin.self, TextPlugin.self, AudioPlugin.self, VisionPlugin.self, VideoPlugin.self,
      PointCloudPlugin.self, LLMPlugin.self, SpeechPlugin.self, SentencePlugin.self, SpacePlugin.self,
      ImageBindPlugin.self, CLIPPlugin.self, DepthPlugin.self, ThermalPlugin.self, IMUPlugin.self,
      NExTGPTPlugin.self, BLIP2Plugin.self, LLaVAPlugin.self, IdeficsPlugin.self,
    ]
  }

  /// A registry holding every built-in node type.
  public static func registry() throws(RegistryError) -> NodeRegistry {
    var registry = NodeRegistry()
    for plugin in plugins { try plugin.register(into: &registry) }
    return registry
  }

  /// FLOP estimates by node type for `mmgraph plan` (node types without one show "-").
  public static var flopEstimates: [String: FlopEstimate] {
    TensorPlugin.flopEstimates
  }
}
