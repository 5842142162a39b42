/* Mamba's selective scan (S6), forward and backward, as a plain recurrence.
 *
 * For each batch and channel d, with a state h of nstate floats:
 *   h_t = exp(delta_t[d] * A[d]) * h_{t-1} + delta_t[d] * B_t * x_t[d]
 *   y_t[d] = C_t . h_t + D[d] * x_t[d]
 * Shapes: x, delta, y [batch, len, dim]; A [dim, nstate]; B, C
 * [batch, len, nstate] (shared over channels); D [dim] or NULL. delta is
 * taken as given: Mamba's softplus(dt + dt_bias) and A = -exp(A_log) are
 * separate ops (nn/ops.h), as is the z gate. */
#ifndef QT_NN_SCAN_H
#define QT_NN_SCAN_H

#include <stddef.h>

/* hs: NULL or [batch, len, dim, nstate], every state, saved for backward.
 * h_last: NULL or [batch, dim, nstate], receives the final state (to carry
 * on decoding). Either or both may be NULL. */
void qt_selective_scan_forward(float *y, float *hs, float *h_last, const float *x,
                               const float *delta, const float *A, const float *B,
                               const float *C, const float *D, int batch, int len, int dim,
                               int nstate);

/* Adds into dx, ddelta, dA, dB, dC, dD (any may be NULL) from dy and the
 * forward's hs. scratch: qt_selective_scan_scratch_floats() floats. */
size_t qt_selective_scan_scratch_floats(int dim, int nstate);

void qt_selective_scan_backward(float *dx, float *ddelta, float *dA, float *dB, float *dC,
                                float *dD, float *scratch, const float *dy, const float *hs,
                                const float *x, const float *delta, const float *A,
                                const float *B, const float *C, const float *D, int batch,
                                int len, int dim, int nstate);

/* The forward, saving instead of hs a checkpoint of the states every few
 * steps: qt_selective_scan_checkpoint_floats(len, dim, nstate) floats per
 * sequence, [batch] of them (about len * dim * nstate / 32: for sequences
 * scanned one by one, the sum over them is at most that of their total
 * length). Its layout is the scan's own. */
size_t qt_selective_scan_checkpoint_floats(int len, int dim, int nstate);

void qt_selective_scan_forward_checkpoint(float *y, float *ckpt, float *h_last, const float *x,
                                          const float *delta, const float *A, const float *B,
                                          const float *C, const float *D, int batch, int len,
                                          int dim, int nstate);

/* The same gradients as qt_selective_scan_backward without hs: the states
 * are recomputed inside a chunk of steps at a time from ckpt (the forward's
 * checkpoints, or NULL: then from the start), which is faster than reading
 * a saved [len, dim, nstate] back and needs far less memory. scratch:
 * qt_selective_scan_recompute_scratch_floats(len, dim, nstate) floats. */
size_t qt_selective_scan_recompute_scratch_floats(int len, int dim, int nstate);

void qt_selective_scan_backward_recompute(float *dx, float *ddelta, float *dA, float *dB,
                                          float *dC, float *dD, float *scratch,
                                          const float *ckpt, const float *dy, const float *x,
                                          const float *delta, const float *A, const float *B,
                                          const float *C, const float *D, int batch, int len,
                                          int dim, int nstate);

#endif
