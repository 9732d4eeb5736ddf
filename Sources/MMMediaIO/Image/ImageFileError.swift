/// An image file could not be read. The description names the file and the problem.
public struct ImageFileError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// Missing, a directory, or unreadable.
    case io
    /// Not a PNG or JPEG file, or a damaged one (bad header, bad chunk CRC, corrupt data).
    case format
    /// A valid file this decoder does not handle (GIF/WebP/BMP/TIFF, 12-bit or arithmetic-coded
    /// JPEG, a 2-component JPEG).
    case unsupported
    /// The data ends before the image does.
    case truncated
    /// The header declares more pixels than the limit (checked before anything is allocated).
    case tooLarge
    /// A 0-byte file, or a header declaring zero width or height.
    case empty
  }

  public var file: String
  public var kind: Kind
  public var message: String

  public init(file: String, kind: Kind, message: String) {
    self.file = file
    self.kind = kind
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}
