/* Masked-LM pre-training of the BERT encoder (bert_train.h).
 *
 * The training windows themselves ([CLS] question [SEP] context [SEP]) are
 * masked: a masked context word that the question also holds can be
 * recovered by looking it up there, which is the matching a reader needs.
 * The loss is nn/lm_head.h's: the word embedding matrix is the output layer
 * (logits = x_top E^T, no transform and no bias), so pre-training adds no
 * tensor: the checkpoint stays a BertForQuestionAnswering that transformers
 * and qaterm load. */
#include "models/bert_train.h"

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
