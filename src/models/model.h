/* The one model interface: every engine (BERT/RoBERTa, T5, Mamba, BiLSTM)
 * loads from a Hugging Face-style directory and answers a question about a
 * context. The CLI (ask, predict, bench) and the TUI only use this header. */
#ifndef QT_MODEL_H
#define QT_MODEL_H

#include "util/err.h"

typedef struct qt_model_info {
    char name[128];      /* display name: config "qaterm_name", else the folder's name */
    char arch[32];       /* "bert", "roberta", "t5", "mamba", "bilstm" */
    char variant[128];   /* config "qaterm_variant" (e.g. "base", "distilled", "int8"), else "" */
    char path[4096];     /* the checkpoint directory */
    long long n_params;  /* parameters (weights as stored) */
    long long bytes_on_disk; /* all files of the directory */
} qt_model_info;

typedef struct qt_qa_answer {
    int has_answer;            /* 0: the model says the question has no answer */
    char *text;                /* the answer ("" when none); malloc'd */
    long char_start, char_end; /* [start, end) in code points of the context; -1 when none/unknown */
    long byte_start, byte_end; /* the same in bytes */
    double score;              /* the engine's raw score of its choice (logit sum, mean log-prob) */
    double confidence;         /* 0..1: probability the model gives to what it shows */
    double no_answer_prob;     /* 0..1, 0.5 at the model's decision boundary: sigmoid(threshold - margin) */
    double margin;             /* best real answer's score minus the no-answer score, before the threshold:
                                * answered when margin > qaterm_null_threshold; +inf: no no-answer option,
                                * -inf: no real answer */
    char *best_text;           /* best non-null answer, even when has_answer is 0 (--always-answer) */
    long best_char_start, best_char_end;
    double latency_ms;         /* wall time of qt_model_answer */
} qt_qa_answer;

typedef struct qt_model qt_model;

typedef struct qt_model_ops {
    /* Fills out (zeroed by the caller) or returns -1 with e set. Must poll
     * *m->cancel between windows/layers/steps and fail with "cancelled". */
    int (*answer)(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e);
    void (*free)(qt_model *m);
    /* Optional, for `qaterm bench` (NULL: not supported). forward_tokens runs
     * the network once over one window of seq_len synthetic tokens; flops is
     * the floating-point operations of that window (multiply + add = 2);
     * max_tokens is the most tokens a window may hold, 0 for no limit. */
    int (*forward_tokens)(qt_model *m, int seq_len, qt_err *e);
    double (*flops)(qt_model *m, int seq_len);
    int (*max_tokens)(qt_model *m);
} qt_model_ops;

struct qt_model {
    const qt_model_ops *ops;
    qt_model_info info;
    volatile int *cancel; /* optional; another thread sets *cancel = 1 to abandon an answer */
    void *impl;           /* the engine's state */
};

/* Loads the checkpoint in dir; the engine is chosen by config.json's
 * "model_type" (bert, roberta, t5, mamba, qaterm_bilstm). Every loader checks
 * tensor names and shapes against the config and fails with a clear message. */
qt_model *qt_model_load(const char *dir, qt_err *e);

/* Answers and times the call (latency_ms). */
int qt_model_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e);

void qt_qa_answer_free(qt_qa_answer *a);
void qt_model_free(qt_model *m);

/* For engines: fills info's common fields (name, variant, path, bytes on
 * disk) from the directory and its parsed config.json. */
struct cJSON;
void qt_model_info_init(qt_model_info *info, const char *dir, const struct cJSON *config, const char *arch);

/* The default model directories shipped in assets/models/ (bert, t5, lstm,
 * mamba): fills up to max paths that exist; returns the count. */
int qt_default_model_dirs(char paths[][4096], int max);

#endif
