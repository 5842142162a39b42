/* Splitting one training batch over worker threads. Each worker owns its
 * gradient buffer (worker 0 uses the model's own) and its arena; after the
 * batch the workers' gradients are added into worker 0's in worker order,
 * so a step's result does not depend on thread timing. Every worker runs
 * with one BLAS thread (see src/train/DESIGN.md, "Threads").
 *
 * An architecture keeps one qt_pool beside its own per-worker buffers
 * (indexed by the same worker number):
 *   create/load  qt_pool_init, then qt_pool_bind once the size is known
 *   step         qt_pool_step(fn); fn starts with qt_pool_worker_start
 *   destroy      qt_pool_free */
#ifndef QT_TRAIN_POOL_H
#define QT_TRAIN_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/tensor.h"
#include "util/err.h"

#define QT_POOL_MAX_WORKERS 16

/* Works on items [first, first + count) of the batch as worker `worker`.
 * count may be 0 (then it must still zero its gradients, or do nothing:
 * see qt_pool_run). Returns 0 or -1 with e filled. */
typedef int (*qt_pool_fn)(void *ctx, int worker, int first, int count, qt_err *e);

/* Runs fn over n items on min(threads, n) workers (worker 0 on the calling
 * thread, the others on new threads; a thread that cannot start runs its
 * share on the caller). Returns the number of workers used (>= 1), or -1
 * with the error of the lowest-numbered failing worker. */
int qt_pool_run(int threads, int n, qt_pool_fn fn, void *ctx, qt_err *e);

/* g[0][i] += g[1][i] + ... + g[workers-1][i], added in worker order. */
void qt_pool_sum_grads(float *const *g, int workers, size_t n);

/* What every worker of every architecture has. */
typedef struct qt_pool_worker {
    qt_arena arena; /* its forward and backward memory */
    float *grads;   /* its gradient buffer; worker 0's is the model's */
    double loss;    /* what its slice adds to the batch's loss sum */
    long tokens;    /* the tokens its slice read */
    /* the workers bump their arenas' counters all through a step: keep
     * two workers' fields off one cache line */
    char cache_line_gap[64];
} qt_pool_worker;

typedef struct qt_pool {
    int threads;     /* 1..QT_POOL_MAX_WORKERS */
    size_t n_floats; /* floats in one gradient buffer */
    qt_pool_worker w[QT_POOL_MAX_WORKERS];
} qt_pool;

/* threads clamped to 1..QT_POOL_MAX_WORKERS; nothing allocated yet (p may
 * be zeroed memory). */
void qt_pool_init(qt_pool *p, int threads);

/* Worker 0 takes model_grads; the others get a buffer of n_floats each. */
int qt_pool_bind(qt_pool *p, float *model_grads, size_t n_floats, qt_err *e);

/* The first thing a qt_pool_fn does: zeroes worker t's loss, tokens and
 * gradients (on the worker's own thread, so the zeroing runs in parallel)
 * and returns it. */
qt_pool_worker *qt_pool_worker_start(qt_pool *p, int t);

/* The seed of worker t's dropout generator for a step seeded batch_seed:
 * different for every worker, the same on every run. */
uint64_t qt_pool_worker_seed(uint64_t batch_seed, int t);

/* One batch: qt_pool_run(fn) over n items, then the used workers'
 * gradients summed into worker 0's (qt_pool_sum_grads), their losses
 * summed into *loss_sum and their tokens into *tokens, in worker order.
 * Returns 0, or -1 with e filled. */
int qt_pool_step(qt_pool *p, int n, qt_pool_fn fn, void *ctx, double *loss_sum, long *tokens, qt_err *e);

/* Frees the arenas and the gradient buffers the pool allocated. */
void qt_pool_free(qt_pool *p);

/* realloc for the workers' batch buffers (grown to the largest batch seen):
 * buf_ptr is the address of the buffer's pointer (int32_t **, float **...),
 * which is kept on failure. Returns 0 or -1. */
int qt_pool_grow(void *buf_ptr, size_t bytes);

#endif
