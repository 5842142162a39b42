#include "nn/linear.h"

#include <cblas.h>
#include <stddef.h>

#include "nn/ops.h"

void qt_linear_forward(float *out, const float *x, const float *w, const float *b, int n,
                       int inf, int outf)
{
    if (n == 1) {
        /* one token (decoding): a matrix-vector product is much cheaper than sgemm's packing */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, outf, inf, 1.0f, w, inf, x, 1, 0.0f, out, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, outf, inf, 1.0f, x, inf, w, inf,
                    0.0f, out, outf);
    }
    if (b)
        qt_bias_add_forward(out, b, n, outf);
}

void qt_linear_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                        const float *w, int n, int inf, int outf)
{
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, inf, outf, 1.0f, dout, outf, w,
                    inf, 1.0f, dx, inf);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, outf, inf, n, 1.0f, dout, outf, x,
                    inf, 1.0f, dw, inf);
    qt_bias_add_backward(db, dout, n, outf);
}

static enum CBLAS_TRANSPOSE tr(int t)
{
    return t ? CblasTrans : CblasNoTrans;
}

/* Leading dimension of op(X) stored row-major: op(X) is rows x cols, so X is
 * rows x cols (ld = cols) or cols x rows (ld = rows). */
static int ld_of(int trans, int rows, int cols)
{
    return trans ? rows : cols;
}

void qt_matmul(float *c, const float *a, const float *b, int m, int n, int k, int trans_a,
               int trans_b, float beta)
{
    cblas_sgemm(CblasRowMajor, tr(trans_a), tr(trans_b), m, n, k, 1.0f, a, ld_of(trans_a, m, k),
                b, ld_of(trans_b, k, n), beta, c, n);
}

void qt_bmm_forward(float *c, const float *a, const float *b, int batch, int m, int n, int k,
                    int trans_a, int trans_b)
{
    size_t sa = (size_t)m * k, sb = (size_t)k * n, sc = (size_t)m * n;
    for (int i = 0; i < batch; i++)
        qt_matmul(c + sc * i, a + sa * i, b + sb * i, m, n, k, trans_a, trans_b, 0.0f);
}

void qt_bmm_backward(float *da, float *db, const float *dc, const float *a, const float *b,
                     int batch, int m, int n, int k, int trans_a, int trans_b)
{
    size_t sa = (size_t)m * k, sb = (size_t)k * n, sc = (size_t)m * n;
    int lda = ld_of(trans_a, m, k), ldb = ld_of(trans_b, k, n);
    for (int i = 0; i < batch; i++) {
        const float *ai = a + sa * i, *bi = b + sb * i, *dci = dc + sc * i;
        if (da) {
            if (!trans_a) /* dA [m, k] = dC op(B)^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, tr(!trans_b), m, k, n, 1.0f, dci, n, bi,
                            ldb, 1.0f, da + sa * i, k);
            else /* A is [k, m]: dA = op(B) dC^T */
                cblas_sgemm(CblasRowMajor, tr(trans_b), CblasTrans, k, m, n, 1.0f, bi, ldb, dci,
                            n, 1.0f, da + sa * i, m);
        }
        if (db) {
            if (!trans_b) /* dB [k, n] = op(A)^T dC */
                cblas_sgemm(CblasRowMajor, tr(!trans_a), CblasNoTrans, k, n, m, 1.0f, ai, lda,
                            dci, n, 1.0f, db + sb * i, n);
            else /* B is [n, k]: dB = dC^T op(A) */
                cblas_sgemm(CblasRowMajor, CblasTrans, tr(trans_a), n, k, m, 1.0f, dci, n, ai,
                            lda, 1.0f, db + sb * i, k);
        }
    }
}
