/* Masked-LM pre-training of the BERT encoder (bert_train.h).
 *
 * The training windows themselves ([CLS] question [SEP] context [SEP]) are
 * masked: a masked context word that the question also holds can be
 * recovered by looking it up there, which is the matching a reader needs.
 * The output layer is the word embedding matrix (logits = x_top E^T, no
 * transform and no bias), so pre-training adds no tensor: the checkpoint
 * stays a BertForQuestionAnswering that transformers and qaterm load. */
#include <math.h>
#include <string.h>

#include "models/bert_train.h"
#include "nn/linear.h"

int qt_bert_mlm_mask(int32_t *ids, int len, const qt_bert_mlm_ids *sp, float mask_prob, qt_rng *rng,
                     int32_t *positions, int32_t *targets)
{
    int n = 0, eligible = 0;
    for (int i = 0; i < len; i++) {
        if (ids[i] == sp->cls_id || ids[i] == sp->sep_id || ids[i] == sp->pad_id)
            continue;
        eligible++;
        if (qt_rng_uniform(rng) < mask_prob)
            positions[n++] = i;
    }
    if (n == 0 && eligible > 0) { /* every sequence teaches something */
        int k = (int)qt_rng_below(rng, (uint32_t)eligible);
        for (int i = 0; i < len && n == 0; i++)
            if (ids[i] != sp->cls_id && ids[i] != sp->sep_id && ids[i] != sp->pad_id && k-- == 0)
                positions[n++] = i;
    }
    /* BERT's 80 / 10 / 10: [MASK], a random word, the word itself */
    for (int m = 0; m < n; m++) {
        int i = positions[m];
        targets[m] = ids[i];
        float r = qt_rng_uniform(rng);
        if (r < 0.8f)
            ids[i] = sp->mask_id;
        else if (r < 0.9f)
            ids[i] = sp->first_word + (int32_t)qt_rng_below(rng, (uint32_t)(sp->vocab_size - sp->first_word));
    }
    return n;
}

double qt_bert_mlm_loss(const qt_bert_train_config *c, const qt_bert_train_weights *w, const qt_bert_train_acts *acts,
                        const int32_t *rows, const int32_t *targets, const float *weights, int M, float *x_m,
                        float *logits, float *dx_top, float *g_word)
{
    const int h = c->hidden_size, V = c->vocab_size;
    const size_t n = (size_t)acts->batch * acts->seq_len;
    const float *x_top = c->num_layers ? acts->layers[c->num_layers - 1].x_out : acts->x0;
    memset(dx_top, 0, n * h * sizeof(float));
    if (M == 0)
        return 0.0;
    for (int m = 0; m < M; m++)
        memcpy(x_m + (size_t)m * h, x_top + (size_t)rows[m] * h, (size_t)h * sizeof(float));
    qt_linear_forward(logits, x_m, w->word, NULL, M, h, V);
    double total = 0.0;
    for (int m = 0; m < M; m++) {
        float *l = logits + (size_t)m * V;
        double mx = l[0];
        for (int v = 1; v < V; v++)
            mx = l[v] > mx ? l[v] : mx;
        double sum = 0.0;
        for (int v = 0; v < V; v++)
            sum += exp((double)l[v] - mx);
        double lse = mx + log(sum);
        total += weights[m] * (lse - l[targets[m]]);
        /* the row becomes weight * (softmax - onehot) */
        for (int v = 0; v < V; v++)
            l[v] = (float)(weights[m] * (exp((double)l[v] - lse) - (v == targets[m])));
    }
    /* dx_m = dlogits E; dE += dlogits^T x_m (the embedding is the output layer) */
    float *dx_m = x_m + (size_t)M * h;
    memset(dx_m, 0, (size_t)M * h * sizeof(float));
    qt_linear_backward(dx_m, g_word, NULL, logits, x_m, w->word, M, h, V);
    for (int m = 0; m < M; m++) {
        float *d = dx_top + (size_t)rows[m] * h;
        for (int k = 0; k < h; k++)
            d[k] += dx_m[(size_t)m * h + k];
    }
    return total;
}
