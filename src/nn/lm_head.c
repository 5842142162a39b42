#include "nn/lm_head.h"

#include <math.h>
#include <string.h>

#include "nn/linear.h"
#include "nn/vecmath.h"

/* -log softmax(l)[target]; l becomes weight * (softmax(l) - onehot(target)).
 * Float exponentials (vecmath.h, vectorised: a row is the whole
 * vocabulary), the normaliser summed in float lanes. */
QT_VECTORIZE
static double softmax_ce_row(float *l, int V, int32_t target, float weight)
{
    float mx = qt_max(l, V), zt = l[target];
    for (int v = 0; v < V; v++)
        l[v] = qt_exp(l[v] - mx);
    float sum = qt_sum(l, V), scale = weight / sum;
    for (int v = 0; v < V; v++)
        l[v] *= scale;
    l[target] -= weight;
    return (double)mx + log((double)sum) - (double)zt;
}

double qt_tied_lm_loss(const float *x, const float *emb, int hidden, int vocab, const int32_t *rows,
                       const int32_t *targets, const float *weights, int M, float *x_m, float *logits, float *dx,
                       float *demb)
{
    if (M <= 0)
        return 0.0;
    const size_t h = (size_t)hidden, V = (size_t)vocab;
    for (int m = 0; m < M; m++)
        memcpy(x_m + (size_t)m * h, x + (size_t)rows[m] * h, h * sizeof(float));
    qt_linear_forward(logits, x_m, emb, NULL, M, hidden, vocab);
    double total = 0.0;
    for (int m = 0; m < M; m++)
        total += weights[m] * softmax_ce_row(logits + (size_t)m * V, vocab, targets[m], weights[m]);
    /* dx_m = dlogits E;  dE += dlogits^T x_m */
    float *dx_m = x_m + (size_t)M * h;
    memset(dx_m, 0, (size_t)M * h * sizeof(float));
    qt_linear_backward(dx ? dx_m : NULL, demb, NULL, logits, x_m, emb, M, hidden, vocab);
    if (dx)
        for (int m = 0; m < M; m++) {
            float *d = dx + (size_t)rows[m] * h;
            for (size_t k = 0; k < h; k++)
                d[k] += dx_m[(size_t)m * h + k];
        }
    return total;
}
