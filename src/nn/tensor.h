/* Float32 tensors and a bump allocator for activations.
 *
 * A tensor is a row-major block of floats with up to four dimensions. It either
 * owns its data (allocated here, 64-byte aligned, freed by qt_tensor_free) or
 * is a view into memory someone else owns: an mmapped weight file, an arena,
 * another tensor. The ops in nn/ work on plain float pointers plus sizes (so
 * a view of a row range costs nothing); the struct carries the shape and the
 * ownership so that models can check what they load. */
#ifndef QT_NN_TENSOR_H
#define QT_NN_TENSOR_H

#include <stddef.h>

#include "util/err.h"

#define QT_TENSOR_MAX_DIMS 4
/* Alignment of every buffer allocated here: one AVX-512 register / cache line. */
#define QT_NN_ALIGN 64

typedef struct qt_tensor {
    float *data;
    int ndim;
    int shape[QT_TENSOR_MAX_DIMS];
    size_t numel;
    int owns; /* 1: data was allocated by qt_tensor_alloc and is freed with it */
} qt_tensor;

/* Allocates a zero-filled tensor of the given shape (1..4 dims, each >= 1). */
int qt_tensor_alloc(qt_tensor *t, int ndim, const int *shape, qt_err *e);
/* Shorthands for qt_tensor_alloc with 1 or 2 dims. */
int qt_tensor_alloc1(qt_tensor *t, int n, qt_err *e);
int qt_tensor_alloc2(qt_tensor *t, int rows, int cols, qt_err *e);

/* A tensor that points at data it does not own (nothing is copied). An invalid
 * shape gives a tensor with ndim 0 and numel 0. */
qt_tensor qt_tensor_view(float *data, int ndim, const int *shape);
qt_tensor qt_tensor_view2(float *data, int rows, int cols);

/* Rows [first, first + count) of a tensor's leading dimension, as a view. */
qt_tensor qt_tensor_rows(const qt_tensor *t, int first, int count);

/* Same data, another shape with the same number of elements (0 / -1). */
int qt_tensor_reshape(qt_tensor *t, int ndim, const int *shape, qt_err *e);

/* Frees owned data; leaves views alone. Resets *t either way. */
void qt_tensor_free(qt_tensor *t);

/* 1 when the shapes are the same. */
int qt_tensor_same_shape(const qt_tensor *a, const qt_tensor *b);

/* "[2, 3, 4]" into buf (for error messages). Returns buf. */
const char *qt_tensor_shape_str(const qt_tensor *t, char *buf, size_t size);

/* Aligned float allocation (zeroed) and its free, for callers that want raw
 * buffers with the same alignment guarantee. */
float *qt_floats_alloc(size_t n);
void qt_floats_free(float *p);

/* Bump allocator for activations and scratch. A model sizes one arena when it
 * loads (or on first use) and then carves its per-call buffers out of it, so
 * inference does no malloc per token or per sequence: qt_arena_mark before a
 * forward pass, qt_arena_reset to the mark after it. Every block is 64-byte
 * aligned. */
typedef struct qt_arena {
    char *base;
    size_t cap;  /* bytes */
    size_t used; /* bytes handed out */
    size_t peak; /* most bytes ever in use: size the next arena with this */
} qt_arena;

int qt_arena_init(qt_arena *a, size_t bytes, qt_err *e);
void qt_arena_free(qt_arena *a);

/* n floats, or NULL when the arena is full (nothing is allocated then). The
 * memory is NOT zeroed: activations are written before they are read;
 * gradient buffers need qt_arena_floats_zero. */
float *qt_arena_floats(qt_arena *a, size_t n);
float *qt_arena_floats_zero(qt_arena *a, size_t n);

/* A view tensor carved out of the arena (zeroed); -1 with a message when the
 * shape is invalid or the arena is full. */
int qt_arena_tensor(qt_arena *a, qt_tensor *t, int ndim, const int *shape, qt_err *e);

size_t qt_arena_mark(const qt_arena *a);
void qt_arena_reset(qt_arena *a, size_t mark);

#endif
