/* Worker threads for one batch (pool.h). */
#include <pthread.h>
#include <stdlib.h>
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

void qt_pool_init(qt_pool *p, int threads)
{
    p->threads = threads < 1 ? 1 : threads > QT_POOL_MAX_WORKERS ? QT_POOL_MAX_WORKERS : threads;
}

int qt_pool_bind(qt_pool *p, float *model_grads, size_t n_floats, qt_err *e)
{
    p->n_floats = n_floats;
    for (int t = 0; t < p->threads; t++) {
        p->w[t].grads = t == 0 ? model_grads : qt_floats_alloc(n_floats);
        if (!p->w[t].grads)
            return qt_fail(e, "out of memory for worker gradients");
    }
    return 0;
}

qt_pool_worker *qt_pool_worker_start(qt_pool *p, int t)
{
    qt_pool_worker *w = &p->w[t];
    w->loss = 0;
    w->tokens = 0;
    memset(w->grads, 0, p->n_floats * sizeof(float));
    return w;
}

uint64_t qt_pool_worker_seed(uint64_t batch_seed, int t)
{
    return batch_seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t + 1));
}

int qt_pool_step(qt_pool *p, int n, qt_pool_fn fn, void *ctx, double *loss_sum, long *tokens, qt_err *e)
{
    int used = qt_pool_run(p->threads, n, fn, ctx, e);
    if (used < 0)
        return -1;
    float *g[QT_POOL_MAX_WORKERS];
    double total = 0;
    long toks = 0;
    for (int t = 0; t < used; t++) {
        g[t] = p->w[t].grads;
        total += p->w[t].loss;
        toks += p->w[t].tokens;
    }
    qt_pool_sum_grads(g, used, p->n_floats);
    *loss_sum = total;
    *tokens = toks;
    return 0;
}

void qt_pool_free(qt_pool *p)
{
    for (int t = 0; t < QT_POOL_MAX_WORKERS; t++) {
        qt_arena_free(&p->w[t].arena);
        if (t > 0)
            qt_floats_free(p->w[t].grads);
        p->w[t].grads = NULL;
    }
}

int qt_pool_grow(void *buf_ptr, size_t bytes)
{
    void *old, *q;
    memcpy(&old, buf_ptr, sizeof old); /* any object pointer: no (void **) type pun */
    if (!(q = realloc(old, bytes ? bytes : 1)))
        return -1;
    memcpy(buf_ptr, &q, sizeof q);
    return 0;
}
