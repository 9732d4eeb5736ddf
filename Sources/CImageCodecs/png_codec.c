// PNG decoding and encoding through libpng 1.6 (see CImageCodecs.h).
#include "CImageCodecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mm_image_free(void *buffer) { free(buffer); }

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

// MARK: - Decoding

typedef struct {
  const uint8_t *data;
  size_t size;
  size_t position;
  int truncated;
  char warning[128];
  mm_image_info *info;
  uint8_t *pixels;
  png_bytep *rows;
} png_read_context;

static void read_bytes(png_structp png, png_bytep out, size_t count) {
  png_read_context *context = (png_read_context *)png_get_io_ptr(png);
  if (count > context->size - context->position) {
    context->truncated = 1;
    png_error(png, "unexpected end of file");
  }
  memcpy(out, context->data + context->position, count);
  context->position += count;
}

static void read_error(png_structp png, png_const_charp message) {
  png_read_context *context = (png_read_context *)png_get_error_ptr(png);
  if (context->warning[0] != 0 && strcmp(context->warning, message) != 0) {
    snprintf(context->info->message, sizeof context->info->message, "%s (%s)", message, context->warning);
  } else {
    snprintf(context->info->message, sizeof context->info->message, "%s", message);
  }
  png_longjmp(png, 1);
}

// Warnings (benign chunk problems, an unknown sRGB profile, ...) do not stop decoding; the last
// one is kept so that a following error can mention it (IHDR checks warn first, then fail).
static void read_warning(png_structp png, png_const_charp message) {
  png_read_context *context = (png_read_context *)png_get_error_ptr(png);
  snprintf(context->warning, sizeof context->warning, "%s", message);
}

// The part that may longjmp; `context` lives in the caller's frame, so nothing it holds is lost.
static mm_image_status png_decode_inner(
  png_structp png, png_infop info_ptr, png_read_context *context, uint64_t max_pixels) {
  if (setjmp(png_jmpbuf(png))) {
    return context->truncated ? MM_IMAGE_TRUNCATED : MM_IMAGE_FORMAT;
  }
  mm_image_info *info = context->info;
  png_set_read_fn(png, context, read_bytes);
  // Per-side limits make libpng refuse hostile headers itself; the product is checked below.
  uint64_t side = max_pixels < 0x7fffffffu ? max_pixels : 0x7fffffffu;
  png_set_user_limits(png, (png_uint_32)side, (png_uint_32)side);
  // A bad CRC fails the decode for every chunk, ancillary ones included (as PIL does).
  png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_read_info(png, info_ptr);

  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(png, info_ptr, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
  info->source_color = (uint32_t)color_type;
  info->source_bit_depth = (uint32_t)bit_depth;
  info->interlaced = interlace == PNG_INTERLACE_ADAM7;
  if (width == 0 || height == 0) {
    snprintf(info->message, sizeof info->message, "image is %ux%u pixels", width, height);
    return MM_IMAGE_EMPTY;
  }
  if ((uint64_t)width * height > max_pixels) {
    snprintf(
      info->message, sizeof info->message, "image of %ux%u pixels is over the limit of %llu pixels",
      width, height, (unsigned long long)max_pixels);
    return MM_IMAGE_TOO_LARGE;
  }

  png_set_expand(png);  // palette -> RGB, 1/2/4-bit grey -> 8-bit, tRNS -> alpha
  if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info_ptr);

  uint32_t channels = png_get_channels(png, info_ptr);
  uint32_t depth = png_get_bit_depth(png, info_ptr);
  size_t row_bytes = png_get_rowbytes(png, info_ptr);
  if (channels < 1 || channels > 4 || (depth != 8 && depth != 16) ||
      row_bytes != (size_t)width * channels * (depth / 8)) {
    snprintf(
      info->message, sizeof info->message, "unexpected decoded layout: %u channels of %u bits",
      channels, depth);
    return MM_IMAGE_UNSUPPORTED;
  }
  context->pixels = (uint8_t *)malloc(row_bytes * height);
  context->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
  if (context->pixels == NULL || context->rows == NULL) {
    snprintf(info->message, sizeof info->message, "out of memory for %ux%u pixels", width, height);
    return MM_IMAGE_NO_MEMORY;
  }
  for (png_uint_32 y = 0; y < height; y++) context->rows[y] = context->pixels + row_bytes * y;
  png_read_image(png, context->rows);
  // Reads (and checks the CRCs of) the chunks after the image data up to IEND.
  png_read_end(png, NULL);

  info->width = width;
  info->height = height;
  info->channels = channels;
  info->bit_depth = depth;
  return MM_IMAGE_OK;
}

mm_image_status mm_png_decode(
  const uint8_t *data, size_t size, uint64_t max_pixels, mm_image_info *info, uint8_t **pixels) {
  memset(info, 0, sizeof *info);
  *pixels = NULL;
  if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    snprintf(info->message, sizeof info->message, "not a PNG file (bad signature)");
    return size < 8 ? MM_IMAGE_TRUNCATED : MM_IMAGE_FORMAT;
  }
  png_read_context context;
  memset(&context, 0, sizeof context);
  context.data = data;
  context.size = size;
  context.info = info;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, read_error, read_warning);
  if (png == NULL) {
    snprintf(info->message, sizeof info->message, "cannot create the libpng decoder");
    return MM_IMAGE_NO_MEMORY;
  }
  png_infop info_ptr = png_create_info_struct(png);
  if (info_ptr == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    snprintf(info->message, sizeof info->message, "cannot create the libpng decoder");
    return MM_IMAGE_NO_MEMORY;
  }
  mm_image_status status = png_decode_inner(png, info_ptr, &context, max_pixels);
  png_destroy_read_struct(&png, &info_ptr, NULL);
  free(context.rows);
  if (status != MM_IMAGE_OK) {
    free(context.pixels);
    info->width = info->height = info->channels = info->bit_depth = 0;
    return status;
  }
  *pixels = context.pixels;
  return MM_IMAGE_OK;
}

// MARK: - Encoding

typedef struct {
  uint8_t *bytes;
  size_t count;
  size_t capacity;
  char *message;
} png_write_context;

static void write_error(png_structp png, png_const_charp message) {
  png_write_context *context = (png_write_context *)png_get_error_ptr(png);
  snprintf(context->message, 256, "libpng: %s", message);
  png_longjmp(png, 1);
}

static void write_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void write_bytes(png_structp png, png_bytep data, size_t count) {
  png_write_context *context = (png_write_context *)png_get_io_ptr(png);
  if (count > context->capacity - context->count) {
    size_t capacity = context->capacity < 4096 ? 4096 : context->capacity;
    while (capacity - context->count < count) {
      if (capacity > SIZE_MAX / 2) png_error(png, "output too large");
      capacity *= 2;
    }
    uint8_t *grown = (uint8_t *)realloc(context->bytes, capacity);
    if (grown == NULL) png_error(png, "out of memory");
    context->bytes = grown;
    context->capacity = capacity;
  }
  memcpy(context->bytes + context->count, data, count);
  context->count += count;
}

static void flush_bytes(png_structp png) { (void)png; }

static mm_image_status png_encode_inner(
  png_structp png, png_infop info_ptr, png_write_context *context, const uint8_t *pixels,
  uint32_t width, uint32_t height, uint32_t channels, uint32_t bit_depth, int level) {
  if (setjmp(png_jmpbuf(png))) return MM_IMAGE_FORMAT;
  static const int color_types[4] = {
    PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_write_fn(png, context, write_bytes, flush_bytes);
  png_set_compression_level(png, level);
  png_set_IHDR(
    png, info_ptr, width, height, (int)bit_depth, color_types[channels - 1], PNG_INTERLACE_NONE,
    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info_ptr);
  if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
  size_t row_bytes = (size_t)width * channels * (bit_depth / 8);
  for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + row_bytes * y));
  png_write_end(png, NULL);
  return MM_IMAGE_OK;
}

mm_image_status mm_png_encode(
  const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, uint32_t bit_depth,
  int compression_level, uint8_t **png_out, size_t *png_size, char *message) {
  *png_out = NULL;
  *png_size = 0;
  message[0] = 0;
  if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu || channels < 1 ||
      channels > 4 || (bit_depth != 8 && bit_depth != 16) || compression_level < 0 ||
      compression_level > 9) {
    snprintf(
      message, 256, "cannot write %ux%u pixels of %u channels at %u bits (level %d)", width, height,
      channels, bit_depth, compression_level);
    return MM_IMAGE_BAD_ARGUMENT;
  }
  png_write_context context = {NULL, 0, 0, message};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, write_error, write_warning);
  if (png == NULL) {
    snprintf(message, 256, "cannot create the libpng encoder");
    return MM_IMAGE_NO_MEMORY;
  }
  png_infop info_ptr = png_create_info_struct(png);
  if (info_ptr == NULL) {
    png_destroy_write_struct(&png, NULL);
    snprintf(message, 256, "cannot create the libpng encoder");
    return MM_IMAGE_NO_MEMORY;
  }
  mm_image_status status = png_encode_inner(
    png, info_ptr, &context, pixels, width, height, channels, bit_depth, compression_level);
  png_destroy_write_struct(&png, &info_ptr);
  if (status != MM_IMAGE_OK) {
    free(context.bytes);
    return status;
  }
  *png_out = context.bytes;
  *png_size = context.count;
  return MM_IMAGE_OK;
}
