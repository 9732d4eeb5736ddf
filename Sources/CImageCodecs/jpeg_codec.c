// JPEG decoding through libjpeg(-turbo) (see CImageCodecs.h).
#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE and size_t first
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/// Progressive files with more scans than this are refused: a few-kilobyte file with thousands
/// of tiny scans would otherwise make every scan re-walk the whole coefficient buffer.
#define MM_JPEG_MAX_SCANS 1000

typedef struct {
  struct jpeg_error_mgr manager;  // first, so a j_common_ptr's err can be cast back
  struct jpeg_progress_mgr progress;
  jmp_buf jump;
  mm_image_status status;
  mm_image_info *info;
} jpeg_context;

static mm_image_status status_for_error(int code) {
  switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_CCIR601_NOTIMPL:
      return MM_IMAGE_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
      return MM_IMAGE_NO_MEMORY;
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF:
      return MM_IMAGE_TRUNCATED;
    case JERR_EMPTY_IMAGE:
      return MM_IMAGE_EMPTY;
    case JERR_IMAGE_TOO_BIG:
      return MM_IMAGE_TOO_LARGE;
    default:
      return MM_IMAGE_FORMAT;
  }
}

static void fail(j_common_ptr cinfo, mm_image_status status) {
  jpeg_context *context = (jpeg_context *)cinfo->err;
  char text[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, text);
  snprintf(context->info->message, sizeof context->info->message, "%s", text);
  context->status = status;
  longjmp(context->jump, 1);
}

static void error_exit(j_common_ptr cinfo) { fail(cinfo, status_for_error(cinfo->err->msg_code)); }

// libjpeg reports damaged data as warnings and carries on, filling the rest with grey; here every
// warning about the data is fatal. Only warnings about metadata (an unknown JFIF version or Adobe
// transform code, a bad ICC marker, which PIL reads on its own) let decoding go on.
static void emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  int code = cinfo->err->msg_code;
  if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC) {
    cinfo->err->num_warnings++;
    return;
  }
  fail(cinfo, code == JWRN_JPEG_EOF ? MM_IMAGE_TRUNCATED : MM_IMAGE_FORMAT);
}

static void output_message(j_common_ptr cinfo) { (void)cinfo; }

static void progress(j_common_ptr cinfo) {
  if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > MM_JPEG_MAX_SCANS) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    snprintf(
      context->info->message, sizeof context->info->message,
      "more than %d progressive scans", MM_JPEG_MAX_SCANS);
    context->status = MM_IMAGE_FORMAT;
    longjmp(context->jump, 1);
  }
}

typedef struct {
  uint8_t *pixels;
} jpeg_output;

static mm_image_status jpeg_decode_inner(
  struct jpeg_decompress_struct *cinfo, jpeg_context *context, jpeg_output *output,
  const uint8_t *data, size_t size, uint64_t max_pixels) {
  if (setjmp(context->jump)) return context->status;
  mm_image_info *info = context->info;
  jpeg_create_decompress(cinfo);
  cinfo->progress = &context->progress;
  jpeg_mem_src(cinfo, data, (unsigned long)size);
  jpeg_read_header(cinfo, TRUE);

  info->source_color = (uint32_t)cinfo->jpeg_color_space;
  info->source_bit_depth = 8;
  info->interlaced = jpeg_has_multiple_scans(cinfo) ? 1 : 0;
  if (cinfo->image_width == 0 || cinfo->image_height == 0) {
    snprintf(
      info->message, sizeof info->message, "image is %ux%u pixels", cinfo->image_width,
      cinfo->image_height);
    return MM_IMAGE_EMPTY;
  }
  if ((uint64_t)cinfo->image_width * cinfo->image_height > max_pixels) {
    snprintf(
      info->message, sizeof info->message, "image of %ux%u pixels is over the limit of %llu pixels",
      cinfo->image_width, cinfo->image_height, (unsigned long long)max_pixels);
    return MM_IMAGE_TOO_LARGE;
  }
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo->out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      break;
    default:
      snprintf(
        info->message, sizeof info->message, "JPEG with %d components in an unknown colour space",
        cinfo->num_components);
      return MM_IMAGE_UNSUPPORTED;
  }
  // PIL's settings for a full-size decode (its draft mode, never used by Image.open, differs).
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  cinfo->do_block_smoothing = TRUE;
  cinfo->scale_num = 1;
  cinfo->scale_denom = 1;
  jpeg_start_decompress(cinfo);

  uint32_t width = cinfo->output_width, height = cinfo->output_height;
  uint32_t channels = (uint32_t)cinfo->output_components;
  if (channels != 1 && channels != 3 && channels != 4) {
    snprintf(info->message, sizeof info->message, "JPEG decodes to %u channels", channels);
    return MM_IMAGE_UNSUPPORTED;
  }
  size_t row_bytes = (size_t)width * channels;
  output->pixels = (uint8_t *)malloc(row_bytes * height);
  if (output->pixels == NULL) {
    snprintf(info->message, sizeof info->message, "out of memory for %ux%u pixels", width, height);
    return MM_IMAGE_NO_MEMORY;
  }
  while (cinfo->output_scanline < height) {
    JSAMPROW row = output->pixels + row_bytes * cinfo->output_scanline;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      snprintf(info->message, sizeof info->message, "decoding stopped at row %u", cinfo->output_scanline);
      return MM_IMAGE_TRUNCATED;
    }
  }
  // Reads up to EOI: a file cut after the last scan fails here ("Premature end of JPEG file").
  jpeg_finish_decompress(cinfo);
  info->width = width;
  info->height = height;
  info->channels = channels;
  info->bit_depth = 8;
  info->is_cmyk = channels == 4;
  return MM_IMAGE_OK;
}

mm_image_status mm_jpeg_decode(
  const uint8_t *data, size_t size, uint64_t max_pixels, mm_image_info *info, uint8_t **pixels) {
  memset(info, 0, sizeof *info);
  *pixels = NULL;
  if (size == 0) {
    snprintf(info->message, sizeof info->message, "empty input");
    return MM_IMAGE_TRUNCATED;
  }
  struct jpeg_decompress_struct cinfo;
  memset(&cinfo, 0, sizeof cinfo);
  jpeg_context context;
  memset(&context, 0, sizeof context);
  context.info = info;
  context.status = MM_IMAGE_FORMAT;
  cinfo.err = jpeg_std_error(&context.manager);
  context.manager.error_exit = error_exit;
  context.manager.emit_message = emit_message;
  context.manager.output_message = output_message;
  context.progress.progress_monitor = progress;
  jpeg_output output = {NULL};
  mm_image_status status = jpeg_decode_inner(&cinfo, &context, &output, data, size, max_pixels);
  jpeg_destroy_decompress(&cinfo);
  if (status != MM_IMAGE_OK) {
    free(output.pixels);
    info->width = info->height = info->channels = info->bit_depth = info->is_cmyk = 0;
    return status;
  }
  *pixels = output.pixels;
  return MM_IMAGE_OK;
}
