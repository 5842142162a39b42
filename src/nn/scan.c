#include "nn/scan.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "nn/vecmath.h"

size_t qt_selective_scan_scratch_floats(int dim, int nstate)
{
    return ((size_t)dim + 2) * (size_t)nstate;
}

QT_VECTORIZE
void qt_selective_scan_forward(float *y, float *hs, float *h_last, const float *x,
                               const float *delta, const float *A, const float *B,
                               const float *C, const float *D, int batch, int len, int dim,
                               int nstate)
{
    const size_t state_size = (size_t)dim * nstate;
    for (int b = 0; b < batch; b++) {
        /* the running state: its slot in hs when saving, else h_last */
        float *h = hs ? hs + (size_t)b * len * state_size : h_last + (size_t)b * state_size;
        const float *h_prev = NULL; /* NULL: the zero state before t = 0 */
        for (int t = 0; t < len; t++) {
            size_t row = (size_t)b * len + t;
            const float *xt = x + row * dim, *dt = delta + row * dim;
            const float *Bt = B + row * nstate, *Ct = C + row * nstate;
            float *yt = y + row * dim;
            for (int d = 0; d < dim; d++) {
                const float *Ad = A + (size_t)d * nstate;
                float *hd = h + (size_t)d * nstate;
                const float *hp = h_prev ? h_prev + (size_t)d * nstate : NULL;
                const float dtd = dt[d], dbx = dt[d] * xt[d];
                if (!hp)
                    for (int n = 0; n < nstate; n++)
                        hd[n] = dbx * Bt[n];
                else if (hp == hd) /* without hs: in place, a loop of its own so it vectorises */
                    for (int n = 0; n < nstate; n++)
                        hd[n] = qt_exp(dtd * Ad[n]) * hd[n] + dbx * Bt[n];
                else
                    for (int n = 0; n < nstate; n++)
                        hd[n] = qt_exp(dtd * Ad[n]) * hp[n] + dbx * Bt[n];
                yt[d] = qt_dot(Ct, hd, nstate) + (D ? D[d] * xt[d] : 0.0f);
            }
            h_prev = h;
            if (hs) /* the next state goes in the next slot */
                h += state_size;
        }
        if (hs && h_last && len > 0)
            memcpy(h_last + (size_t)b * state_size, h_prev, sizeof(float) * state_size);
    }
}

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
