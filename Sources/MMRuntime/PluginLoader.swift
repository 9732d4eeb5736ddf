import Foundation
import MMGraph

/// Loads out-of-tree plugins: shared libraries built against this build of mmgraph (its
/// `.swiftmodule` files) that leave MMGraph/MMCore symbols undefined, to be bound to the host
/// executable's own copies at `dlopen` (the executable is linked with `--export-dynamic`). So
/// `NodeRegistry`, `Value` and `Tensor` are the very same types on both sides.
///
/// A plugin exports one C entry point (Documentation/Plugins.md):
///
///     @_cdecl("mmgraph_register_plugin")
///     public func mmgraphRegisterPlugin(_ registry: UnsafeMutableRawPointer) -> UnsafeMutablePointer<CChar>? {
///       let registry = registry.assumingMemoryBound(to: NodeRegistry.self)
///       do { try ExamplePlugin.register(into: &registry.pointee) } catch { return strdup("\(error)") }
///       return nil
///     }
///
/// It returns nil on success, or a `malloc`ed message that the host frees.
public enum PluginLoader {
  /// The entry point's symbol name.
  public static let entryPoint = "mmgraph_register_plugin"
  /// The environment variable listing plugin folders (colon-separated); their `*.so` load.
  public static let environmentVariable = "MMGRAPH_PLUGIN_PATH"

  private typealias Entry = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutablePointer<CChar>?

  /// The plugin files to load: every `*.so` (sorted) in the folders of `MMGRAPH_PLUGIN_PATH`,
  /// then `explicit` (`--plugin` paths), without repeats. A listed folder that does not exist is
  /// an error (a typo would otherwise silently load nothing).
  public static func pluginPaths(
    explicit: [String], environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(PluginError) -> [String] {
    var paths: [String] = []
    for folder in (environment[environmentVariable] ?? "").split(separator: ":").map(String.init) {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
      else {
        throw PluginError(path: folder, problem: "\(environmentVariable) lists a folder that does not exist")
      }
      let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      paths += names.filter { $0.hasSuffix(".so") }.sorted().map { folder + "/" + $0 }
    }
    var seen = Set<String>()
    return (paths + explicit).filter {
      seen.insert(URL(fileURLWithPath: $0).resolvingSymlinksInPath().path).inserted
    }
  }

  /// Loads the plugin at `path` and lets it register its node types. On any failure `registry`
  /// is unchanged (a plugin registers into a copy that is kept only when it succeeds).
  public static func load(_ path: String, into registry: inout NodeRegistry) throws(PluginError) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw PluginError(path: path, problem: "no such file")
    }
    guard !isDirectory.boolValue else {
      throw PluginError(
        path: path,
        problem: "is a folder; pass the plugin's .so file (or list the folder in \(environmentVariable))")
    }
    // A path with a slash makes dlopen take the file itself, not search the library path.
    let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    guard let handle = dlopen(absolute, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
      var hint = ""
      if reason.contains("undefined symbol") {
        hint = "; the plugin must be built against this mmgraph build (see Documentation/Plugins.md)"
      }
      throw PluginError(path: path, problem: "cannot load the shared library: \(reason)\(hint)")
    }
    // The handle is never closed: registered node factories are code inside the library.
    guard let symbol = dlsym(handle, entryPoint) else {
      throw PluginError(
        path: path,
        problem:
          "does not export \(entryPoint); declare `@_cdecl(\"\(entryPoint)\")` as in Documentation/Plugins.md"
      )
    }
    let entry = unsafeBitCast(symbol, to: Entry.self)
    var candidate = registry
    let message = withUnsafeMutablePointer(to: &candidate) { entry(UnsafeMutableRawPointer($0)) }
    if let message {
      let text = String(cString: message)
      free(message)
      throw PluginError(path: path, problem: "failed to register: \(text)")
    }
    registry = candidate
  }

  /// Loads every plugin of `pluginPaths(explicit:environment:)` into `registry`.
  public static func loadAll(
    explicit: [String], into registry: inout NodeRegistry,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(PluginError) {
    for path in try pluginPaths(explicit: explicit, environment: environment) {
      try load(path, into: &registry)
    }
  }
}

/// A plugin that could not be loaded (exit code 2 in the CLI).
public struct PluginError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var problem: String
  public init(path: String, problem: String) {
    self.path = path
    self.problem = problem
  }
  public var description: String { "plugin \(path): \(problem)" }
}
