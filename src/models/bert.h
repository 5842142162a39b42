/* BERT and RoBERTa extractive question answering (BertForQuestionAnswering,
 * RobertaForQuestionAnswering) from Hugging Face checkpoints.
 *
 * The model reads  [CLS] question [SEP] context [SEP]  (RoBERTa:
 * <s> question </s></s> context </s>) in windows planned by src/qa/decode.h
 * and scores every position as an answer start and end. */
#ifndef QT_BERT_H
#define QT_BERT_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "models/model.h"

/* Loaders for model_type "bert" and "roberta" (the qt_engines table). */
qt_model *qt_bert_load(const char *dir, const cJSON *config, qt_err *e);
qt_model *qt_roberta_load(const char *dir, const cJSON *config, qt_err *e);

/* 1 when m was loaded by one of the loaders above. */
int qt_bert_is(const qt_model *m);

/* The raw network: batch sequences of seq_len ids (row-major), token types
 * (NULL: all 0), attention mask (NULL: all 1; 0 marks padding), into
 * start/end logits [batch, seq_len]. Position ids are 0.. (BERT) or
 * pad + 1 + the count of non-pad ids before (RoBERTa), as transformers. */
int qt_bert_forward(qt_model *m, int batch, int seq_len, const int32_t *ids,
                    const int32_t *type_ids, const uint8_t *mask, float *start_logits,
                    float *end_logits, qt_err *e);

#endif
