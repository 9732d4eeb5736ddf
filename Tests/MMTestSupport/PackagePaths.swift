import Foundation

/// The package root: the nearest folder above this file holding Package.swift (fixtures,
/// goldens and graphs are found from it, whatever the working directory of the test run).
public let packageRoot: URL = {
  var url = URL(fileURLWithPath: #filePath)
  while url.path != "/" {
    url.deleteLastPathComponent()
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
  }
  return url
}()

/// `relative` under the package root, as a path.
public func packagePath(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }
