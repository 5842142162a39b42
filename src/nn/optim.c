#include "nn/optim.h"

#include <math.h>

#include "nn/vecmath.h"

qt_adamw qt_adamw_defaults(void)
{
    qt_adamw opt = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
    return opt;
}

QT_VECTORIZE
void qt_adamw_update(const qt_adamw *opt, float *restrict p, const float *restrict g,
                     float *restrict m, float *restrict v, size_t n, float lr, int step,
                     int decay)
{
    /* scalars worked out in double, then used in float like PyTorch's kernel */
    const float b1 = (float)opt->beta1, b2 = (float)opt->beta2, eps = (float)opt->eps;
    const float one_b1 = (float)(1.0 - opt->beta1), one_b2 = (float)(1.0 - opt->beta2);
    const float bc1 = (float)(1.0 - pow(opt->beta1, step));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(opt->beta2, step));
    const float step_size = lr / bc1;
    const float shrink = decay ? (float)(1.0 - (double)lr * opt->weight_decay) : 1.0f;
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + one_b1 * g[i];
        v[i] = b2 * v[i] + one_b2 * g[i] * g[i];
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] * shrink - step_size * m[i] / denom;
    }
}

double qt_grad_global_norm(const qt_param *params, int count)
{
    double sum = 0.0;
    for (int k = 0; k < count; k++) {
        const float *g = params[k].g;
        for (size_t i = 0; i < params[k].n; i++)
            sum += (double)g[i] * g[i];
    }
    return sqrt(sum);
}

double qt_grad_clip(qt_param *params, int count, double max_norm)
{
    double norm = qt_grad_global_norm(params, count);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        float scale = (float)coef;
        for (int k = 0; k < count; k++)
            for (size_t i = 0; i < params[k].n; i++)
                params[k].g[i] *= scale;
    }
    return norm;
}

void qt_adamw_step(const qt_adamw *opt, qt_param *params, int count, float lr, int step)
{
    for (int k = 0; k < count; k++)
        qt_adamw_update(opt, params[k].w, params[k].g, params[k].m, params[k].v, params[k].n, lr,
                        step, params[k].decay);
}

float qt_lr_linear_warmup_decay(int step, int warmup_steps, int total_steps, float peak_lr)
{
    if (step < warmup_steps)
        return peak_lr * (float)step / (float)(warmup_steps > 1 ? warmup_steps : 1);
    int span = total_steps - warmup_steps;
    float left = (float)(total_steps - step) / (float)(span > 1 ? span : 1);
    return peak_lr * (left > 0.0f ? left : 0.0f);
}
