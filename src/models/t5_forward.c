/* The T5 network as Hugging Face's modeling_t5.py computes it, for one
 * sequence at a time:
 *
 *   encoder  x = shared[ids]; per block: x += SelfAttention(rms(x)) with the
 *            bidirectional relative position bias of block 0 (shared by all
 *            blocks); x += DenseReluDense(rms(x)); enc = rms(x)
 *   decoder  the same with causal buckets and a causal mask, plus
 *            x += EncDecAttention(rms(x), enc) (no position bias) between the
 *            two; logits = rms(x) * d_model^-0.5 (tied) @ shared^T, or
 *            rms(x) @ lm_head^T
 *
 * Attention scores are NOT divided by sqrt(d_kv): T5 folds that into its
 * initialization. The decoder keeps every layer's self-attention keys and
 * values (the cache grows one row per generated token) and computes the
 * cross-attention keys and values once per encoder pass. All buffers come
 * from the arena sized at load: nothing is allocated per token. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/t5_internal.h"
#include "nn/attention.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/relpos.h"

static int cancelled(const qt_t5 *t, qt_err *e)
{
    if (t->cancel && *t->cancel)
        return qt_fail(e, "cancelled");
    return 0;
}

/* bias[h, i, j] = table[bucket(j - (i + q_off)), h]; the bucket of each
 * distance is computed once. */
static void rel_bias(const qt_t5 *t, float *bias, const float *table, int tq, int tk, int q_off, int bidirectional)
{
    int lo = -(tq - 1 + q_off), hi = tk - 1 - q_off;
    int32_t *bk = t->bk;
    int H = t->c.heads;
    for (int r = lo; r <= hi; r++)
        bk[r - lo] = qt_t5_relpos_bucket(r, bidirectional, t->c.buckets, t->c.max_distance);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < tq; i++) {
            float *row = bias + ((size_t)h * tq + i) * tk;
            const int32_t *b = bk + (0 - i - q_off - lo);
            for (int j = 0; j < tk; j++)
                row[j] = table[(size_t)b[j] * H + h];
        }
}

static void activate(const qt_t5 *t, float *x, size_t n)
{
    switch (t->c.act) {
    case QT_T5_RELU:
        qt_relu_forward(x, x, n);
        break;
    case QT_T5_GELU:
        qt_gelu_forward(x, x, n);
        break;
    case QT_T5_GELU_TANH:
        qt_gelu_tanh_forward(x, x, n);
        break;
    case QT_T5_SILU:
        qt_silu_forward(x, x, n);
        break;
    }
}

/* x += DenseReluDense(rms(x)) over n rows. */
static void feed_forward(qt_t5 *t, const qt_t5_layer *L, int n)
{
    int D = t->c.d_model, F = t->c.d_ff;
    qt_rmsnorm_forward(t->h, NULL, t->x, L->ff_ln, n, D, t->c.eps);
    qt_linear_forward(t->ff0, t->h, L->wi, NULL, n, D, F);
    activate(t, t->ff0, (size_t)n * F);
    if (t->c.gated) {
        qt_linear_forward(t->ff1, t->h, L->wi1, NULL, n, D, F);
        qt_mul_forward(t->ff0, t->ff0, t->ff1, (size_t)n * F);
    }
    qt_linear_forward(t->h, t->ff0, L->wo, NULL, n, F, D);
    qt_add_forward(t->x, t->x, t->h, (size_t)n * D);
}

/* One query (a cached decoder step) attends with plain loops: a few
 * hundred dot products per head cost less than the two sgemm calls per
 * head the general path makes. bias: [heads, 1, tk] or NULL. */
static void attend_one(qt_t5 *t, const float *q, const float *k, const float *v, int tk, const float *bias)
{
    int H = t->c.heads, dk = t->c.d_kv, I = t->inner;
    for (int h = 0; h < H; h++) {
        const float *qh = q + (size_t)h * dk;
        float *s = t->att + (size_t)h * tk, *out = t->a + (size_t)h * dk;
        for (int j = 0; j < tk; j++) {
            const float *kj = k + (size_t)j * I + (size_t)h * dk;
            float dot = 0.0f;
            for (int c = 0; c < dk; c++)
                dot += qh[c] * kj[c];
            s[j] = dot + (bias ? bias[(size_t)h * tk + j] : 0.0f);
        }
        qt_softmax_forward(s, s, NULL, 1, tk);
        memset(out, 0, (size_t)dk * sizeof *out);
        for (int j = 0; j < tk; j++) {
            const float *vj = v + (size_t)j * I + (size_t)h * dk;
            float p = s[j];
            for (int c = 0; c < dk; c++)
                out[c] += p * vj[c];
        }
    }
}

/* out (in t->a) = attention of q over tk keys; T5: no scaling. */
static void attend(qt_t5 *t, const float *q, const float *k, const float *v, int tq, int tk, int causal,
                   const float *bias)
{
    if (tq == 1) { /* the last position sees every key: causal or not */
        attend_one(t, q, k, v, tk, bias);
        return;
    }
    qt_attn_dims d = qt_attn_make(1, t->c.heads, tq, tk, t->c.d_kv);
    d.scale = 1.0f;
    d.causal = causal;
    qt_attention_forward(&d, t->a, t->att, q, k, v, NULL, bias);
}

static void cross_kv(qt_t5 *t)
{
    size_t per = (size_t)t->max_enc * t->inner;
    for (int l = 0; l < t->c.n_dec; l++) {
        qt_linear_forward(t->cross_k + l * per, t->enc_out, t->dec[l].ca_k, NULL, t->enc_len, t->c.d_model, t->inner);
        qt_linear_forward(t->cross_v + l * per, t->enc_out, t->dec[l].ca_v, NULL, t->enc_len, t->c.d_model, t->inner);
    }
}

int qt_t5_encode(qt_t5 *t, const int32_t *ids, int n, qt_err *e)
{
    int D = t->c.d_model, I = t->inner;
    if (n < 1 || n > t->max_enc)
        return qt_fail(e, "T5: %d encoder tokens (the window holds 1 to %d)", n, t->max_enc);
    if (qt_embedding_forward(t->x, ids, t->shared, n, D, t->c.vocab) != 0)
        return qt_fail(e, "T5: a token id is outside the %d-row embedding table", t->c.vocab);
    rel_bias(t, t->bias, t->enc_rel, n, n, 0, 1);
    for (int l = 0; l < t->c.n_enc; l++) {
        const qt_t5_layer *L = &t->enc[l];
        if (cancelled(t, e))
            return -1;
        qt_rmsnorm_forward(t->h, NULL, t->x, L->sa_ln, n, D, t->c.eps);
        qt_linear_forward(t->q, t->h, L->sa_q, NULL, n, D, I);
        qt_linear_forward(t->k, t->h, L->sa_k, NULL, n, D, I);
        qt_linear_forward(t->v, t->h, L->sa_v, NULL, n, D, I);
        attend(t, t->q, t->k, t->v, n, n, 0, t->bias);
        qt_linear_forward(t->h, t->a, L->sa_o, NULL, n, I, D);
        qt_add_forward(t->x, t->x, t->h, (size_t)n * D);
        feed_forward(t, L, n);
    }
    qt_rmsnorm_forward(t->enc_out, NULL, t->x, t->enc_final, n, D, t->c.eps);
    t->enc_len = n;
    cross_kv(t);
    qt_t5_decoder_reset(t);
    return 0;
}

void qt_t5_decoder_reset(qt_t5 *t)
{
    t->dec_len = 0;
}

int qt_t5_decoder_step(qt_t5 *t, const int32_t *ids, int n, int all_logits, int recompute_cross, qt_err *e)
{
    int D = t->c.d_model, I = t->inner, L0 = t->dec_len;
    if (n < 1 || L0 + n > t->max_dec)
        return qt_fail(e, "T5: decoder position %d is past the %d it has room for", L0 + n, t->max_dec);
    if (t->enc_len < 1)
        return qt_fail(e, "T5: the decoder ran before the encoder");
    if (recompute_cross)
        cross_kv(t);
    if (qt_embedding_forward(t->x, ids, t->shared, n, D, t->c.vocab) != 0)
        return qt_fail(e, "T5: a token id is outside the %d-row embedding table", t->c.vocab);
    rel_bias(t, t->bias, t->dec_rel, n, L0 + n, L0, 0);
    size_t self_per = (size_t)t->max_dec * I, cross_per = (size_t)t->max_enc * I;
    for (int l = 0; l < t->c.n_dec; l++) {
        const qt_t5_layer *L = &t->dec[l];
        float *sk = t->self_k + l * self_per, *sv = t->self_v + l * self_per;
        qt_rmsnorm_forward(t->h, NULL, t->x, L->sa_ln, n, D, t->c.eps);
        qt_linear_forward(t->q, t->h, L->sa_q, NULL, n, D, I);
        qt_linear_forward(sk + (size_t)L0 * I, t->h, L->sa_k, NULL, n, D, I);
        qt_linear_forward(sv + (size_t)L0 * I, t->h, L->sa_v, NULL, n, D, I);
        attend(t, t->q, sk, sv, n, L0 + n, 1, t->bias);
        qt_linear_forward(t->h, t->a, L->sa_o, NULL, n, I, D);
        qt_add_forward(t->x, t->x, t->h, (size_t)n * D);

        qt_rmsnorm_forward(t->h, NULL, t->x, L->ca_ln, n, D, t->c.eps);
        qt_linear_forward(t->q, t->h, L->ca_q, NULL, n, D, I);
        attend(t, t->q, t->cross_k + l * cross_per, t->cross_v + l * cross_per, n, t->enc_len, 0, NULL);
        qt_linear_forward(t->h, t->a, L->ca_o, NULL, n, I, D);
        qt_add_forward(t->x, t->x, t->h, (size_t)n * D);

        feed_forward(t, L, n);
    }
    t->dec_len = L0 + n;
    int rows = all_logits ? n : 1;
    const float *src = all_logits ? t->x : t->x + (size_t)(n - 1) * D;
    qt_rmsnorm_forward(t->h, NULL, src, t->dec_final, rows, D, t->c.eps);
    if (t->c.tied) { /* T5 rescales before the tied projection */
        float s = 1.0f / sqrtf((float)D);
        for (size_t i = 0; i < (size_t)rows * D; i++)
            t->h[i] *= s;
    }
    qt_linear_forward(t->logits, t->h, t->lm_head, NULL, rows, D, t->c.vocab);
    return 0;
}

double qt_t5_logprob(const float *row, int vocab, int32_t id)
{
    float mx = row[0];
    for (int i = 1; i < vocab; i++)
        mx = row[i] > mx ? row[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < vocab; i++)
        sum += exp((double)row[i] - mx);
    return (double)row[id] - mx - log(sum);
}

int qt_t5_greedy(qt_t5 *t, int max_new, int32_t ban0, int32_t ban1, int stop_at_eos, int32_t *out, int *n_out,
                 double *mean_logprob, qt_err *e)
{
    int V = t->c.vocab;
    if (max_new + 1 > t->max_dec)
        return qt_fail(e, "T5: %d new tokens do not fit the decoder's %d positions", max_new, t->max_dec);
    qt_t5_decoder_reset(t);
    t->dec_ids[0] = t->c.start_id;
    int len = 1, n = 0;
    double sum = 0.0;
    for (int step = 0; step < max_new; step++) {
        if (cancelled(t, e))
            return -1;
        int rc;
        if (t->use_cache) {
            rc = qt_t5_decoder_step(t, &t->dec_ids[len - 1], 1, 0, 0, e);
        } else {
            qt_t5_decoder_reset(t);
            rc = qt_t5_decoder_step(t, t->dec_ids, len, 0, 1, e);
        }
        if (rc != 0)
            return -1;
        const float *row = t->logits;
        int32_t best = -1;
        for (int32_t i = 0; i < V; i++) {
            if (step == 0 && (i == ban0 || i == ban1))
                continue;
            if (best < 0 || row[i] > row[best])
                best = i;
        }
        if (best < 0)
            return qt_fail(e, "T5: nothing left to generate");
        sum += qt_t5_logprob(row, V, best);
        out[n++] = best;
        t->dec_ids[len++] = best;
        if (stop_at_eos && best == t->c.eos_id)
            break;
    }
    *n_out = n;
    *mean_logprob = n ? sum / n : 0.0;
    return 0;
}

int qt_t5_score(qt_t5 *t, const int32_t *target, int n, double *mean_logprob, qt_err *e)
{
    if (n < 1 || n + 1 > t->max_dec)
        return qt_fail(e, "T5: %d tokens to score do not fit the decoder's %d positions", n, t->max_dec);
    qt_t5_decoder_reset(t);
    t->dec_ids[0] = t->c.start_id;
    memcpy(t->dec_ids + 1, target, (size_t)(n - 1) * sizeof *target);
    if (qt_t5_decoder_step(t, t->dec_ids, n, 1, 0, e) != 0)
        return -1;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += qt_t5_logprob(t->logits + (size_t)i * t->c.vocab, t->c.vocab, target[i]);
    *mean_logprob = sum / n;
    return 0;
}

double qt_t5_encoder_flops(const qt_t5 *t, int n)
{
    double T = n, D = t->c.d_model, I = t->inner, F = t->c.d_ff, g = t->c.gated ? 3 : 2;
    double layer = 2 * T * D * I * 4 + 2 * 2 * T * T * I + 2 * T * D * F * g;
    return t->c.n_enc * layer + t->c.n_dec * 2 * 2 * T * D * I; /* + cross keys and values */
}

double qt_t5_decoder_step_flops(const qt_t5 *t, int enc_len, int pos)
{
    double D = t->c.d_model, I = t->inner, F = t->c.d_ff, g = t->c.gated ? 3 : 2;
    double layer = 2 * D * I * 6 + 2 * 2 * (pos + 1) * I + 2 * 2 * (double)enc_len * I + 2 * D * F * g;
    return t->c.n_dec * layer + 2 * D * t->c.vocab;
}
