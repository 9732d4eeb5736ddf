import MMCore

@_implementationOnly import CKernels

/// Packing for the GEMM micro-kernel (BLIS layout).
///
/// A is packed in row panels of `GEMMTile.mr` rows: for every k, the `mr` values of column k.
/// B is packed in column panels of `GEMMTile.nr` columns: for every k, the `nr` values of row k.
/// Panels past the matrix edge are zero-filled, so the micro-kernel never branches on edges.
/// f16 and bf16 B operands are widened to f32 here, once per call.
enum GEMMTile {
  static let mr = 6
  static let nr = 16
  /// Depth of one packed A block (the A block stays in L2, one B micro-panel in L1).
  static let kc = 256
  /// Largest number of rows in one A block: 240·kc·4 bytes = 240 KB stays in a 512 KB L2 beside
  /// the B panels, and a whole ViT-B/16 batch (197 rows) is one block, so each packed weight is
  /// streamed from memory once per call rather than once per 96 rows (5 % of the ViT's time).
  static let mcMax = 240
  /// Columns per task when B is streamed (its kc×nc slice stays in L2).
  static let ncStream = 128
}

/// B[k×n] packed once and kept (weights): for each depth block of `GEMMTile.kc` rows, its
/// ⌈n/nr⌉ panels of [kc][nr] floats one after another. The panels a GEMM sweeps for one depth
/// block are then one sequential stream, which the hardware prefetchers follow (a layout with
/// each panel's whole depth together started a new stream, 48 KB away, every 16 columns).
public struct PackedB: @unchecked Sendable {
  public let k: Int
  public let n: Int
  let storage: TensorStorage
  static var panelWidth: Int { GEMMTile.nr }
  var panelCount: Int { (n + GEMMTile.nr - 1) / GEMMTile.nr }

  /// Panel `q` of the depth block starting at `depth` (a multiple of `GEMMTile.kc`): [kc][nr].
  func panel(_ q: Int, depth: Int) -> UnsafePointer<Float> {
    let base = storage.bytes.assumingMemoryBound(to: Float.self)
    return UnsafePointer(
      base + depth * panelCount * GEMMTile.nr + q * min(GEMMTile.kc, k - depth) * GEMMTile.nr)
  }

  /// Packs the logical k×n matrix `b` (any supported dtype, transposed or not), in parallel.
  public init(k: Int, n: Int, b: MatrixOperand, pool: ThreadPool = .shared) {
    self.k = k
    self.n = n
    let (nr, kcMax) = (GEMMTile.nr, GEMMTile.kc)
    let count = (n + nr - 1) / nr
    storage = TensorStorage(uninitializedByteCount: max(count * k * nr, 1) * MemoryLayout<Float>.stride)
    let base = storage.bytes.assumingMemoryBound(to: Float.self)
    // Tasks of (depth block) × (group of 16 panels): an untransposed B is read row by row across
    // the group (contiguous runs of 16·group values), a transposed one in 8 × 8 tiles.
    let group = 16
    let groups = (count + group - 1) / group
    let depthBlocks = (k + kcMax - 1) / kcMax
    pool.parallelFor(depthBlocks * groups) { task in
      let depth = (task / groups) * kcMax
      let kc = min(kcMax, k - depth)
      let first = (task % groups) * group
      let column = first * nr
      let width = min(n, (first + group) * nr) - column
      packBSlice(
        b, depth: depth, kc: kc, column: column, width: width,
        into: base + depth * count * nr + first * kc * nr)
    }
  }
}

/// Rows [row, row + mc) × depth [depth, depth + kc) of A → ⌈mc/mr⌉ panels of [kc][mr].
@inline(__always)
func packABlock(
  _ a: MatrixOperand, m: Int, row: Int, mc: Int, depth: Int, kc: Int,
  into dst: UnsafeMutablePointer<Float>
) {
  let mr = GEMMTile.mr
  let src = a.base.assumingMemoryBound(to: Float.self)
  var panelStart = 0
  while panelStart < mc {
    let out = dst + panelStart * kc
    let rows = min(mr, mc - panelStart)
    let r0 = row + panelStart
    if a.transposed {
      // A stored [k][ld]: the mr values for one k are contiguous.
      for p in 0..<kc {
        let column = src + (depth + p) * a.ld + r0
        for i in 0..<rows { out[p * mr + i] = column[i] }
        for i in rows..<mr { out[p * mr + i] = 0 }
      }
    } else if rows == mr {
      // Six row streams → one sequential output stream (no index arithmetic per element).
      let l0 = UnsafePointer(src + r0 * a.ld + depth)
      let (l1, l2, l3, l4, l5) = (l0 + a.ld, l0 + 2 * a.ld, l0 + 3 * a.ld, l0 + 4 * a.ld, l0 + 5 * a.ld)
      var o = out
      for p in 0..<kc {
        o[0] = l0[p]
        o[1] = l1[p]
        o[2] = l2[p]
        o[3] = l3[p]
        o[4] = l4[p]
        o[5] = l5[p]
        o += 6
      }
    } else {
      for i in 0..<rows {
        let line = src + (r0 + i) * a.ld + depth
        for p in 0..<kc { out[p * mr + i] = line[p] }
      }
      for i in rows..<mr {
        for p in 0..<kc { out[p * mr + i] = 0 }
      }
    }
    panelStart += mr
  }
}

/// Rows [depth, depth + kc) × columns [column, column + width) of the logical B → ⌈width/nr⌉
/// panels of [kc][nr] (zero-padded past `width`).
func packBSlice(
  _ b: MatrixOperand, depth: Int, kc: Int, column: Int, width: Int, into dst: UnsafeMutablePointer<Float>
) {
  let nr = GEMMTile.nr
  let full = width / nr
  if !b.transposed && (b.dtype == .f32 || b.dtype == .f16) {
    let size = b.dtype.byteSize
    for p in 0..<kc {
      let row = b.base + ((depth + p) * b.ld + column) * size
      for q in 0..<full {
        copy16(row, q, b.dtype, into: dst + q * kc * nr + p * nr)
      }
    }
  } else if b.transposed && b.dtype == .f32 {
    // B stored [n][ld] (a Linear weight), f32: 8 × 8 transposes in registers (C).
    let src = b.base.assumingMemoryBound(to: Float.self)
    for q in 0..<full {
      mm_pack_b_transposed_f32(
        src + (column + q * nr) * b.ld + depth, Int64(b.ld), Int64(kc), dst + q * kc * nr)
    }
  } else if b.transposed {
    // B stored [n][ld] (a Linear weight): each column of the logical B is a contiguous row.
    for q in 0..<full {
      let out = dst + q * kc * nr
      for j in 0..<nr {
        let line = b.base + ((column + q * nr + j) * b.ld + depth) * b.dtype.byteSize
        widenRow(line, b.dtype, count: kc, into: out + j, stride: nr)
      }
    }
  } else {
    for q in 0..<full {
      let out = dst + q * kc * nr
      for p in 0..<kc {
        for j in 0..<nr { out[p * nr + j] = b.element(depth + p, column + q * nr + j) }
      }
    }
  }
  if full * nr < width {
    let out = dst + full * kc * nr
    let rest = width - full * nr
    for p in 0..<kc {
      for j in 0..<nr { out[p * nr + j] = j < rest ? b.element(depth + p, column + full * nr + j) : 0 }
    }
  }
}

/// out[i · stride] = Float(src[i]) for i < count; src is f32, f16 or bf16.
@inline(__always)
private func widenRow(
  _ src: UnsafeRawPointer, _ dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>, stride: Int
) {
  switch dtype {
  case .f16:
    let s = src.assumingMemoryBound(to: Float16.self)
    for i in 0..<count { out[i * stride] = Float(s[i]) }
  case .bf16:
    let s = src.assumingMemoryBound(to: UInt16.self)
    for i in 0..<count { out[i * stride] = Float(bitPattern: UInt32(s[i]) << 16) }
  default:
    let s = src.assumingMemoryBound(to: Float.self)
    for i in 0..<count { out[i * stride] = s[i] }
  }
}

/// out[0..<16] = Float(row[16q ..< 16q + 16]) for an f32 or f16 row.
@inline(__always)
private func copy16(_ row: UnsafeRawPointer, _ q: Int, _ dtype: DType, into out: UnsafeMutablePointer<Float>)
{
  let lo: SIMD8<Float>
  let hi: SIMD8<Float>
  if dtype == .f16 {
    lo = SIMD8<Float>(row.loadUnaligned(fromByteOffset: q * 32, as: SIMD8<Float16>.self))
    hi = SIMD8<Float>(row.loadUnaligned(fromByteOffset: q * 32 + 16, as: SIMD8<Float16>.self))
  } else {
    lo = row.loadUnaligned(fromByteOffset: q * 64, as: SIMD8<Float>.self)
    hi = row.loadUnaligned(fromByteOffset: q * 64 + 32, as: SIMD8<Float>.self)
  }
  let raw = UnsafeMutableRawPointer(out)
  raw.storeBytes(of: lo, as: SIMD8<Float>.self)
  raw.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
}
