// CZlib: zlib (Debian: zlib1g-dev) for MMTokenizers' gzip reader (CLIP's bpe_simple_vocab_16e6.txt.gz).
#include <zlib.h>

// `inflateInit2` is a macro, which Swift cannot call: gzip or zlib stream, auto-detected (15 + 32).
static inline int mm_inflate_init_auto(z_stream *stream) { return inflateInit2(stream, 15 + 32); }
