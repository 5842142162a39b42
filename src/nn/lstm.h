/* One LSTM layer in one direction over a batch of sequences, forward and
 * backward through time. Two calls (reverse 0 and 1) writing the two halves
 * of one output make a BiLSTM layer.
 *
 * PyTorch's nn.LSTM conventions, so its weights load as they are: gates in the
 * order i, f, g, o; w_ih [4H, in], w_hh [4H, H], b_ih and b_hh [4H];
 *   i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b_ih + h_prev W_hh^T + b_hh
 *   c = f * c_prev + i * g,  h = o * tanh(c),  with h and c starting at zero.
 * x is [batch, len, in]; h is written to out + (b * len + t) * out_stride, so
 * a BiLSTM passes out and out + hidden with out_stride 2 * hidden.
 * lengths: NULL (all sequences are len long) or [batch]: sequence b has
 * lengths[b] <= len valid steps; the reverse direction starts at its last
 * valid step, and outputs past the end are zero (PyTorch's packed sequences). */
#ifndef QT_NN_LSTM_H
#define QT_NN_LSTM_H

#include <stddef.h>
#include <stdint.h>

typedef struct qt_lstm_dims {
    int batch, len, in, hidden;
    int reverse;    /* 1: run from the last valid step to the first */
    int out_stride; /* 0 means hidden */
} qt_lstm_dims;

/* Floats of scratch that forward and backward need. */
size_t qt_lstm_scratch_floats(const qt_lstm_dims *d);

/* gates: [batch, len, 4 * hidden] and cells: [batch, len, hidden], the
 * activated gates and cell states, saved for backward (also the workspace at
 * inference, so always given). b_ih, b_hh may be NULL. */
void qt_lstm_forward(const qt_lstm_dims *d, float *out, float *gates, float *cells,
                     float *scratch, const float *x, const float *w_ih, const float *w_hh,
                     const float *b_ih, const float *b_hh, const int32_t *lengths);

/* Adds into dx [batch, len, in], dw_ih, dw_hh, db_ih, db_hh (any may be NULL)
 * from dout (laid out as out). out, gates, cells come from the forward. */
void qt_lstm_backward(const qt_lstm_dims *d, float *dx, float *dw_ih, float *dw_hh,
                      float *db_ih, float *db_hh, float *scratch, const float *dout,
                      const float *out, const float *gates, const float *cells, const float *x,
                      const float *w_ih, const float *w_hh, const int32_t *lengths);

#endif
