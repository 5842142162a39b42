/* What the tokenizer sources share: HF's NormalizedString (text plus the
 * original offsets of every byte), the pipeline's components, and the model
 * interface a new model (Unigram, ...) implements:
 *
 *   1. write src/tok/NAME.c with a constructor that fills a qt_tok_model
 *      (tokenize, free, and its vocabulary in `vocab`);
 *   2. call it from tok_json.c's load_model() for "type": "NAME".
 *
 * Not for use outside src/tok. */
#ifndef QT_TOK_INTERNAL_H
#define QT_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tok/tokenizer.h"
#include "util/err.h"

/* Allocation that gives up on the process when memory runs out: every
 * tokenizer buffer is small and an out-of-memory here has no useful
 * recovery. */
void *qt_tok_xrealloc(void *p, size_t n);
void *qt_tok_xcalloc(size_t n, size_t size);
char *qt_tok_xstrndup(const char *s, size_t n);

/* ---- UTF-8 ---- */

/* Decodes the (valid) UTF-8 character at s; stores its length in *n. */
uint32_t qt_tok_utf8_decode(const char *s, uint32_t *n);
/* Writes cp as UTF-8 to out (4 bytes room); returns the length. */
int qt_tok_utf8_encode(uint32_t cp, char *out);
static inline int qt_tok_utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* ---- vocabulary: token text <-> id ---- */

typedef struct qt_vocab_entry {
    char *text;
    uint32_t len;
    int32_t id;
} qt_vocab_entry;

typedef struct qt_vocab {
    qt_vocab_entry *entries;
    uint32_t n_entries, cap_entries;
    const char **tokens; /* by id (into entries); NULL where no token has that id */
    int32_t n_ids;       /* max id + 1 */
    uint32_t *slots;     /* open addressing: entry index + 1, 0 = empty */
    uint32_t n_slots;
} qt_vocab;

void qt_vocab_init(qt_vocab *v);
void qt_vocab_free(qt_vocab *v);
/* Adds token -> id. A later token with the same text wins, as in HF; two
 * texts may share an id. Fails for ids < 0 or absurdly large. */
int qt_vocab_add(qt_vocab *v, const char *tok, size_t len, int32_t id, qt_err *e);
int32_t qt_vocab_find(const qt_vocab *v, const char *tok, size_t len);
const char *qt_vocab_token(const qt_vocab *v, int32_t id);

/* ---- normalized string ---- */

typedef struct qt_tok_align {
    uint32_t start, end;
} qt_tok_align;

typedef struct qt_nstr {
    char *s;             /* normalized UTF-8, NUL-terminated */
    qt_tok_align *al;    /* al[i]: original byte range of normalized byte i */
    uint32_t len;
    uint32_t orig_start; /* where this piece starts in the original text */
} qt_nstr;

/* One character of a transform and how it relates to the old text: 0
 * replaces the next old character, +1 is inserted, -N replaces the next
 * one and drops N more after it (HF's `changes`). */
typedef struct qt_tok_edit {
    uint32_t cp;
    int32_t change;
} qt_tok_edit;

typedef struct qt_tok_edits {
    qt_tok_edit *v;
    size_t n, cap;
} qt_tok_edits;

void qt_tok_edits_push(qt_tok_edits *ed, uint32_t cp, int32_t change);

void qt_nstr_init_text(qt_nstr *ns, const char *text, uint32_t len);
void qt_nstr_free(qt_nstr *ns);
/* ns[a, b) as a new string with the same alignments. */
void qt_nstr_slice(const qt_nstr *ns, uint32_t a, uint32_t b, qt_nstr *out);
/* Rebuilds the string from edits; `skip` old characters are dropped first. */
void qt_nstr_transform(qt_nstr *ns, const qt_tok_edit *ed, size_t n, size_t skip);
void qt_nstr_prepend(qt_nstr *ns, const char *prefix);
/* Original byte range of normalized bytes [a, b) (HF's convert_offsets). */
void qt_nstr_original_range(const qt_nstr *ns, uint32_t a, uint32_t b, uint32_t *start, uint32_t *end);

/* ---- splits: HF's PreTokenizedString ---- */

typedef struct qt_split {
    qt_nstr ns;
    int32_t token; /* >= 0: already a token (an added token); -1: still text */
} qt_split;

typedef struct qt_splits {
    qt_split *v;
    size_t n, cap;
} qt_splits;

void qt_splits_clear(qt_splits *sp);
void qt_splits_free(qt_splits *sp);
/* Appends ns[a, b) unless it is empty. */
void qt_splits_push_slice(qt_splits *sp, const qt_nstr *ns, uint32_t a, uint32_t b, int32_t token);

/* ---- normalizers ---- */

typedef enum qt_norm_kind {
    QT_NORM_BERT,
    QT_NORM_NFC,
    QT_NORM_NFD,
    QT_NORM_NFKC,
    QT_NORM_NFKD,
    QT_NORM_LOWERCASE,
    QT_NORM_STRIP_ACCENTS,
    QT_NORM_STRIP,
    QT_NORM_PREPEND,
    QT_NORM_REPLACE,
    QT_NORM_PRECOMPILED,  /* SentencePiece charsmap (tok/unigram.h) */
    QT_NORM_REPLACE_RUNS, /* Replace with a run regex, e.g. " {2,}" */
    QT_NORM_SEQUENCE,
} qt_norm_kind;

typedef struct qt_normalizer {
    qt_norm_kind kind;
    bool clean_text, handle_cjk, strip_accents, lowercase; /* BERT */
    bool left, right;                                      /* Strip */
    char *text, *with;                                     /* Prepend text; Replace text -> with */
    struct qt_charsmap *charsmap;                          /* Precompiled */
    struct qt_tok_run_regex *runs;                         /* Replace runs -> with */
    struct qt_normalizer *items;                           /* Sequence */
    size_t n_items;
} qt_normalizer;

void qt_normalizer_apply(const qt_normalizer *nz, qt_nstr *ns);
void qt_normalizer_free(qt_normalizer *nz);

/* ---- pre-tokenizers ---- */

typedef enum qt_pretok_kind {
    QT_PRE_BERT,
    QT_PRE_BYTE_LEVEL,
    QT_PRE_WHITESPACE_SPLIT,
    QT_PRE_METASPACE,
    QT_PRE_SEQUENCE,
} qt_pretok_kind;

typedef struct qt_pretok {
    qt_pretok_kind kind;
    bool add_prefix_space, use_regex; /* ByteLevel */
    struct qt_metaspace *metaspace;   /* Metaspace (tok/unigram.h) */
    struct qt_pretok *items;          /* Sequence */
    size_t n_items;
} qt_pretok;

/* Splits every text split of sp further (added-token splits pass through). */
void qt_pretok_apply(const qt_pretok *pt, qt_splits *sp, qt_splits *scratch);
void qt_pretok_free(qt_pretok *pt);

/* GPT-2's pre-tokenisation regex, by hand: the end of the piece starting at
 * byte i of s (len bytes). */
uint32_t qt_gpt2_piece_end(const char *s, uint32_t len, uint32_t i);

/* GPT-2's byte -> printable character map and its inverse. */
uint32_t qt_byte_level_char(uint8_t b);
int qt_byte_level_byte(uint32_t cp); /* -1 if cp is not in the map */

/* ---- models ---- */

typedef struct qt_tok_piece {
    int32_t id;
    uint32_t start, end; /* byte offsets within the word */
} qt_tok_piece;

typedef struct qt_tok_pieces {
    qt_tok_piece *v;
    size_t n, cap;
} qt_tok_pieces;

void qt_tok_pieces_push(qt_tok_pieces *p, int32_t id, uint32_t start, uint32_t end);

typedef struct qt_tok_model qt_tok_model;
struct qt_tok_model {
    qt_tok_model_type type;
    qt_vocab vocab;
    int32_t unk_id; /* -1 if none */
    /* Appends the tokens of one pre-tokenized word (normalized UTF-8, len
     * bytes); offsets are bytes within the word. */
    void (*tokenize)(qt_tok_model *m, const char *word, uint32_t len, qt_tok_pieces *out);
    void (*free)(qt_tok_model *m); /* frees the model's own state; not vocab */
    void *state;
};

typedef struct qt_wordpiece_opts {
    const char *unk_token;     /* "[UNK]" */
    const char *prefix;        /* "##" */
    uint32_t max_chars;        /* HF default: 100 */
} qt_wordpiece_opts;

/* Takes over *vocab (left empty). */
int qt_wordpiece_init(qt_tok_model *m, qt_vocab *vocab, const qt_wordpiece_opts *o, qt_err *e);

typedef struct qt_bpe_merge {
    const char *a, *b;
    size_t a_len, b_len;
} qt_bpe_merge;

typedef struct qt_bpe_opts {
    const char *unk_token;     /* NULL: unknown characters are dropped */
    const char *prefix;        /* continuing_subword_prefix, or NULL */
    const char *suffix;        /* end_of_word_suffix, or NULL */
    bool fuse_unk, byte_fallback, ignore_merges;
} qt_bpe_opts;

/* Takes over *vocab (left empty). `name` is for messages. */
int qt_bpe_init(qt_tok_model *m, qt_vocab *vocab, const qt_bpe_merge *merges, size_t n_merges,
                const qt_bpe_opts *o, const char *name, qt_err *e);

void qt_tok_model_free(qt_tok_model *m);

/* ---- added tokens ---- */

typedef struct qt_added_token {
    char *content;
    uint32_t len;
    int32_t id;
    bool special, single_word, lstrip, rstrip, normalized;
    char *match;        /* the text looked for: content, normalized if `normalized` */
    uint32_t match_len;
} qt_added_token;

/* Splits ns into text and added-token splits (appended to out), matching
 * the tokens with normalized == want_normalized (leftmost-longest). */
void qt_added_split(const qt_added_token *toks, size_t n, bool want_normalized, const qt_nstr *ns,
                    qt_splits *out);

/* ---- character classes, as HF's Rust code and its regex engine see them ---- */

bool qt_uc_is_whitespace(uint32_t c);   /* Rust char::is_whitespace (White_Space) */
bool qt_uc_is_bert_control(uint32_t c); /* BERT clean_text removes it */
bool qt_uc_is_bert_punct(uint32_t c);   /* BERT pre-tokenizer isolates it */
bool qt_uc_is_cjk(uint32_t c);          /* BERT pads it with spaces */
bool qt_uc_is_nonspacing_mark(uint32_t c); /* Mn: what BERT's strip_accents drops */
bool qt_uc_is_mark(uint32_t c);             /* Mn, Mc, Me: what StripAccents drops */
bool qt_uc_is_letter(uint32_t c);       /* \p{L} */
bool qt_uc_is_number(uint32_t c);       /* \p{N} */
bool qt_uc_is_word(uint32_t c);         /* regex \w */
/* Rust char::to_lowercase; returns the number of characters (1..3). */
int qt_uc_lowercase(uint32_t c, uint32_t out[3]);

/* Unicode normalization forms as edits over the characters of s. */
typedef enum qt_nf { QT_NF_C, QT_NF_D, QT_NF_KC, QT_NF_KD } qt_nf;
void qt_uc_normalize_edits(qt_nf form, const char *s, uint32_t len, qt_tok_edits *out);

/* ---- the tokenizer ---- */

struct qt_tokenizer {
    qt_tok_model model;
    qt_normalizer *normalizer; /* NULL: none */
    qt_pretok *pretok;         /* NULL: none */
    struct qt_tok_decoder *decoder; /* NULL: none (decode joins tokens with spaces) */
    qt_added_token *added;
    size_t n_added;
    bool any_raw_added, any_normalized_added;
    bool trim_offsets, trim_add_prefix_space; /* from the post-processor */
    qt_tok_specials specials;
    int32_t vocab_size;
    /* encode's scratch, kept to avoid reallocating on every call */
    qt_splits sp_a, sp_b;
    qt_tok_pieces pieces;
    uint32_t *char_of_byte, *byte_of_char;
    size_t char_of_byte_cap;
    uint32_t *spaces; /* per token: leading and trailing spaces, for trimming */
    size_t spaces_cap;
};

/* Fills in the added tokens' match texts, vocab_size and the special-token
 * ids found by name; called once the components are loaded. */
void qt_tokenizer_finish(qt_tokenizer *t);

/* Frees the components but not t itself. */
void qt_tokenizer_release(qt_tokenizer *t);

#endif
