#include "nn/tensor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks the shape and returns the element count, or 0 when it is invalid
 * (no dims, too many, a dim < 1, or a count that overflows). */
static size_t shape_numel(int ndim, const int *shape)
{
    if (ndim < 1 || ndim > QT_TENSOR_MAX_DIMS || !shape)
        return 0;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return 0;
        if (n > SIZE_MAX / sizeof(float) / (size_t)shape[i])
            return 0;
        n *= (size_t)shape[i];
    }
    return n;
}

static void format_shape(int ndim, const int *shape, char *buf, size_t size)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, size - off, "[");
    for (int i = 0; i < ndim && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, i ? ", %d" : "%d", shape[i]);
    if (off < size)
        snprintf(buf + off, size - off, "]");
}

float *qt_floats_alloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sizeof(float) - QT_NN_ALIGN)
        return NULL;
    /* aligned_alloc wants the size to be a multiple of the alignment */
    size_t bytes = (n * sizeof(float) + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    float *p = aligned_alloc(QT_NN_ALIGN, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void qt_floats_free(float *p)
{
    free(p);
}

int qt_tensor_alloc(qt_tensor *t, int ndim, const int *shape, qt_err *e)
{
    memset(t, 0, sizeof *t);
    size_t n = shape_numel(ndim, shape);
    if (n == 0) {
        char buf[96] = "";
        if (ndim >= 1 && ndim <= QT_TENSOR_MAX_DIMS && shape)
            format_shape(ndim, shape, buf, sizeof buf);
        return qt_fail(e, "tensor: invalid shape %s (%d dims)", buf, ndim);
    }
    t->data = qt_floats_alloc(n);
    if (!t->data)
        return qt_fail(e, "tensor: out of memory for %zu floats", n);
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int) * (size_t)ndim);
    t->numel = n;
    t->owns = 1;
    return 0;
}

int qt_tensor_alloc1(qt_tensor *t, int n, qt_err *e)
{
    return qt_tensor_alloc(t, 1, &n, e);
}

int qt_tensor_alloc2(qt_tensor *t, int rows, int cols, qt_err *e)
{
    int shape[2] = {rows, cols};
    return qt_tensor_alloc(t, 2, shape, e);
}

qt_tensor qt_tensor_view(float *data, int ndim, const int *shape)
{
    qt_tensor t;
    memset(&t, 0, sizeof t);
    size_t n = shape_numel(ndim, shape);
    if (n == 0)
        return t;
    t.data = data;
    t.ndim = ndim;
    memcpy(t.shape, shape, sizeof(int) * (size_t)ndim);
    t.numel = n;
    return t;
}

qt_tensor qt_tensor_view2(float *data, int rows, int cols)
{
    int shape[2] = {rows, cols};
    return qt_tensor_view(data, 2, shape);
}

qt_tensor qt_tensor_rows(const qt_tensor *t, int first, int count)
{
    qt_tensor v;
    memset(&v, 0, sizeof v);
    if (t->ndim < 1 || first < 0 || count < 1 || first + count > t->shape[0])
        return v;
    size_t row = t->numel / (size_t)t->shape[0];
    v = *t;
    v.owns = 0;
    v.data = t->data + row * (size_t)first;
    v.shape[0] = count;
    v.numel = row * (size_t)count;
    return v;
}

int qt_tensor_reshape(qt_tensor *t, int ndim, const int *shape, qt_err *e)
{
    size_t n = shape_numel(ndim, shape);
    if (n == 0 || n != t->numel) {
        char from[96] = "", to[96] = "";
        qt_tensor_shape_str(t, from, sizeof from);
        if (ndim >= 1 && ndim <= QT_TENSOR_MAX_DIMS && shape)
            format_shape(ndim, shape, to, sizeof to);
        return qt_fail(e, "tensor: cannot reshape %s to %s", from, to);
    }
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, sizeof(int) * (size_t)ndim);
    return 0;
}

void qt_tensor_free(qt_tensor *t)
{
    if (t->owns)
        qt_floats_free(t->data);
    memset(t, 0, sizeof *t);
}

int qt_tensor_same_shape(const qt_tensor *a, const qt_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

const char *qt_tensor_shape_str(const qt_tensor *t, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    format_shape(t->ndim, t->shape, buf, size);
    return buf;
}

/* ---- arena ---- */

int qt_arena_init(qt_arena *a, size_t bytes, qt_err *e)
{
    memset(a, 0, sizeof *a);
    bytes = (bytes + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    if (bytes == 0)
        bytes = QT_NN_ALIGN;
    a->base = aligned_alloc(QT_NN_ALIGN, bytes);
    if (!a->base)
        return qt_fail(e, "arena: out of memory for %zu bytes", bytes);
    a->cap = bytes;
    return 0;
}

void qt_arena_free(qt_arena *a)
{
    free(a->base);
    memset(a, 0, sizeof *a);
}

float *qt_arena_floats(qt_arena *a, size_t n)
{
    if (n > (SIZE_MAX - QT_NN_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = (n * sizeof(float) + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    if (bytes == 0)
        bytes = QT_NN_ALIGN;
    if (!a->base || bytes > a->cap - a->used)
        return NULL;
    float *p = (float *)(a->base + a->used);
    a->used += bytes;
    if (a->used > a->peak)
        a->peak = a->used;
    return p;
}

float *qt_arena_floats_zero(qt_arena *a, size_t n)
{
    float *p = qt_arena_floats(a, n);
    if (p)
        memset(p, 0, n * sizeof(float));
    return p;
}

int qt_arena_tensor(qt_arena *a, qt_tensor *t, int ndim, const int *shape, qt_err *e)
{
    memset(t, 0, sizeof *t);
    size_t n = shape_numel(ndim, shape);
    if (n == 0)
        return qt_fail(e, "arena: invalid tensor shape (%d dims)", ndim);
    float *p = qt_arena_floats_zero(a, n);
    if (!p)
        return qt_fail(e, "arena: full (%zu of %zu bytes used, %zu more floats wanted)", a->used,
                       a->cap, n);
    *t = qt_tensor_view(p, ndim, shape);
    return 0;
}

size_t qt_arena_mark(const qt_arena *a)
{
    return a->used;
}

void qt_arena_reset(qt_arena *a, size_t mark)
{
    if (mark <= a->used)
        a->used = mark;
}
