/* Hugging Face safetensors files: a strict reader (the file is mapped, every
 * header field is checked before it is used) and a writer whose output
 * transformers loads unchanged.
 *
 * Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
 * then the data region. Offsets are relative to the data region; the tensors
 * must cover it exactly (no holes, no overlaps, nothing after the last one). */
#ifndef QT_SAFETENSORS_H
#define QT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "util/err.h"

/* The reference implementation refuses headers above 100 MB; so do we. */
#define QT_ST_MAX_HEADER 100000000u

/* Every dtype the format defines. Only the float ones can be loaded as F32;
 * the others are known (a file holding them is valid) but not convertible. */
typedef enum qt_dtype {
    QT_DT_BOOL,
    QT_DT_U8,
    QT_DT_I8,
    QT_DT_I16,
    QT_DT_U16,
    QT_DT_I32,
    QT_DT_U32,
    QT_DT_I64,
    QT_DT_U64,
    QT_DT_F16,
    QT_DT_BF16,
    QT_DT_F32,
    QT_DT_F64,
    QT_DT_C64,
    QT_DT_F8_E5M2,
    QT_DT_F8_E4M3,
    QT_DT_F8_E8M0,
    QT_DT_F8_E4M3FNUZ,
    QT_DT_F8_E5M2FNUZ,
    QT_DT_F6_E2M3,
    QT_DT_F6_E3M2,
    QT_DT_F4,
    QT_DT_COUNT
} qt_dtype;

const char *qt_dtype_name(qt_dtype dt);
/* Bits per element (4 and 6 for the packed sub-byte types). */
unsigned qt_dtype_bits(qt_dtype dt);
/* Returns 0 and sets *dt for a known name, -1 otherwise. */
int qt_dtype_from_name(const char *name, qt_dtype *dt);
/* F32, F16, BF16 and F64: the dtypes qt_safetensors_f32 converts. */
int qt_dtype_loadable(qt_dtype dt);

typedef struct qt_st_tensor {
    const char *name;
    qt_dtype dtype;
    size_t ndim;
    const uint64_t *shape; /* ndim entries; a 0-d tensor is a scalar */
    uint64_t numel;
    uint64_t begin, end; /* data_offsets: relative to the data region */
    unsigned char *data; /* its first byte in the file image */
} qt_st_tensor;

typedef struct qt_safetensors qt_safetensors;

/* Maps and validates PATH. The mapping is private and writable (copy on
 * write): F32 views may be modified without touching the file. */
int qt_safetensors_open(const char *path, qt_safetensors **out, qt_err *e);

/* Validates a file image held in memory (copied: buf may be freed after).
 * NAME is used in messages. Same checks as qt_safetensors_open. */
int qt_safetensors_parse_buffer(const char *name, const void *buf, size_t len, qt_safetensors **out,
                                qt_err *e);

void qt_safetensors_close(qt_safetensors *st);

const char *qt_safetensors_path(const qt_safetensors *st);
uint64_t qt_safetensors_file_size(const qt_safetensors *st);
size_t qt_safetensors_count(const qt_safetensors *st);
/* Tensors in name order (strcmp), 0 <= i < count. */
const qt_st_tensor *qt_safetensors_at(const qt_safetensors *st, size_t i);
/* NULL when absent (not an error: callers decide). */
const qt_st_tensor *qt_safetensors_find(const qt_safetensors *st, const char *name);
/* The "__metadata__" object, NULL when the file has none. */
const cJSON *qt_safetensors_metadata(const qt_safetensors *st);
/* A "__metadata__" value, NULL when absent. */
const char *qt_safetensors_meta(const qt_safetensors *st, const char *key);

/* The tensor as numel floats. F32 data is returned in place when aligned
 * (zero-copy); F16, BF16, F64 and misaligned F32 are converted once into a
 * buffer that st owns. Non-float dtypes are an error naming the dtype. */
float *qt_safetensors_f32(qt_safetensors *st, const qt_st_tensor *t, qt_err *e);

/* Converts the tensor into dst (numel floats), whatever its alignment. */
int qt_safetensors_read_f32(const qt_safetensors *st, const qt_st_tensor *t, float *dst, qt_err *e);

/* "[3,4]" (at most cap bytes, always terminated). */
void qt_shape_format(char *buf, size_t cap, size_t ndim, const uint64_t *shape);

/* One tensor to write: data is always F32; dtype (F32, F16 or BF16) is how
 * it is stored. */
typedef struct qt_st_out {
    const char *name;
    qt_dtype dtype;
    size_t ndim;
    const size_t *shape;
    const float *data;
} qt_st_out;

/* Writes a safetensors image the way Hugging Face does: tensors ordered by
 * element size (largest first) then name, so every tensor is aligned; header
 * padded with spaces to a multiple of 8. meta holds n_meta key/value pairs
 * (meta[2i], meta[2i+1]); "format": "pt" is added unless given, because
 * transformers refuses files without it. */
int qt_safetensors_write(const char *path, const qt_st_out *tensors, size_t n, const char *const *meta,
                         size_t n_meta, qt_err *e);

/* The same image in a malloc'd buffer. */
int qt_safetensors_write_buffer(const qt_st_out *tensors, size_t n, const char *const *meta, size_t n_meta,
                                unsigned char **buf, size_t *len, qt_err *e);

#endif
