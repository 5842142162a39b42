/* Finite-difference gradient checking for src/nn's backward functions.
 *
 * A check runs the op's forward inside a loss function that returns
 * L = sum(out .* R) for a fixed random R, accumulated in double. The analytic
 * gradient comes from the op's backward with dout = R. The numeric one is the
 * central difference (L(x + eps) - L(x - eps)) / (2 eps) per input element,
 * with the step actually taken in float32. Every element of every input is
 * checked. The error of one input is
 *     max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, floor)
 * i.e. the worst element relative to the gradient's own scale, so one wrong
 * element is as visible as a wrong sign everywhere.
 *
 * Backward must ADD into gradients, so the gradient buffers are pre-filled
 * with a known pattern (gc_prefill) and the pattern is subtracted before
 * comparing: an op that overwrites instead of accumulating fails.
 *
 * Also the set-up the trainable architectures' tests share (gc_arch_*). */
#ifndef QT_TEST_GRADCHECK_H
#define QT_TEST_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rng.h"
#include "train/arch.h"

typedef double (*gc_loss_fn)(void *ctx);

typedef struct gc_input {
    const char *name;
    float *x;           /* the input, perturbed in place (and restored) */
    const float *grad;  /* analytic gradient, still holding the prefill */
    size_t n;
} gc_input;

/* Totals over the whole program, reported at the end. */
static int gc_checks, gc_elements;
static double gc_worst;

/* A pool of buffers freed together at the end of each test case. */
#define GC_POOL_MAX 64
static void *gc_pool[GC_POOL_MAX];
static int gc_pool_n;

static inline void *gc_keep(void *p)
{
    if (!p || gc_pool_n >= GC_POOL_MAX) {
        fprintf(stderr, "gradcheck: out of memory or pool full\n");
        abort();
    }
    gc_pool[gc_pool_n++] = p;
    return p;
}

static inline void gc_free_all(void)
{
    for (int i = 0; i < gc_pool_n; i++)
        free(gc_pool[i]);
    gc_pool_n = 0;
}

static inline float *gc_zeros(size_t n)
{
    return gc_keep(calloc(n ? n : 1, sizeof(float)));
}

static inline float *gc_uniform(qt_rng *r, size_t n, float lo, float hi)
{
    float *p = gc_zeros(n);
    qt_rng_fill_uniform(r, p, n, lo, hi);
    return p;
}

static inline float gc_prefill_value(size_t i)
{
    return 0.375f - 0.125f * (float)(i % 7);
}

/* A gradient buffer holding the prefill pattern. */
static inline float *gc_grad(size_t n)
{
    float *p = gc_zeros(n);
    for (size_t i = 0; i < n; i++)
        p[i] = gc_prefill_value(i);
    return p;
}

static inline double gc_dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Same, for outputs laid out with a row stride (only cols of each row count). */
static inline double gc_dot_strided(const float *a, const float *b, size_t rows, size_t cols,
                             size_t stride)
{
    double s = 0.0;
    for (size_t r = 0; r < rows; r++)
        s += gc_dot(a + r * stride, b + r * stride, cols);
    return s;
}

/* Checks every input; returns the worst relative error (also printed as a
 * TAP comment). eps: the perturbation; floor: gradient scale below which the
 * error is taken as absolute. */
static inline double gc_check(const char *what, gc_loss_fn loss, void *ctx, const gc_input *inputs,
                       int count, float eps, double floor)
{
    double worst = 0.0;
    for (int k = 0; k < count; k++) {
        const gc_input *in = &inputs[k];
        double max_diff = 0.0, max_num = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < in->n; i++) {
            float saved = in->x[i];
            float up = saved + eps, down = saved - eps;
            in->x[i] = up;
            double lu = loss(ctx);
            in->x[i] = down;
            double ld = loss(ctx);
            in->x[i] = saved;
            double numeric = (lu - ld) / ((double)up - (double)down);
            double analytic = (double)in->grad[i] - gc_prefill_value(i);
            double diff = fabs(analytic - numeric);
            if (!(diff <= max_diff)) { /* also catches NaN */
                max_diff = isnan(diff) ? INFINITY : diff;
                at = i;
            }
            if (fabs(numeric) > max_num)
                max_num = fabs(numeric);
        }
        double err = max_diff / (max_num > floor ? max_num : floor);
        printf("# %-34s d%-6s n=%-5zu scale %.3g  rel err %.2e (at %zu)\n", what, in->name,
               in->n, max_num, err, at);
        if (err > worst)
            worst = err;
        gc_checks++;
        gc_elements += (int)in->n;
    }
    loss(ctx); /* leave the forward's buffers as they were at the unperturbed point */
    if (worst > gc_worst)
        gc_worst = worst;
    return worst;
}

/* ---- the arch tests (src/train/arch_*.c) ---- */

/* Starts set with two questions on one passage: the first answered
 * ("France", kind 0), the second unanswerable (kind 3). 0 / -1. */
static inline int gc_arch_examples(qt_example_set *set, qt_err *e)
{
    static const char ctx[] = "The Normans gave their name to Normandy, a region in northern France. "
                              "Rollo was their first ruler; his descendants ruled for centuries.";
    const char *ans = strstr(ctx, "France");
    memset(set, 0, sizeof *set);
    if (qt_example_set_add(set, "In what country is Normandy?", ctx, strlen(ctx), ans - ctx, ans - ctx + 6, 0, 0, e))
        return -1;
    return qt_example_set_add(set, "Who was the last king of Normandy?", ctx, strlen(ctx), -1, -1, 3, 0, e);
}

/* A new model of architecture name on two workers, made from the model
 * config model_json (JSON text) and the examples of set, its weights drawn
 * from seed, saved in dir (a mkdtemp template, which becomes the new
 * directory's name). 0 / -1. */
static inline int gc_arch_new(qt_train_arch *a, const char *name, const char *model_json, const qt_example_set *set,
                              uint64_t seed, char *dir, qt_err *e)
{
    cJSON *mc = cJSON_Parse(model_json);
    if (!mc)
        return qt_fail(e, "gradcheck: bad model config %s", model_json);
    int rc = qt_train_arch_init(a, name, 2, 1, e) != 0 ? -1 : a->create(a, mc, set, e);
    cJSON_Delete(mc);
    if (rc != 0)
        return -1;
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    a->init_weights(a, &rng);
    if (!mkdtemp(dir))
        return qt_fail(e, "gradcheck: mkdtemp %s failed", dir);
    return a->save(a, dir, e);
}

/* Destroys a, frees set and removes dir; system()'s status. */
static inline int gc_arch_free(qt_train_arch *a, qt_example_set *set, const char *dir)
{
    char cmd[200];
    a->destroy(a);
    qt_example_set_free(set);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

#endif
