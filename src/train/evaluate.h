/* Evaluation of a saved model through the real inference path
 * (qt_model_load + qt_model_answer), scored with the official SQuAD 2.0
 * rules, and tuning of the no-answer threshold. */
#ifndef QT_TRAIN_EVALUATE_H
#define QT_TRAIN_EVALUATE_H

#include "models/model.h"
#include "qa/squad.h"
#include "util/err.h"

typedef struct qt_eval_pred {
    char *text;      /* what the model shows ("" for no answer) */
    char *best_text; /* its best span, answered or not */
    double na_prob;
    double margin;   /* best - null before the threshold: answered when margin > threshold */
} qt_eval_pred;

typedef struct qt_eval_result {
    int n, n_has, n_no;
    double exact, f1;          /* percentages, with the model's own threshold */
    double has_exact, has_f1, no_exact;
    double forced_has_f1;      /* best span for every answerable question */
    double forced_has_exact;
    double auroc;              /* no_answer_prob vs "unanswerable"; NAN when a class is empty */
    double best_exact;         /* EM at the best threshold */
    double best_threshold;     /* qaterm_null_threshold giving it */
    double always_no_exact;    /* EM of answering nothing */
    double seconds;
} qt_eval_result;

/* Answers questions of data with `threads` copies of the model in dir
 * (one BLAS thread each). max_questions > 0: an even spread of that many
 * questions (every k-th). preds (optional): [data->n_questions] filled for
 * the questions asked, NULL text elsewhere. */
int qt_eval_dir(const char *dir, const qt_squad *data, int max_questions, int threads, qt_eval_result *r,
                qt_eval_pred *preds, qt_err *e);

void qt_eval_preds_free(qt_eval_pred *p, int n);

/* The threshold on margins (best - null) that maximises EM over the
 * questions that have a prediction: the midpoint between two neighbouring
 * margins. *best_exact is that EM in percent. */
double qt_tune_null_threshold(const qt_squad *data, const qt_eval_pred *preds, double *best_exact);

/* Sets qaterm_null_threshold in DIR/config.json (other keys kept). */
int qt_write_null_threshold(const char *dir, double threshold, qt_err *e);

/* One CSV row of r (without a newline) and the matching header. */
const char *qt_eval_csv_header(void);
void qt_eval_csv_row(const qt_eval_result *r, char *buf, size_t size);

#endif
