/* Building a trained model's tokenizer from its examples (tokenizer_build.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/tokenizer_build.h"

int qt_train_build_tokenizer(const qt_example_set *train, qt_tok_build_kind kind, int max_vocab,
                             const char *const *specials, int n_specials, const char *unk, char **json,
                             qt_tokenizer **tok, qt_err *e)
{
    *json = NULL;
    *tok = NULL;
    size_t n = (size_t)train->n * 2;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!texts || !lens) {
        free(texts);
        free(lens);
        return qt_fail(e, "out of memory");
    }
    /* each context once: examples of one paragraph share its pointer, and
     * the example set keeps them next to each other */
    size_t k = 0;
    const char *last = NULL;
    for (int i = 0; i < train->n; i++) {
        const qt_example *ex = &train->ex[i];
        texts[k] = ex->question;
        lens[k++] = strlen(ex->question);
        if (ex->context != last && ex->kind != QT_EX_OTHER_PARAGRAPH) {
            texts[k] = ex->context;
            lens[k++] = ex->context_len;
            last = ex->context;
        }
    }
    fprintf(stderr, "qaterm train: building a %s tokenizer (%d tokens at most) from %zu texts\n",
            kind == QT_TOK_BUILD_WORDPIECE ? "WordPiece" : "Unigram", max_vocab, k);
    int rc = qt_tok_build_json(kind, texts, lens, k, max_vocab, specials, n_specials, unk, json, e);
    free(texts);
    free(lens);
    if (rc != 0)
        return -1;
    if (qt_tokenizer_from_json("the built tokenizer", *json, strlen(*json), tok, e) != 0) {
        free(*json);
        *json = NULL;
        return -1;
    }
    return 0;
}
