/* Matrix products through cblas_sgemm: the Linear layer (weights stored
 * [out, in] as PyTorch's nn.Linear, so Hugging Face weights load as they are)
 * and a batched matmul with forward and backward. Backward adds into its
 * gradients; any gradient pointer may be NULL (see nn/ops.h). */
#ifndef QT_NN_LINEAR_H
#define QT_NN_LINEAR_H

/* out[n, outf] = x[n, inf] W^T + b, with W [outf, inf] and b [outf] or NULL. */
void qt_linear_forward(float *out, const float *x, const float *w, const float *b, int n,
                       int inf, int outf);
/* dx[n, inf] += dout W;  dW[outf, inf] += dout^T x;  db[outf] += column sums of dout. */
void qt_linear_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                        const float *w, int n, int inf, int outf);

/* C = op(A) op(B) + beta C for one matrix, op(X) = X or X^T, op(A) [m, k],
 * op(B) [k, n], C [m, n]; all contiguous row-major. */
void qt_matmul(float *c, const float *a, const float *b, int m, int n, int k, int trans_a,
               int trans_b, float beta);

/* The same for `batch` contiguous matrices: C[i] = op(A[i]) op(B[i]), with
 * A[i] at a + i*m*k, B[i] at b + i*k*n, C[i] at c + i*m*n. */
void qt_bmm_forward(float *c, const float *a, const float *b, int batch, int m, int n, int k,
                    int trans_a, int trans_b);
/* dA[i] += dC[i] op(B[i])^T (shaped as A), dB[i] += op(A[i])^T dC[i] (shaped as B). */
void qt_bmm_backward(float *da, float *db, const float *dc, const float *a, const float *b,
                     int batch, int m, int n, int k, int trans_a, int trans_b);

#endif
