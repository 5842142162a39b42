/* Splitting one training batch over worker threads. Each worker owns its
 * gradient buffer (worker 0 uses the model's own); after the batch the
 * workers' gradients are added into worker 0's in worker order, so a step's
 * result does not depend on thread timing. Every worker runs with one BLAS
 * thread (see src/train/DESIGN.md, "Threads"). */
#ifndef QT_TRAIN_POOL_H
#define QT_TRAIN_POOL_H

#include <stddef.h>

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

#endif
