/* AdamW (decoupled weight decay, as PyTorch's torch.optim.AdamW), global-norm
 * gradient clipping (as torch.nn.utils.clip_grad_norm_) and the linear
 * warm-up then linear decay schedule (as transformers'
 * get_linear_schedule_with_warmup). */
#ifndef QT_NN_OPTIM_H
#define QT_NN_OPTIM_H

#include <stddef.h>

/* Doubles, as PyTorch keeps them: 1 - beta2 from a float beta2 would be off
 * in the 5th digit. */
typedef struct qt_adamw {
    double beta1, beta2, eps;
    double weight_decay;
} qt_adamw;

/* beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.01 (PyTorch's defaults). */
qt_adamw qt_adamw_defaults(void);

/* One step on n parameters p with gradients g and moments m, v (zeroed
 * before step 1). step counts from 1. decay: 1 to apply weight decay, 0 for
 * parameters that are not decayed (biases, norm weights by convention):
 *   p -= lr * wd * p                     (decoupled, before the Adam update)
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps) */
void qt_adamw_update(const qt_adamw *opt, float *p, const float *g, float *m, float *v,
                     size_t n, float lr, int step, int decay);

/* A named parameter block, for the whole-model helpers below. */
typedef struct qt_param {
    float *w, *g; /* weights and gradients */
    float *m, *v; /* AdamW moments */
    size_t n;
    int decay; /* 1: weight decay applies */
} qt_param;

/* sqrt(sum of every g^2), accumulated in double. */
double qt_grad_global_norm(const qt_param *params, int count);

/* Scales every gradient by max_norm / (norm + 1e-6) when that is below 1
 * (so only when the global norm exceeds max_norm). Returns the norm before. */
double qt_grad_clip(qt_param *params, int count, double max_norm);

/* qt_adamw_update on every block. */
void qt_adamw_step(const qt_adamw *opt, qt_param *params, int count, float lr, int step);

/* Learning rate at step (counting from 0): peak * step / warmup while
 * step < warmup, then falling linearly to 0 at total_steps. */
float qt_lr_linear_warmup_decay(int step, int warmup_steps, int total_steps, float peak_lr);

#endif
