/* Worker threads for one batch (pool.h). */
#include <pthread.h>
#include <string.h>

#include "train/pool.h"

typedef struct pool_job {
    qt_pool_fn fn;
    void *ctx;
    int worker, first, count, rc;
    qt_err err;
} pool_job;

static void *pool_thread(void *p)
{
    pool_job *j = p;
    j->rc = j->fn(j->ctx, j->worker, j->first, j->count, &j->err);
    return NULL;
}

int qt_pool_run(int threads, int n, qt_pool_fn fn, void *ctx, qt_err *e)
{
    int T = threads < 1 ? 1 : threads > QT_POOL_MAX_WORKERS ? QT_POOL_MAX_WORKERS : threads;
    if (T > n)
        T = n > 0 ? n : 1;
    pool_job jobs[QT_POOL_MAX_WORKERS];
    pthread_t th[QT_POOL_MAX_WORKERS];
    int started[QT_POOL_MAX_WORKERS] = {0};
    for (int t = 0; t < T; t++) {
        jobs[t] = (pool_job){fn, ctx, t, (int)((long)t * n / T), (int)((long)(t + 1) * n / T - (long)t * n / T), 0,
                             {{0}}};
    }
    for (int t = 1; t < T; t++) {
        started[t] = pthread_create(&th[t], NULL, pool_thread, &jobs[t]) == 0;
        if (!started[t])
            pool_thread(&jobs[t]);
    }
    pool_thread(&jobs[0]);
    for (int t = 1; t < T; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++)
        if (jobs[t].rc != 0) {
            *e = jobs[t].err;
            return -1;
        }
    return T;
}

void qt_pool_sum_grads(float *const *g, int workers, size_t n)
{
    for (int t = 1; t < workers; t++) {
        const float *src = g[t];
        float *dst = g[0];
        for (size_t i = 0; i < n; i++)
            dst[i] += src[i];
    }
}
