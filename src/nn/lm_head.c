#include "nn/lm_head.h"

#include <math.h>
#include <string.h>

#include "nn/linear.h"

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
    for (int m = 0; m < M; m++) {
        float *l = logits + (size_t)m * V;
        double mx = l[0];
        for (size_t v = 1; v < V; v++)
            mx = l[v] > mx ? l[v] : mx;
        double sum = 0.0;
        for (size_t v = 0; v < V; v++)
            sum += exp((double)l[v] - mx);
        double lse = mx + log(sum);
        total += weights[m] * (lse - l[targets[m]]);
        /* the row becomes weight * (softmax - onehot) */
        for (size_t v = 0; v < V; v++)
            l[v] = (float)(weights[m] * (exp((double)l[v] - lse) - ((int32_t)v == targets[m])));
    }
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
