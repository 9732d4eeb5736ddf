// CImageCodecs: a small C shim over libpng and libjpeg(-turbo).
//
// Both libraries report errors by longjmp, which Swift cannot catch; every entry point here sets up
// its own setjmp, turns any library error (and libjpeg's corrupt-data warnings) into a status code
// plus a message, and frees whatever it allocated. Decoders read from a memory buffer and return
// malloc'd pixels (release with mm_image_free); the encoder returns a malloc'd PNG file.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a call. Anything but MM_IMAGE_OK leaves a message in the result.
typedef enum {
  MM_IMAGE_OK = 0,
  /// Not a valid file of the format (bad signature, bad header, bad chunk CRC, corrupt data).
  MM_IMAGE_FORMAT = 1,
  /// Valid but beyond this decoder (12-bit JPEG, arithmetic coding, 2-component JPEG, ...).
  MM_IMAGE_UNSUPPORTED = 2,
  /// The data ends before the image does.
  MM_IMAGE_TRUNCATED = 3,
  /// The header declares more pixels than the caller's limit (checked before allocating).
  MM_IMAGE_TOO_LARGE = 4,
  /// The header declares a zero width or height.
  MM_IMAGE_EMPTY = 5,
  /// An allocation failed.
  MM_IMAGE_NO_MEMORY = 6,
  /// The caller passed something unusable (encoder arguments).
  MM_IMAGE_BAD_ARGUMENT = 7,
} mm_image_status;

/// What a decoder produced. Pixels are row-major with channels interleaved, rows packed
/// (row bytes = width * channels * bit_depth / 8); 16-bit samples are native-endian uint16.
typedef struct {
  uint32_t width;
  uint32_t height;
  /// Channels of the decoded pixels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (PNG) or CMYK (JPEG).
  uint32_t channels;
  /// 8 or 16.
  uint32_t bit_depth;
  /// JPEG only: 1 when the four channels are CMYK as libjpeg returns them (YCCK already
  /// converted to CMYK; Adobe inversion NOT undone).
  uint32_t is_cmyk;
  /// PNG: the IHDR colour type and bit depth; JPEG: the file's colour space (J_COLOR_SPACE)
  /// and 8.
  uint32_t source_color;
  uint32_t source_bit_depth;
  /// PNG: 1 when Adam7-interlaced; JPEG: 1 when progressive.
  uint32_t interlaced;
  /// Set when the status is not MM_IMAGE_OK.
  char message[256];
} mm_image_info;

/// Decodes a PNG held in memory. 1/2/4-bit grey and palettes are expanded to 8 bits, tRNS
/// becomes an alpha channel, 16-bit samples stay 16-bit, interlacing is undone. Every chunk CRC
/// is checked; data missing before IEND is MM_IMAGE_TRUNCATED. `max_pixels` bounds
/// width * height before any pixel memory is allocated.
/// On success `*pixels` is a malloc'd buffer (free with mm_image_free).
mm_image_status mm_png_decode(
  const uint8_t *data, size_t size, uint64_t max_pixels, mm_image_info *info, uint8_t **pixels);

/// Decodes a JPEG (baseline or progressive; Huffman or arithmetic coding as the library
/// allows) held in memory with PIL's settings: JDCT_ISLOW, fancy upsampling, block smoothing
/// on. Grey stays grey, YCbCr/RGB become RGB, CMYK/YCCK become CMYK (see is_cmyk).
/// libjpeg's warnings about corrupt or missing data are errors here ("Premature end of JPEG
/// file" is MM_IMAGE_TRUNCATED), so damaged files fail instead of decoding to grey blocks.
mm_image_status mm_jpeg_decode(
  const uint8_t *data, size_t size, uint64_t max_pixels, mm_image_info *info, uint8_t **pixels);

/// Releases pixels or PNG bytes returned by this shim.
void mm_image_free(void *buffer);

/// Encodes a PNG: channels 1–4 (grey, grey+alpha, RGB, RGBA), bit_depth 8 or 16 (16-bit
/// samples native-endian uint16), zlib `compression_level` 0–9, no interlace. On success
/// `*png` is a malloc'd file of `*png_size` bytes (free with mm_image_free); otherwise
/// `message` (256 bytes) says why.
mm_image_status mm_png_encode(
  const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, uint32_t bit_depth,
  int compression_level, uint8_t **png, size_t *png_size, char *message);

#ifdef __cplusplus
}
#endif

#endif
