/* Exporting the store: every answer as CSV, everything as one JSON
 * document, or one official SQuAD predictions file ({qid: answer text},
 * "" for no answer) per model. */
#ifndef QT_EXPORT_H
#define QT_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include "db/store.h"
#include "util/err.h"

typedef enum qt_export_format { QT_EXPORT_CSV, QT_EXPORT_JSON, QT_EXPORT_SQUAD } qt_export_format;

/* "csv", "json" or "squad"; -1 for anything else. */
int qt_export_parse_format(const char *name, qt_export_format *out);

/* Exports session session_id (0: all). csv and json go to out (a file,
 * written atomically; an existing directory gets qaterm-history.EXT in it)
 * or to stdout when out is NULL. squad writes predictions-MODEL.json files
 * into the directory out (created when missing; NULL: the current one)
 * and names each file written on report (when not NULL); only questions
 * with an external (SQuAD) id are exported, and none is an error. */
int qt_store_export(qt_store *s, qt_export_format format, int64_t session_id, const char *out,
                    FILE *report, qt_err *e);

#endif
