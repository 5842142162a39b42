#include "nn/scan.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nn/vecmath.h"

/* The API keeps states channel-major ([dim, nstate]), where the loop over a
 * channel's few states is short and ends in a horizontal sum. The scans here
 * work on blocks of SCAN_W channels held state-major ([nstate, SCAN_W]): the
 * inner loops run over a fixed number of contiguous channels, which the
 * compiler turns into whole vectors (one AVX-512 register), and a block's
 * state stays in L1 across the time steps. */
#define SCAN_W 16
/* states per pass of the forward's stack buffers (larger nstate: several passes) */
#define SCAN_NG 64
/* time steps per chunk of the backward's recomputation, and between the
 * forward's checkpoints: a chunk's states, decays and per-lane sums stay in
 * L2 (16 and 32 ran as fast; 32 halves the checkpoints) */
#define SCAN_K 32

#define ALIGNED __attribute__((aligned(64)))

/* e^x as vecmath.h's qt_exp (the same reduction and polynomial, so the same
 * values) but with fewer selects, which gcc 12 turns into about half the
 * vector code: 0 below -87.34, +inf above 88.38 (qt_exp: 88.72, a range a
 * decay exp(delta A) with A < 0 never reaches), NaN for NaN. */
static inline float scan_exp(float x)
{
    const float lo = -87.33654f, hi = 88.72283f;
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    /* adding 1.5 * 2^23 rounds to an integer k, left in the low bits */
    float km = xc * 1.44269504088896341f + 12582912.0f;
    float k = km - 12582912.0f;
    float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^k from km's bits: no float-to-int conversion, which gcc will not
     * if-convert */
    uint32_t bits;
    memcpy(&bits, &km, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    return x < lo ? 0.0f : y;
}

static int blocks_of(int dim)
{
    return (dim + SCAN_W - 1) / SCAN_W;
}

/* lanes [0, w) of a row into a block-wide array, the rest zero, so that the
 * kernels always run over SCAN_W lanes */
static inline void load_lanes(float *restrict dst, const float *restrict src, int w)
{
    if (w == SCAN_W) {
        memcpy(dst, src, sizeof(float) * SCAN_W);
        return;
    }
    memcpy(dst, src, sizeof(float) * (size_t)w);
    memset(dst + w, 0, sizeof(float) * (size_t)(SCAN_W - w));
}

/* A's columns [n0, n0 + ng) of channels [d0, d0 + w), state-major, zero-padded */
static void transpose_A(float *restrict At, const float *restrict A, int d0, int w, int n0, int ng,
                        int nstate)
{
    memset(At, 0, sizeof(float) * (size_t)ng * SCAN_W);
    for (int i = 0; i < w; i++)
        for (int n = 0; n < ng; n++)
            At[n * SCAN_W + i] = A[(size_t)(d0 + i) * nstate + n0 + n];
}

/* a row's dt and x for a block, and their product dt x (the input's weight) */
static inline void load_dt_x(float *restrict dtw, float *restrict xw, float *restrict dxw,
                             const float *dt, const float *x, int w)
{
    load_lanes(dtw, dt, w);
    load_lanes(xw, x, w);
    for (int i = 0; i < SCAN_W; i++)
        dxw[i] = dtw[i] * xw[i];
}

/* D's lanes of a block (zero without D) */
static inline void load_skip(float *restrict Dw, const float *D, int d0, int w)
{
    if (D)
        load_lanes(Dw, D + d0, w);
    else
        memset(Dw, 0, sizeof(float) * SCAN_W);
}

size_t qt_selective_scan_scratch_floats(int dim, int nstate)
{
    return ((size_t)dim + 2) * (size_t)nstate;
}

/* states per checkpoint: the state before each chunk of SCAN_K steps but the
 * first, per block of channels: [batch][chunks - 1][blocks][nstate][SCAN_W] */
size_t qt_selective_scan_checkpoint_floats(int len, int dim, int nstate)
{
    if (len <= 0 || dim <= 0 || nstate <= 0)
        return 0;
    return (size_t)((len - 1) / SCAN_K) * blocks_of(dim) * nstate * SCAN_W;
}

/* The forward behind both API functions, block by block; any output may be
 * NULL. */
QT_VECTORIZE
static void forward_blocks(float *y, float *hs, float *h_last, float *ckpt, const float *x,
                           const float *delta, const float *A, const float *B, const float *C,
                           const float *D, int batch, int len, int dim, int nstate)
{
    const int nb = blocks_of(dim), tile = nstate * SCAN_W;
    const size_t ck_seq = qt_selective_scan_checkpoint_floats(len, dim, nstate);
    float h[SCAN_NG * SCAN_W] ALIGNED, At[SCAN_NG * SCAN_W] ALIGNED;
    float dtw[SCAN_W] ALIGNED, xw[SCAN_W] ALIGNED, dxw[SCAN_W] ALIGNED, yw[SCAN_W] ALIGNED;
    float Dw[SCAN_W] ALIGNED;
    for (int b = 0; b < batch; b++)
        for (int d0 = 0; d0 < dim; d0 += SCAN_W) {
            const int w = dim - d0 < SCAN_W ? dim - d0 : SCAN_W;
            load_skip(Dw, D, d0, w);
            for (int n0 = 0; n0 < nstate; n0 += SCAN_NG) {
                const int ng = nstate - n0 < SCAN_NG ? nstate - n0 : SCAN_NG;
                transpose_A(At, A, d0, w, n0, ng, nstate);
                for (int t = 0; t < len; t++) {
                    const size_t row = (size_t)b * len + t;
                    const float *Bt = B + row * nstate + n0, *Ct = C + row * nstate + n0;
                    float *yt = y + row * dim + d0;
                    if (ckpt && t > 0 && t % SCAN_K == 0) /* the state before this chunk */
                        memcpy(ckpt + b * ck_seq + ((size_t)(t / SCAN_K - 1) * nb + d0 / SCAN_W) * tile +
                                   (size_t)n0 * SCAN_W,
                               h, sizeof(float) * (size_t)ng * SCAN_W);
                    load_dt_x(dtw, xw, dxw, delta + row * dim + d0, x + row * dim + d0, w);
                    if (n0 > 0) /* a later group of states adds to the first's sums */
                        load_lanes(yw, yt, w);
                    else
                        for (int i = 0; i < SCAN_W; i++)
                            yw[i] = Dw[i] * xw[i];
                    if (t == 0) /* from the zero state: no decay to compute */
                        for (int n = 0; n < ng; n++) {
                            float *restrict hn = h + n * SCAN_W;
                            for (int i = 0; i < SCAN_W; i++) {
                                hn[i] = dxw[i] * Bt[n];
                                yw[i] += Ct[n] * hn[i];
                            }
                        }
                    else
                        for (int n = 0; n < ng; n++) {
                            float *restrict hn = h + n * SCAN_W;
                            const float *restrict An = At + n * SCAN_W;
                            for (int i = 0; i < SCAN_W; i++) {
                                hn[i] = scan_exp(dtw[i] * An[i]) * hn[i] + dxw[i] * Bt[n];
                                yw[i] += Ct[n] * hn[i];
                            }
                        }
                    memcpy(yt, yw, sizeof(float) * (size_t)w);
                    if (hs) /* the API's channel-major layout */
                        for (int i = 0; i < w; i++)
                            for (int n = 0; n < ng; n++)
                                hs[(row * dim + d0 + i) * nstate + n0 + n] = h[n * SCAN_W + i];
                }
                if (h_last && len > 0)
                    for (int i = 0; i < w; i++)
                        for (int n = 0; n < ng; n++)
                            h_last[((size_t)b * dim + d0 + i) * nstate + n0 + n] = h[n * SCAN_W + i];
            }
        }
}

void qt_selective_scan_forward(float *y, float *hs, float *h_last, const float *x,
                               const float *delta, const float *A, const float *B,
                               const float *C, const float *D, int batch, int len, int dim,
                               int nstate)
{
    forward_blocks(y, hs, h_last, NULL, x, delta, A, B, C, D, batch, len, dim, nstate);
}

void qt_selective_scan_forward_checkpoint(float *y, float *ckpt, float *h_last, const float *x,
                                          const float *delta, const float *A, const float *B,
                                          const float *C, const float *D, int batch, int len,
                                          int dim, int nstate)
{
    forward_blocks(y, NULL, h_last, ckpt, x, delta, A, B, C, D, batch, len, dim, nstate);
}

/* The plain per-channel recurrence: hs is channel-major, as the API saves it. */
QT_VECTORIZE
void qt_selective_scan_backward(float *dx, float *ddelta, float *dA, float *dB, float *dC,
                                float *dD, float *scratch, const float *dy, const float *hs,
                                const float *x, const float *delta, const float *A,
                                const float *B, const float *C, const float *D, int batch,
                                int len, int dim, int nstate)
{
    const size_t state_size = (size_t)dim * nstate;
    float *dh = scratch; /* [dim, nstate]: dL/dh_t, carried from t + 1 back to t */
    float *decay = scratch + state_size;           /* [nstate]: exp(dt A) of one channel */
    float *through = scratch + state_size + nstate; /* [nstate]: dL/dh_t * decay * h_{t-1} */
    for (int b = 0; b < batch; b++) {
        memset(dh, 0, sizeof(float) * state_size);
        for (int t = len - 1; t >= 0; t--) {
            size_t row = (size_t)b * len + t;
            const float *ht = hs + row * state_size;
            const float *hprev = t > 0 ? ht - state_size : NULL;
            const float *xt = x + row * dim, *dt = delta + row * dim, *g = dy + row * dim;
            const float *Bt = B + row * nstate, *Ct = C + row * nstate;
            for (int d = 0; d < dim; d++) {
                const float *restrict Ad = A + (size_t)d * nstate;
                const float *restrict htd = ht + (size_t)d * nstate;
                float *restrict dhd = dh + (size_t)d * nstate;
                const float gd = g[d], dtd = dt[d], xd = xt[d];
                /* y_t = C_t . h_t + D x_t */
                for (int n = 0; n < nstate; n++)
                    dhd[n] += gd * Ct[n]; /* now the whole dL/dh_t */
                if (dC)
                    for (int n = 0; n < nstate; n++)
                        dC[row * nstate + n] += gd * htd[n];
                if (dD)
                    dD[d] += gd * xd;
                /* h_t = exp(dt A) h_{t-1} + dt B x */
                if (dB)
                    for (int n = 0; n < nstate; n++)
                        dB[row * nstate + n] += dhd[n] * dtd * xd;
                float dh_dot_B = qt_dot(dhd, Bt, nstate);
                float dx_acc = dtd * dh_dot_B + (D ? gd * D[d] : 0.0f);
                float ddt_acc = xd * dh_dot_B;
                if (hprev) {
                    const float *restrict hpd = hprev + (size_t)d * nstate;
                    for (int n = 0; n < nstate; n++) {
                        decay[n] = qt_exp(dtd * Ad[n]);
                        through[n] = dhd[n] * decay[n] * hpd[n];
                    }
                    ddt_acc += qt_dot(through, Ad, nstate);
                    if (dA)
                        for (int n = 0; n < nstate; n++)
                            dA[(size_t)d * nstate + n] += through[n] * dtd;
                    for (int n = 0; n < nstate; n++) /* on to h_{t-1} */
                        dhd[n] *= decay[n];
                }
                if (dx)
                    dx[row * dim + d] += dx_acc;
                if (ddelta)
                    ddelta[row * dim + d] += ddt_acc;
            }
        }
    }
}

/* ------------------------------------------- backward with recomputation */

size_t qt_selective_scan_recompute_scratch_floats(int len, int dim, int nstate)
{
    const size_t tile = (size_t)nstate * SCAN_W, nb = (size_t)blocks_of(dim);
    /* per block: A, dA's sums, dh, dD's sums; the zero state; checkpoints
     * when the caller has none; per chunk: states, decays, dB's and dC's
     * per-lane sums; alignment */
    return nb * (3 * tile + SCAN_W) + tile + qt_selective_scan_checkpoint_floats(len, dim, nstate) +
           4 * SCAN_K * tile + 16;
}

/* One block's states over steps [t0, t0 + kl) from h0 (the state before
 * t0): hc gets the states, dc the decays exp(dt A) (0 at t = 0). Called
 * twice, so not inlined: vectorised on its own. */
QT_VECTORIZE
static void recompute_chunk(float *restrict hc, float *restrict dc, const float *h0,
                            const float *restrict At, const float *x, const float *delta,
                            const float *B, int row0, int t0, int kl, int d0, int w, int dim,
                            int nstate)
{
    float dtw[SCAN_W] ALIGNED, xw[SCAN_W] ALIGNED, dxw[SCAN_W] ALIGNED;
    const int tile = nstate * SCAN_W;
    for (int k = 0; k < kl; k++) {
        const size_t row = (size_t)row0 + t0 + k;
        const float *Bt = B + row * nstate;
        const float *hp = k > 0 ? hc + (k - 1) * tile : h0;
        float *hk = hc + k * tile, *dk = dc + k * tile;
        load_dt_x(dtw, xw, dxw, delta + row * dim + d0, x + row * dim + d0, w);
        if (t0 + k == 0)
            memset(dk, 0, sizeof(float) * (size_t)tile);
        else
            for (int j = 0; j < tile; j += SCAN_W)
                for (int i = 0; i < SCAN_W; i++)
                    dk[j + i] = scan_exp(dtw[i] * At[j + i]);
        for (int n = 0; n < nstate; n++) {
            const int j = n * SCAN_W;
            for (int i = 0; i < SCAN_W; i++)
                hk[j + i] = dk[j + i] * hp[j + i] + dxw[i] * Bt[n];
        }
    }
}

/* One step back in time for a block: dh (dL/dh_{t+1} carried back) becomes
 * dL/dh_{t-1}; the per-lane sums for dA, dB, dC grow; sB and sA get the sums
 * over the states that dx and ddelta need. */
static inline void backward_step(float *restrict dh, float *restrict dAt, float *restrict bl,
                                 float *restrict cl, float *restrict sB, float *restrict sA,
                                 const float *restrict h, const float *restrict hp,
                                 const float *restrict dec, const float *restrict At,
                                 const float *restrict g, const float *restrict dt,
                                 const float *restrict dtx, const float *restrict B,
                                 const float *restrict C, int nstate)
{
    for (int i = 0; i < SCAN_W; i++)
        sB[i] = sA[i] = 0.0f;
    for (int n = 0; n < nstate; n++) {
        const int o = n * SCAN_W;
        const float bn = B[n], cn = C[n];
        for (int i = 0; i < SCAN_W; i++) {
            /* y_t = C_t . h_t + D x_t: now the whole dL/dh_t */
            const float dhn = dh[o + i] + g[i] * cn;
            cl[o + i] += g[i] * h[o + i];
            /* h_t = exp(dt A) h_{t-1} + dt x B */
            bl[o + i] += dhn * dtx[i];
            sB[i] += dhn * bn;
            const float through = dhn * dec[o + i] * hp[o + i];
            sA[i] += through * At[o + i];
            dAt[o + i] += through * dt[i];
            dh[o + i] = dhn * dec[o + i]; /* on to h_{t-1} */
        }
    }
}

QT_VECTORIZE
void qt_selective_scan_backward_recompute(float *dx, float *ddelta, float *dA, float *dB,
                                          float *dC, float *dD, float *scratch,
                                          const float *ckpt, const float *dy,
                                          const float *x, const float *delta, const float *A,
                                          const float *B, const float *C, const float *D,
                                          int batch, int len, int dim, int nstate)
{
    if (len <= 0 || dim <= 0 || nstate <= 0)
        return;
    const int nb = blocks_of(dim), tile = nstate * SCAN_W;
    const int chunks = (len + SCAN_K - 1) / SCAN_K;
    const size_t ck_seq = qt_selective_scan_checkpoint_floats(len, dim, nstate);
    /* 64-byte aligned, so that every tile is */
    float *At = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* [nb][N][W] */
    float *dAt = At + (size_t)nb * tile;      /* [nb][N][W]: dA's sums */
    float *dh = dAt + (size_t)nb * tile;      /* [nb][N][W]: dL/dh, carried back in time */
    float *zero = dh + (size_t)nb * tile;     /* [N][W]: the state before t = 0 */
    float *own = zero + tile;                 /* checkpoints, when the caller has none */
    float *hc = own + ck_seq;                 /* [K][N][W]: a chunk's states of one block */
    float *dc = hc + SCAN_K * tile;           /* [K][N][W]: their decays */
    float *bl = dc + SCAN_K * tile, *cl = bl + SCAN_K * tile; /* [K][N][W]: dB's, dC's lanes */
    float *dDl = cl + SCAN_K * tile;          /* [nb][W]: dD's sums */
    float dtw[SCAN_W] ALIGNED, xw[SCAN_W] ALIGNED, dxw[SCAN_W] ALIGNED, gw[SCAN_W] ALIGNED;
    float sB[SCAN_W] ALIGNED, sA[SCAN_W] ALIGNED, Dw[SCAN_W] ALIGNED;
    for (int j = 0; j < nb; j++) {
        const int d0 = j * SCAN_W, w = dim - d0 < SCAN_W ? dim - d0 : SCAN_W;
        transpose_A(At + (size_t)j * tile, A, d0, w, 0, nstate, nstate);
    }
    memset(dAt, 0, sizeof(float) * (size_t)nb * tile);
    memset(dDl, 0, sizeof(float) * (size_t)nb * SCAN_W);
    memset(zero, 0, sizeof(float) * (size_t)tile);
    for (int b = 0; b < batch; b++) {
        const int row0 = b * len;
        const float *ck = ckpt ? ckpt + b * ck_seq : own;
        memset(dh, 0, sizeof(float) * (size_t)nb * tile);
        /* without the forward's checkpoints: forward through all chunks but
         * the last, keeping the state before each */
        for (int j = 0; j < nb && !ckpt; j++) {
            const int d0 = j * SCAN_W, w = dim - d0 < SCAN_W ? dim - d0 : SCAN_W;
            for (int c = 1; c < chunks; c++) {
                const float *h0 = c > 1 ? own + ((size_t)(c - 2) * nb + j) * tile : zero;
                recompute_chunk(hc, dc, h0, At + (size_t)j * tile, x, delta, B, row0,
                                (c - 1) * SCAN_K, SCAN_K, d0, w, dim, nstate);
                memcpy(own + ((size_t)(c - 1) * nb + j) * tile, hc + (SCAN_K - 1) * tile,
                       sizeof(float) * (size_t)tile);
            }
        }
        /* chunks from the last, each recomputed block by block from its
         * checkpoint, then walked back in time */
        for (int c = chunks - 1; c >= 0; c--) {
            const int t0 = c * SCAN_K, kl = len - t0 < SCAN_K ? len - t0 : SCAN_K;
            memset(bl, 0, sizeof(float) * (size_t)kl * tile);
            memset(cl, 0, sizeof(float) * (size_t)kl * tile);
            for (int j = 0; j < nb; j++) {
                const int d0 = j * SCAN_W, w = dim - d0 < SCAN_W ? dim - d0 : SCAN_W;
                const float *restrict Aj = At + (size_t)j * tile;
                const float *h0 = c > 0 ? ck + ((size_t)(c - 1) * nb + j) * tile : zero;
                float *restrict dhj = dh + (size_t)j * tile, *restrict dAj = dAt + (size_t)j * tile;
                float *restrict dDj = dDl + (size_t)j * SCAN_W;
                recompute_chunk(hc, dc, h0, Aj, x, delta, B, row0, t0, kl, d0, w, dim, nstate);
                load_skip(Dw, D, d0, w);
                for (int k = kl - 1; k >= 0; k--) {
                    const size_t row = (size_t)row0 + t0 + k;
                    const float *Bt = B + row * nstate, *Ct = C + row * nstate;
                    const float *restrict hk = hc + k * tile, *restrict dk = dc + k * tile;
                    const float *restrict hp = k > 0 ? hc + (k - 1) * tile : h0;
                    float *restrict blk = bl + k * tile, *restrict clk = cl + k * tile;
                    load_dt_x(dtw, xw, dxw, delta + row * dim + d0, x + row * dim + d0, w);
                    load_lanes(gw, dy + row * dim + d0, w);
                    for (int i = 0; i < SCAN_W; i++)
                        dDj[i] += gw[i] * xw[i];
                    backward_step(dhj, dAj, blk, clk, sB, sA, hk, hp, dk, Aj, gw, dtw, dxw, Bt, Ct,
                                  nstate);
                    if (dx)
                        for (int i = 0; i < w; i++)
                            dx[row * dim + d0 + i] += dtw[i] * sB[i] + gw[i] * Dw[i];
                    if (ddelta)
                        for (int i = 0; i < w; i++)
                            ddelta[row * dim + d0 + i] += xw[i] * sB[i] + sA[i];
                }
            }
            /* the lanes' sums over all blocks: dB and dC are sums over the channels */
            for (int k = 0; k < kl; k++) {
                const size_t row = (size_t)row0 + t0 + k;
                for (int n = 0; n < nstate; n++) {
                    const float *blk = bl + (size_t)k * tile + n * SCAN_W;
                    const float *clk = cl + (size_t)k * tile + n * SCAN_W;
                    if (dB)
                        dB[row * nstate + n] += qt_sum(blk, SCAN_W);
                    if (dC)
                        dC[row * nstate + n] += qt_sum(clk, SCAN_W);
                }
            }
        }
    }
    for (int j = 0; j < nb; j++) {
        const int d0 = j * SCAN_W, w = dim - d0 < SCAN_W ? dim - d0 : SCAN_W;
        for (int i = 0; i < w; i++) {
            if (dD)
                dD[d0 + i] += dDl[(size_t)j * SCAN_W + i];
            if (dA)
                for (int n = 0; n < nstate; n++)
                    dA[(size_t)(d0 + i) * nstate + n] += dAt[(size_t)j * tile + n * SCAN_W + i];
        }
    }
}
