/* SHA-256 (FIPS 180-4): used to deduplicate passages by their text and to
 * identify model checkpoints by their bytes. */
#ifndef QT_SHA256_H
#define QT_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

#define QT_SHA256_BYTES 32
#define QT_SHA256_HEX_LEN 64 /* without the NUL */

typedef struct qt_sha256_ctx {
    uint32_t state[8];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t block_used;
} qt_sha256_ctx;

void qt_sha256_init(qt_sha256_ctx *ctx);
void qt_sha256_update(qt_sha256_ctx *ctx, const void *data, size_t len);
void qt_sha256_final(qt_sha256_ctx *ctx, uint8_t digest[QT_SHA256_BYTES]);

/* One-shot digest of len bytes. */
void qt_sha256(const void *data, size_t len, uint8_t digest[QT_SHA256_BYTES]);

/* One-shot digest as 64 lowercase hex digits plus a NUL. */
void qt_sha256_hex(const void *data, size_t len, char hex[QT_SHA256_HEX_LEN + 1]);

/* Digest of a whole file, streamed; 0 or -1 with e naming the file. */
int qt_sha256_file_hex(const char *path, char hex[QT_SHA256_HEX_LEN + 1], qt_err *e);

#endif
