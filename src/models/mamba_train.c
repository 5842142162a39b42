/* The trainable Mamba span reader: parameter table, init, forward with saved
 * activations, loss and backward (mamba_train.h). Config and checkpoint
 * I/O are in mamba_train_io.c. */
#include "models/mamba_train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/conv1d.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/scan.h"

/* ---------------------------------------------------------- parameters */

int qt_mamba_train_d_inner(const qt_mamba_train_config *c)
{
    return c->expand * c->hidden_size;
}

static int add_param(qt_mamba_train_param *out, int n, size_t *off, const char *name, int decay, int ndim,
                     size_t d0, size_t d1, size_t d2)
{
    qt_mamba_train_param *p = &out[n];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->dims[0] = d0, p->dims[1] = d1, p->dims[2] = d2;
    p->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
    p->offset = *off;
    p->decay = decay;
    /* 16 floats apart (64 bytes): every tensor starts aligned */
    *off += (p->numel + 15) / 16 * 16;
    return n + 1;
}

int qt_mamba_train_params(const qt_mamba_train_config *c, qt_mamba_train_param *out)
{
    const size_t V = c->vocab_size, H = c->hidden_size, N = c->state_size, R = c->dt_rank, K = c->conv_kernel;
    const size_t D = qt_mamba_train_d_inner(c);
    size_t off = 0;
    int n = 0;
    char name[80];
    n = add_param(out, n, &off, "backbone.embeddings.weight", 1, 2, V, H, 0);
    for (int l = 0; l < c->num_layers; l++) {
#define P(s, decay, nd, a, b, cc)                                                  \
    (snprintf(name, sizeof name, "backbone.layers.%d.%s", l, s),                  \
     n = add_param(out, n, &off, name, decay, nd, a, b, cc))
        P("norm.weight", 0, 1, H, 0, 0);
        P("mixer.in_proj.weight", 1, 2, 2 * D, H, 0);
        P("mixer.conv1d.weight", 1, 3, D, 1, K);
        P("mixer.conv1d.bias", 0, 1, D, 0, 0);
        P("mixer.x_proj.weight", 1, 2, R + 2 * N, D, 0);
        P("mixer.dt_proj.weight", 1, 2, D, R, 0);
        P("mixer.dt_proj.bias", 0, 1, D, 0, 0);
        P("mixer.A_log", 0, 2, D, N, 0);
        P("mixer.D", 0, 1, D, 0, 0);
        P("mixer.out_proj.weight", 1, 2, H, D, 0);
#undef P
    }
    n = add_param(out, n, &off, "backbone.norm_f.weight", 0, 1, H, 0, 0);
    n = add_param(out, n, &off, "qa_outputs.weight", 1, 2, 2, H, 0);
    n = add_param(out, n, &off, "qa_outputs.bias", 0, 1, 2, 0, 0);
    return n;
}

size_t qt_mamba_train_param_floats(const qt_mamba_train_config *c)
{
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    int n = qt_mamba_train_params(c, ps);
    return ps[n - 1].offset + (ps[n - 1].numel + 15) / 16 * 16;
}

void qt_mamba_train_bind(const qt_mamba_train_config *c, qt_mamba_train_weights *w, float *flat)
{
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    int n = qt_mamba_train_params(c, ps), k = 0;
    memset(w, 0, sizeof *w);
    w->embed = flat + ps[k++].offset;
    for (int l = 0; l < c->num_layers; l++) {
        qt_mamba_train_layer *L = &w->layers[l];
        float **slots[] = {&L->norm_w, &L->in_w, &L->conv_w, &L->conv_b, &L->x_w,
                           &L->dt_w,   &L->dt_b, &L->A_log,  &L->D,      &L->out_w};
        for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
            *slots[i] = flat + ps[k++].offset;
    }
    w->norm_f = flat + ps[k++].offset;
    w->qa_w = flat + ps[k++].offset;
    w->qa_b = flat + ps[k++].offset;
    (void)n;
}

static void fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

void qt_mamba_train_init_weights(const qt_mamba_train_config *c, qt_mamba_train_weights *w, qt_rng *rng)
{
    const size_t V = c->vocab_size, H = c->hidden_size, N = c->state_size, R = c->dt_rank, K = c->conv_kernel;
    const size_t D = qt_mamba_train_d_inner(c);
    const float std = 0.02f;
    qt_rng_fill_normal(rng, w->embed, V * H, 0.0f, std);
    for (int l = 0; l < c->num_layers; l++) {
        qt_mamba_train_layer *L = &w->layers[l];
        fill(L->norm_w, H, 1.0f);
        qt_rng_fill_normal(rng, L->in_w, 2 * D * H, 0.0f, std);
        /* PyTorch's kaiming_uniform(a = sqrt 5): +-1/sqrt(fan_in), fan_in = K */
        float cb = 1.0f / sqrtf((float)K);
        qt_rng_fill_uniform(rng, L->conv_w, D * K, -cb, cb);
        fill(L->conv_b, D, 0.0f);
        qt_rng_fill_normal(rng, L->x_w, (R + 2 * N) * D, 0.0f, std);
        float dt_std = 1.0f / sqrtf((float)R);
        qt_rng_fill_uniform(rng, L->dt_w, D * R, -dt_std, dt_std);
        /* dt log-uniform in [0.001, 0.1], floored at 1e-4; the bias is its
         * inverse softplus, so softplus(bias) starts at dt */
        for (size_t d = 0; d < D; d++) {
            double u = qt_rng_uniform_double(rng);
            double dt = exp(u * (log(0.1) - log(0.001)) + log(0.001));
            dt = dt < 1e-4 ? 1e-4 : dt;
            L->dt_b[d] = (float)(dt + log(-expm1(-dt)));
        }
        for (size_t d = 0; d < D; d++)
            for (size_t k = 0; k < N; k++)
                L->A_log[d * N + k] = logf((float)(k + 1));
        fill(L->D, D, 1.0f);
        float ob = 1.0f / sqrtf((float)D);
        if (c->rescale_prenorm_residual)
            ob /= sqrtf((float)c->num_layers);
        qt_rng_fill_uniform(rng, L->out_w, H * D, -ob, ob);
    }
    fill(w->norm_f, H, 1.0f);
    qt_rng_fill_normal(rng, w->qa_w, 2 * H, 0.0f, std);
    fill(w->qa_b, 2, 0.0f);
}

/* ------------------------------------------------------------- forward */

static int max_len_of(const qt_mamba_train_batch *b)
{
    int m = 1;
    for (int s = 0; s < b->n_seq; s++)
        m = b->lens[s] > m ? b->lens[s] : m;
    return m;
}

static int total_len(const qt_mamba_train_batch *b)
{
    int n = 0;
    for (int s = 0; s < b->n_seq; s++)
        n += b->lens[s];
    return n;
}

size_t qt_mamba_train_arena_bytes(const qt_mamba_train_config *c, int n_tokens, int max_len)
{
    const size_t n = n_tokens, T = max_len, H = c->hidden_size, N = c->state_size, R = c->dt_rank;
    const size_t D = qt_mamba_train_d_inner(c), L = c->num_layers;
    /* forward: per layer the saved activations (x_proj's output split in three
     * after a temporary copy), then the head */
    size_t fwd = L * (n * (2 * H + 1) + 8 * n * D + 2 * n * (R + 2 * N) + D * N + n * H / 4 + 2 +
                      qt_selective_scan_checkpoint_floats((int)n, (int)D, (int)N)) +
                 n * H / 4 + n * (3 * H + 1) + 2 * n + D * N;
    /* backward's temporaries, reused from layer to layer */
    size_t bwd = 4 * n * H + 10 * n * D + n * (2 * R + 4 * N) + D * N +
                 qt_selective_scan_recompute_scratch_floats((int)T, (int)D, (int)N) + 2 * n;
    size_t allocations = 20 * L + 40; /* each may lose up to 64 bytes to alignment */
    return sizeof(float) * (fwd + bwd) + 64 * allocations + 4096;
}

#define NEED(p, count)                                                          \
    do {                                                                         \
        if (!((p) = qt_arena_floats(arena, (count))))                           \
            return qt_fail(e, "Mamba training: arena full (%zu floats)", (size_t)(count)); \
    } while (0)

static int need_bytes(qt_arena *arena, uint8_t **p, size_t n, qt_err *e)
{
    float *f = qt_arena_floats(arena, (n + 3) / 4);
    if (!f)
        return qt_fail(e, "Mamba training: arena full (%zu bytes)", n);
    *p = (uint8_t *)f;
    return 0;
}

int qt_mamba_train_forward(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                           const qt_mamba_train_batch *b, int training, qt_rng *rng, qt_arena *arena,
                           qt_mamba_train_acts *a, qt_err *e)
{
    const int H = c->hidden_size, N = c->state_size, R = c->dt_rank, K = c->conv_kernel;
    const int D = qt_mamba_train_d_inner(c), SD = R + 2 * N, n = total_len(b);
    const size_t nH = (size_t)n * H, nD = (size_t)n * D;
    const int drop = training && c->dropout > 0.0f;
    memset(a, 0, sizeof *a);
    a->n_tokens = n;
    a->training = training;
    float *h, *hstate, *xdbl;
    NEED(h, nH);
    NEED(hstate, (size_t)D * N);
    if (qt_embedding_forward(h, b->ids, w->embed, n, H, c->vocab_size))
        return qt_fail(e, "Mamba training: token id outside the vocabulary of %d", c->vocab_size);
    if (drop) {
        if (need_bytes(arena, &a->emb_mask, nH, e))
            return -1;
        qt_dropout_forward(h, a->emb_mask, h, nH, c->dropout, 1, rng);
    }
    for (int l = 0; l < c->num_layers; l++) {
        qt_mamba_train_layer_acts *La = &a->layers[l];
        const qt_mamba_train_layer *W = &w->layers[l];
        La->h_in = h;
        NEED(La->rstd, (size_t)n);
        NEED(La->xn, nH);
        NEED(La->x, nD);
        NEED(La->z, nD);
        NEED(La->xc_pre, nD);
        NEED(La->xc, nD);
        NEED(xdbl, (size_t)n * SD);
        NEED(La->dtl, (size_t)n * R);
        NEED(La->Bm, (size_t)n * N);
        NEED(La->Cm, (size_t)n * N);
        NEED(La->delta_pre, nD);
        NEED(La->delta, nD);
        NEED(La->ys, nD);
        NEED(La->y, nD);
        NEED(La->A, (size_t)D * N);
        NEED(La->ckpt, qt_selective_scan_checkpoint_floats(n, D, N));
        qt_rmsnorm_forward(La->xn, La->rstd, h, W->norm_w, n, H, c->eps);
        /* in_proj as two products so that x and z come out contiguous */
        qt_linear_forward(La->x, La->xn, W->in_w, NULL, n, H, D);
        qt_linear_forward(La->z, La->xn, W->in_w + (size_t)D * H, NULL, n, H, D);
        size_t o = 0;
        for (int s = 0; s < b->n_seq; o += (size_t)b->lens[s], s++)
            qt_conv1d_causal_forward(La->xc_pre + o * D, La->x + o * D, W->conv_w, W->conv_b, 1, b->lens[s], D, K);
        qt_silu_forward(La->xc, La->xc_pre, nD);
        qt_linear_forward(xdbl, La->xc, W->x_w, NULL, n, D, SD);
        /* the scan reads B and C as [n, N] blocks: split x_proj's rows */
        for (int t = 0; t < n; t++) {
            const float *r = xdbl + (size_t)t * SD;
            memcpy(La->dtl + (size_t)t * R, r, sizeof(float) * R);
            memcpy(La->Bm + (size_t)t * N, r + R, sizeof(float) * N);
            memcpy(La->Cm + (size_t)t * N, r + R + N, sizeof(float) * N);
        }
        qt_linear_forward(La->delta_pre, La->dtl, W->dt_w, W->dt_b, n, R, D);
        qt_softplus_forward(La->delta, La->delta_pre, nD);
        for (size_t i = 0; i < (size_t)D * N; i++)
            La->A[i] = -expf(W->A_log[i]);
        o = 0;
        float *ckpt = La->ckpt; /* kept for backward: it recomputes the states from them */
        for (int s = 0; s < b->n_seq; o += (size_t)b->lens[s], s++) {
            qt_selective_scan_forward_checkpoint(La->ys + o * D, ckpt, hstate, La->xc + o * D, La->delta + o * D,
                                                 La->A, La->Bm + o * N, La->Cm + o * N, W->D, 1, b->lens[s], D, N);
            ckpt += qt_selective_scan_checkpoint_floats(b->lens[s], D, N);
        }
        /* y = ys * silu(z) */
        qt_silu_forward(La->y, La->z, nD);
        qt_mul_forward(La->y, La->ys, La->y, nD);
        float *hn;
        NEED(hn, nH);
        qt_linear_forward(hn, La->y, W->out_w, NULL, n, D, H);
        if (drop) {
            if (need_bytes(arena, &La->mask, nH, e))
                return -1;
            qt_dropout_forward(hn, La->mask, hn, nH, c->dropout, 1, rng);
        }
        qt_add_forward(hn, hn, h, nH);
        h = hn;
    }
    a->h_last = h;
    NEED(a->rstd_f, (size_t)n);
    NEED(a->fin, nH);
    NEED(a->logits, 2 * (size_t)n);
    qt_rmsnorm_forward(a->fin, a->rstd_f, h, w->norm_f, n, H, c->eps);
    qt_linear_forward(a->logits, a->fin, w->qa_w, w->qa_b, n, H, 2);
    return 0;
}

/* ---------------------------------------------------------------- loss */

double qt_mamba_train_loss(const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const int32_t *starts,
                           const int32_t *ends, float scale, float *dlogits)
{
    double total = 0;
    size_t o = 0;
    const double g = 0.5 * scale / (b->n_seq > 0 ? b->n_seq : 1);
    for (int s = 0; s < b->n_seq; o += (size_t)b->lens[s], s++) {
        const int len = b->lens[s];
        for (int k = 0; k < 2; k++) {
            const float *x = a->logits + 2 * o + k;
            int target = k == 0 ? starts[s] : ends[s];
            if (target < 0 || target >= len)
                return NAN; /* a bad record: the caller refuses a non-finite loss */
            double m = x[0];
            for (int t = 1; t < len; t++)
                m = x[2 * t] > m ? x[2 * t] : m;
            double sum = 0;
            for (int t = 0; t < len; t++)
                sum += exp((double)x[2 * t] - m);
            double lse = m + log(sum);
            total += 0.5 * (lse - x[2 * target]);
            if (!dlogits)
                continue;
            float *d = dlogits + 2 * o + k;
            for (int t = 0; t < len; t++)
                d[2 * t] += (float)(g * (exp((double)x[2 * t] - lse) - (t == target)));
        }
    }
    return total / (b->n_seq > 0 ? b->n_seq : 1);
}

/* ------------------------------------------------------------ backward */

static float *zeroed(float *p, size_t n)
{
    memset(p, 0, sizeof(float) * n);
    return p;
}

int qt_mamba_train_backward(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                            const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const float *dlogits,
                            qt_mamba_train_weights *g, qt_arena *arena, qt_err *e)
{
    const size_t nH = (size_t)a->n_tokens * c->hidden_size;
    size_t mark = qt_arena_mark(arena);
    float *dfin;
    NEED(dfin, nH);
    /* head: logits = fin qa^T + b */
    qt_linear_backward(zeroed(dfin, nH), g->qa_w, g->qa_b, dlogits, a->fin, w->qa_w, a->n_tokens, c->hidden_size, 2);
    int rc = qt_mamba_train_backward_fin(c, w, b, a, dfin, g, arena, e);
    qt_arena_reset(arena, mark);
    return rc;
}

int qt_mamba_train_backward_fin(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                                const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const float *dfin,
                                qt_mamba_train_weights *g, qt_arena *arena, qt_err *e)
{
    const int H = c->hidden_size, N = c->state_size, R = c->dt_rank, K = c->conv_kernel;
    const int D = qt_mamba_train_d_inner(c), SD = R + 2 * N, n = a->n_tokens, T = max_len_of(b);
    const size_t nH = (size_t)n * H, nD = (size_t)n * D;
    const int drop = a->training && c->dropout > 0.0f;
    size_t mark = qt_arena_mark(arena);
    float *dh, *dout, *dxn, *dy, *dys, *dsz, *dz, *sz, *dxc, *dxc_pre, *dx, *ddelta, *ddelta_pre;
    float *ddtl, *dB, *dC, *dxdbl, *dA, *scratch;
    NEED(dh, nH);
    NEED(dout, nH);
    NEED(dxn, nH);
    float **nd[] = {&dy, &dys, &dsz, &dz, &sz, &dxc, &dxc_pre, &dx, &ddelta, &ddelta_pre};
    for (size_t i = 0; i < sizeof nd / sizeof *nd; i++)
        NEED(*nd[i], nD);
    NEED(ddtl, (size_t)n * R);
    NEED(dB, (size_t)n * N);
    NEED(dC, (size_t)n * N);
    NEED(dxdbl, (size_t)n * SD);
    NEED(dA, (size_t)D * N);
    NEED(scratch, qt_selective_scan_recompute_scratch_floats(T, D, N));

    /* fin = RMSNorm_f(h_last) */
    qt_rmsnorm_backward(zeroed(dh, nH), g->norm_f, dfin, a->h_last, w->norm_f, a->rstd_f, n, H);

    for (int l = c->num_layers - 1; l >= 0; l--) {
        const qt_mamba_train_layer_acts *La = &a->layers[l];
        const qt_mamba_train_layer *W = &w->layers[l];
        qt_mamba_train_layer *G = &g->layers[l];
        /* h_out = h_in + dropout(out): dh goes on to h_in unchanged */
        qt_dropout_backward(zeroed(dout, nH), dh, La->mask, nH, c->dropout, drop);
        qt_linear_backward(zeroed(dy, nD), G->out_w, NULL, dout, La->y, W->out_w, n, D, H);
        /* y = ys * silu(z) */
        qt_silu_forward(sz, La->z, nD);
        qt_mul_backward(zeroed(dys, nD), zeroed(dsz, nD), dy, La->ys, sz, nD);
        qt_silu_backward(zeroed(dz, nD), dsz, La->z, nD);
        /* the scan, per sequence: its states are recomputed inside, from the
         * forward's checkpoints, rather than kept for every layer ([len, D, N] each) */
        zeroed(dxc, nD), zeroed(ddelta, nD), zeroed(dB, (size_t)n * N), zeroed(dC, (size_t)n * N);
        zeroed(dA, (size_t)D * N);
        size_t o = 0;
        const float *ckpt = La->ckpt;
        for (int s = 0; s < b->n_seq; o += (size_t)b->lens[s], s++) {
            const int len = b->lens[s];
            qt_selective_scan_backward_recompute(dxc + o * D, ddelta + o * D, dA, dB + o * N, dC + o * N, G->D,
                                                 scratch, ckpt, dys + o * D, La->xc + o * D, La->delta + o * D,
                                                 La->A, La->Bm + o * N, La->Cm + o * N, W->D, 1, len, D, N);
            ckpt += qt_selective_scan_checkpoint_floats(len, D, N);
        }
        /* A = -exp(A_log): dA_log = dA * A */
        for (size_t i = 0; i < (size_t)D * N; i++)
            G->A_log[i] += dA[i] * La->A[i];
        qt_softplus_backward(zeroed(ddelta_pre, nD), ddelta, La->delta_pre, nD);
        qt_linear_backward(zeroed(ddtl, (size_t)n * R), G->dt_w, G->dt_b, ddelta_pre, La->dtl, W->dt_w, n, R, D);
        for (int t = 0; t < n; t++) {
            float *r = dxdbl + (size_t)t * SD;
            memcpy(r, ddtl + (size_t)t * R, sizeof(float) * R);
            memcpy(r + R, dB + (size_t)t * N, sizeof(float) * N);
            memcpy(r + R + N, dC + (size_t)t * N, sizeof(float) * N);
        }
        qt_linear_backward(dxc, G->x_w, NULL, dxdbl, La->xc, W->x_w, n, D, SD);
        qt_silu_backward(zeroed(dxc_pre, nD), dxc, La->xc_pre, nD);
        zeroed(dx, nD);
        o = 0;
        for (int s = 0; s < b->n_seq; o += (size_t)b->lens[s], s++)
            qt_conv1d_causal_backward(dx + o * D, G->conv_w, G->conv_b, dxc_pre + o * D, La->x + o * D, W->conv_w,
                                      1, b->lens[s], D, K);
        qt_linear_backward(zeroed(dxn, nH), G->in_w, NULL, dx, La->xn, W->in_w, n, H, D);
        qt_linear_backward(dxn, G->in_w + (size_t)D * H, NULL, dz, La->xn, W->in_w + (size_t)D * H, n, H, D);
        qt_rmsnorm_backward(dh, G->norm_w, dxn, La->h_in, W->norm_w, La->rstd, n, H);
    }
    qt_dropout_backward(zeroed(dout, nH), dh, a->emb_mask, nH, c->dropout, drop);
    qt_embedding_backward(g->embed, dout, b->ids, n, H, c->vocab_size);
    qt_arena_reset(arena, mark);
    return 0;
}
