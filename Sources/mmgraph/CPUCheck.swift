import Foundation

/// The kernels are compiled for a CPU level (Package.swift's MMGRAPH_MARCH, default x86-64-v3).
/// On an older CPU they would die of an illegal instruction; check first and say what to do.
enum CPUCheck {
  static func requireBuildFeatures() {
    #if arch(x86_64) && MMGRAPH_MARCH_SET
      guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
      else { return }
      let flags = Set(flagsLine.split(separator: " ").map(String.init))
      let missing = ["avx2", "fma", "f16c"].filter { !flags.contains($0) }
      if !missing.isEmpty {
        fail(
          "this build needs a CPU with AVX2, FMA and F16C (x86-64-v3); this one lacks "
            + missing.joined(separator: ", ")
            + ". Rebuild with MMGRAPH_MARCH=none (portable, slower) or MMGRAPH_MARCH=native.",
          code: 1)
      }
    #endif
  }
}
