/* The session store: an SQLite database (schema in db/schema.sql) holding
 * sessions, passages, questions, models and every model's answer.
 *
 * Every function returns 0 / a positive row id on success and -1 on failure
 * with a one-line message in e that names the database file. Strings
 * returned in structs are heap copies freed by the matching *_free. */
#ifndef QT_STORE_H
#define QT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

typedef struct qt_store qt_store;

/* The newest schema version this build knows (PRAGMA user_version). */
int qt_store_schema_version(void);

/* The database path to use: db_opt when given, else qt_default_db_path()
 * with its folder created. NULL (and e filled) when the folder cannot be
 * made. The result is db_opt itself or a static buffer. */
const char *qt_store_resolve_path(const char *db_opt, qt_err *e);

/* Opens (creating when missing) and migrates the database at path: WAL
 * journal, foreign keys on, a busy timeout. Refuses, without changing the
 * file, a directory, an unwritable path, a file that is not an SQLite
 * database, a damaged one (PRAGMA quick_check, which reads the file once),
 * another program's database, and one whose schema is newer than this
 * build. Sessions of this host left open by a
 * process that is gone are closed (end_reason 'crash'). */
qt_store *qt_store_open(const char *path, qt_err *e);
void qt_store_close(qt_store *s);

const char *qt_store_path(const qt_store *s);

/* How many crashed sessions qt_store_open closed. */
int qt_store_recovered_sessions(const qt_store *s);

/* --- Writing ----------------------------------------------------------- */

/* Starts a session owned by this process; mode is e.g. "compare", "quiz". */
int64_t qt_store_begin_session(qt_store *s, const char *mode, qt_err *e);

/* Records the end time (end_reason 'exit'). Ending an ended session is a
 * no-op; an unknown id is an error. */
int qt_store_end_session(qt_store *s, int64_t session_id, qt_err *e);

typedef struct qt_model_meta {
    const char *name;              /* required */
    const char *architecture;      /* required, e.g. "bidaf", "human" */
    const char *variant;           /* NULL = "" */
    const char *checkpoint_path;   /* NULL = none */
    const char *checkpoint_sha256; /* NULL = "" (no checkpoint) */
    int64_t parameter_count;       /* < 0 = unknown */
    int64_t bytes_on_disk;         /* < 0 = unknown */
} qt_model_meta;

/* The id of the model with this name, variant and checkpoint digest,
 * inserted when new (the other fields of an existing row are kept). */
int64_t qt_store_model_id(qt_store *s, const qt_model_meta *m, qt_err *e);

/* The id of the passage with this text (deduplicated by SHA-256), inserted
 * when new. source and title may be NULL; paragraph_index < 0 = unknown. */
int64_t qt_store_passage_id(qt_store *s, const char *source, const char *title,
                            int paragraph_index, const char *text, qt_err *e);

typedef struct qt_question_rec {
    const char *external_id; /* SQuAD qid, or NULL */
    const char *text;        /* required */
    const char *gold_json;   /* JSON array of {"text","answer_start"}; NULL = "[]" */
    int is_impossible;       /* 0 / 1 */
    int64_t asked_at_ms;     /* Unix time in ms; 0 = now */
} qt_question_rec;

typedef struct qt_answer_rec {
    int64_t model_id;
    const char *text;      /* "" or NULL = no answer */
    int char_start;        /* < 0 = no span */
    int char_end;          /* exclusive */
    double score;          /* NAN = unknown */
    double no_answer_prob; /* NAN = unknown */
    double latency_ms;     /* NAN = unknown */
    int em;                /* 0 / 1, < 0 = not scored */
    double f1;             /* [0, 1], NAN = not scored */
} qt_answer_rec;

/* Writes one question and its n answers in one transaction: either all of
 * them are stored or none. Returns the question id. */
int64_t qt_store_record_question(qt_store *s, int64_t session_id, int64_t passage_id,
                                 const qt_question_rec *q, const qt_answer_rec *answers,
                                 size_t n_answers, qt_err *e);

/* --- Reading ----------------------------------------------------------- */

typedef struct qt_model_em {
    int64_t model_id;
    char *name, *variant, *architecture;
    int n_answers; /* answers given */
    int n_scored;  /* of which scored */
    double em;     /* percent over the scored ones; NAN when none */
} qt_model_em;

typedef struct qt_session_info {
    int64_t id;
    char *started_at, *ended_at; /* ended_at NULL while open */
    char *end_reason;            /* "exit", "crash" or NULL */
    char *host, *user, *mode;
    int64_t pid;
    int n_questions;
    qt_model_em *models; /* per model, in model id order */
    size_t n_models;
} qt_session_info;

/* All sessions, oldest first, each with its per-model EM. */
int qt_store_list_sessions(qt_store *s, qt_session_info **out, size_t *n, qt_err *e);

/* One session (an unknown id is an error naming it). Free with
 * qt_session_infos_free(out, 1). */
int qt_store_get_session(qt_store *s, int64_t session_id, qt_session_info **out, qt_err *e);
void qt_session_infos_free(qt_session_info *infos, size_t n);

typedef struct qt_answer_row {
    int64_t model_id;
    char *model_name, *model_variant;
    char *text;
    int char_start, char_end; /* -1 when none */
    double score, no_answer_prob, latency_ms; /* NAN when unknown */
    int em;                   /* -1 when not scored */
    double f1;                /* NAN when not scored */
} qt_answer_row;

typedef struct qt_question_row {
    int64_t id, session_id, passage_id;
    char *external_id; /* NULL when none */
    char *text, *gold_json, *asked_at;
    int is_impossible;
    char *passage_title, *passage_source; /* NULL when unknown */
    int paragraph_index;                  /* -1 when unknown */
    qt_answer_row *answers;               /* in model id order */
    size_t n_answers;
} qt_question_row;

/* The questions of one session (session_id 0: of all), in the order asked,
 * each with its answers. */
int qt_store_questions(qt_store *s, int64_t session_id, qt_question_row **out, size_t *n,
                       qt_err *e);
void qt_question_rows_free(qt_question_row *rows, size_t n);

/* Per-model aggregates, in percent like the official SQuAD script. HasAns /
 * NoAns split the scored answers by the question's is_impossible. Latency
 * percentiles interpolate linearly between the sorted values. Any mean over
 * no values is NAN. */
typedef struct qt_model_stats {
    int64_t model_id;
    char *name, *variant, *architecture;
    int n_answers, n_scored;
    double em, f1;
    int n_has_ans;
    double has_ans_em, has_ans_f1;
    int n_no_ans;
    double no_ans_em, no_ans_f1;
    int n_timed;
    double latency_p50, latency_p95, latency_mean; /* ms */
} qt_model_stats;

/* Aggregates for one session (session_id 0: over all sessions). */
int qt_store_model_stats(qt_store *s, int64_t session_id, qt_model_stats **out, size_t *n,
                         qt_err *e);
void qt_model_stats_free(qt_model_stats *stats, size_t n);

/* The p-th percentile (0..100) of n sorted values, interpolating linearly;
 * NAN when n is 0. */
double qt_percentile_sorted(const double *sorted, size_t n, double p);

#endif
