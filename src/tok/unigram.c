/* The Unigram model and the Metaspace pre-tokenizer, as Hugging Face's
 * `tokenizers` runs them (models/unigram, pre_tokenizers/metaspace).
 *
 * Unigram: every piece has a score (a log probability); a word is cut into
 * the pieces whose scores sum highest (Viterbi over byte positions, ties
 * keep the earlier candidate, candidates tried shortest first). A character
 * that no one-character piece covers may be an unknown token scored
 * min_score - 10; consecutive unknowns are fused into one token. With
 * byte_fallback, an unknown run becomes its UTF-8 bytes as <0xNN> pieces,
 * each with the offsets of the whole run, as HF does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/unigram.h"
#include "util/json.h"

#define UNK_PENALTY 10.0

/* A trie over the pieces' bytes: node 0 is the root, edges live in an
 * open-addressing table keyed by (node, byte). */
typedef struct unigram {
    double *scores; /* by id */
    int32_t n_pieces;
    double unk_score;
    bool byte_fallback;
    int32_t byte_ids[256]; /* <0xNN> pieces, -1 where missing */
    int32_t *node_piece;   /* the piece ending at each node, -1 for none */
    uint32_t n_nodes, cap_nodes;
    uint64_t *edge_keys; /* (node << 8 | byte) + 1; 0 = empty */
    uint32_t *edge_child;
    uint32_t n_edges, n_slots;
    /* Viterbi scratch, one entry per byte position + 1 */
    double *best;
    int32_t *from, *best_id;
    size_t scratch_cap;
} unigram;

/* ---- the trie ---- */

static uint32_t edge_slot(const unigram *u, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t mask = u->n_slots - 1, i = (uint32_t)(h >> 32) & mask;
    while (u->edge_keys[i] && u->edge_keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static uint32_t trie_child(const unigram *u, uint32_t node, unsigned char c)
{
    if (!u->n_slots)
        return 0;
    uint64_t key = ((uint64_t)node << 8 | c) + 1;
    uint32_t i = edge_slot(u, key);
    return u->edge_keys[i] ? u->edge_child[i] : 0;
}

static void edges_grow(unigram *u)
{
    uint64_t *keys = u->edge_keys;
    uint32_t *child = u->edge_child, old = u->n_slots;
    u->n_slots = old ? old * 2 : 1024;
    u->edge_keys = qt_tok_xcalloc(u->n_slots, sizeof *u->edge_keys);
    u->edge_child = qt_tok_xcalloc(u->n_slots, sizeof *u->edge_child);
    for (uint32_t i = 0; i < old; i++)
        if (keys[i]) {
            uint32_t j = edge_slot(u, keys[i]);
            u->edge_keys[j] = keys[i];
            u->edge_child[j] = child[i];
        }
    free(keys);
    free(child);
}

static uint32_t new_node(unigram *u)
{
    if (u->n_nodes == u->cap_nodes) {
        u->cap_nodes = u->cap_nodes ? u->cap_nodes * 2 : 1024;
        u->node_piece = qt_tok_xrealloc(u->node_piece, u->cap_nodes * sizeof *u->node_piece);
    }
    u->node_piece[u->n_nodes] = -1;
    return u->n_nodes++;
}

static void trie_insert(unigram *u, const char *s, size_t len, int32_t id)
{
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t child = trie_child(u, node, (unsigned char)s[i]);
        if (!child) {
            if (2 * (u->n_edges + 1) > u->n_slots)
                edges_grow(u);
            child = new_node(u);
            uint64_t key = ((uint64_t)node << 8 | (unsigned char)s[i]) + 1;
            uint32_t j = edge_slot(u, key);
            u->edge_keys[j] = key;
            u->edge_child[j] = child;
            u->n_edges++;
        }
        node = child;
    }
    if (len > 0)
        u->node_piece[node] = id; /* a later duplicate wins, as HF's token_to_ids */
}

/* ---- Viterbi ---- */

static void unigram_tokenize(qt_tok_model *m, const char *word, uint32_t len, qt_tok_pieces *out)
{
    unigram *u = m->state;
    if (len == 0)
        return;
    if (u->scratch_cap < (size_t)len + 1) {
        u->scratch_cap = (size_t)len + 1 + 256;
        u->best = qt_tok_xrealloc(u->best, u->scratch_cap * sizeof *u->best);
        u->from = qt_tok_xrealloc(u->from, u->scratch_cap * sizeof *u->from);
        u->best_id = qt_tok_xrealloc(u->best_id, u->scratch_cap * sizeof *u->best_id);
    }
    double *best = u->best;
    int32_t *from = u->from, *best_id = u->best_id;
    for (uint32_t i = 0; i <= len; i++)
        from[i] = -1;
    best[0] = 0.0;
    for (uint32_t start = 0; start < len;) {
        uint32_t mblen;
        qt_tok_utf8_decode(word + start, &mblen);
        if (start > 0 && from[start] < 0) { /* unreachable: only without an unknown token */
            start += mblen;
            continue;
        }
        double here = best[start];
        bool single = false;
        uint32_t node = 0;
        for (uint32_t k = start; k < len; k++) {
            node = trie_child(u, node, (unsigned char)word[k]);
            if (!node)
                break;
            int32_t id = u->node_piece[node];
            if (id < 0)
                continue;
            uint32_t end = k + 1;
            double cand = u->scores[id] + here;
            if (from[end] < 0 || cand > best[end]) {
                best[end] = cand;
                from[end] = (int32_t)start;
                best_id[end] = id;
            }
            if (end - start == mblen)
                single = true;
        }
        if (!single && m->unk_id >= 0) {
            uint32_t end = start + mblen;
            double cand = u->unk_score + here;
            if (from[end] < 0 || cand > best[end]) {
                best[end] = cand;
                from[end] = (int32_t)start;
                best_id[end] = m->unk_id;
            }
        }
        start += mblen;
    }
    /* Walk back from the end; reuse from[] to hold the chosen cut points in
     * reverse order. Without an unknown token a character may be
     * unreachable: the text after it is then lost, and we skip forward. */
    size_t first = out->n;
    uint32_t end = len;
    while (end > 0 && from[end] < 0)
        end--;
    while (end > 0) {
        uint32_t start = (uint32_t)from[end];
        int32_t id = best_id[end];
        if (id == m->unk_id) {
            uint32_t run_start = start; /* fuse with the unknowns before it */
            while (run_start > 0 && from[run_start] >= 0 && best_id[run_start] == m->unk_id)
                run_start = (uint32_t)from[run_start];
            start = run_start;
        }
        qt_tok_pieces_push(out, id, start, end);
        end = start;
        while (end > 0 && from[end] < 0)
            end--;
    }
    /* the pieces went in backwards */
    for (size_t a = first, b = out->n; a + 1 < b; a++, b--) {
        qt_tok_piece t = out->v[a];
        out->v[a] = out->v[b - 1];
        out->v[b - 1] = t;
    }
    /* unknown runs: their own piece if the run is one, else bytes or <unk> */
    for (size_t k = first; k < out->n; k++) {
        qt_tok_piece *p = &out->v[k];
        if (p->id != m->unk_id)
            continue;
        int32_t id = qt_vocab_find(&m->vocab, word + p->start, p->end - p->start);
        if (id >= 0) {
            p->id = id;
            continue;
        }
        if (!u->byte_fallback)
            continue;
        uint32_t nb = p->end - p->start;
        bool all = true;
        for (uint32_t b = 0; b < nb && all; b++)
            all = u->byte_ids[(unsigned char)word[p->start + b]] >= 0;
        if (!all)
            continue;
        qt_tok_piece run = *p;
        /* make room for nb - 1 more pieces after k */
        for (uint32_t b = 1; b < nb; b++)
            qt_tok_pieces_push(out, 0, 0, 0);
        memmove(&out->v[k + nb], &out->v[k + 1], (out->n - nb - k) * sizeof *out->v);
        for (uint32_t b = 0; b < nb; b++)
            out->v[k + b] = (qt_tok_piece){u->byte_ids[(unsigned char)word[run.start + b]], run.start, run.end};
        k += nb - 1;
    }
}

static void unigram_free(qt_tok_model *m)
{
    unigram *u = m->state;
    if (!u)
        return;
    free(u->scores);
    free(u->node_piece);
    free(u->edge_keys);
    free(u->edge_child);
    free(u->best);
    free(u->from);
    free(u->best_id);
    free(u);
    m->state = NULL;
}

/* ---- loading ---- */

int qt_unigram_from_json(const cJSON *model, const char *name, qt_tok_model *m, qt_err *e)
{
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsArray(vocab))
        return vocab ? qt_fail(e, "%s: at model.vocab: expected an array of [piece, score], got %s", name,
                               qt_json_type_name(vocab))
                     : qt_fail(e, "%s: at model: missing field 'vocab'", name);
    int n = cJSON_GetArraySize(vocab);
    if (n <= 0)
        return qt_fail(e, "%s: at model.vocab: the Unigram vocabulary is empty", name);
    if (n > (1 << 24))
        return qt_fail(e, "%s: at model.vocab: %d pieces is too many", name, n);
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
    int32_t unk_id = -1;
    if (unk && !cJSON_IsNull(unk)) {
        if (!cJSON_IsNumber(unk) || unk->valuedouble != (double)(int32_t)unk->valuedouble)
            return qt_fail(e, "%s: at model.unk_id: expected a piece index, got %s", name, qt_json_type_name(unk));
        if (unk->valuedouble < 0 || unk->valuedouble >= n)
            return qt_fail(e, "%s: at model.unk_id: %g is not an index of the %d pieces", name, unk->valuedouble, n);
        unk_id = (int32_t)unk->valuedouble;
    }
    const cJSON *bf = cJSON_GetObjectItemCaseSensitive(model, "byte_fallback");
    if (bf && !cJSON_IsNull(bf) && !cJSON_IsBool(bf))
        return qt_fail(e, "%s: at model.byte_fallback: expected a boolean, got %s", name, qt_json_type_name(bf));

    unigram *u = qt_tok_xcalloc(1, sizeof *u);
    u->n_pieces = n;
    u->byte_fallback = cJSON_IsTrue(bf);
    u->scores = qt_tok_xcalloc((size_t)n, sizeof *u->scores);
    new_node(u); /* the root */
    qt_vocab v;
    qt_vocab_init(&v);
    double min_score = INFINITY;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab)
    {
        const cJSON *piece = cJSON_GetArrayItem(it, 0), *score = cJSON_GetArrayItem(it, 1);
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(piece) || !cJSON_IsNumber(score)) {
            qt_fail(e, "%s: at model.vocab[%d]: expected [piece, score]", name, i);
            goto fail;
        }
        if (!isfinite(score->valuedouble)) {
            qt_fail(e, "%s: at model.vocab[%d][1]: the score is not a finite number", name, i);
            goto fail;
        }
        size_t len = strlen(piece->valuestring);
        if (qt_vocab_add(&v, piece->valuestring, len, i, e) != 0) {
            qt_fail_prefix(e, "%s: at model.vocab[%d]", name, i);
            goto fail;
        }
        trie_insert(u, piece->valuestring, len, i);
        u->scores[i] = score->valuedouble;
        if (score->valuedouble < min_score)
            min_score = score->valuedouble;
        i++;
    }
    u->unk_score = min_score - UNK_PENALTY;
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        u->byte_ids[b] = qt_vocab_find(&v, hex, 6);
    }
    memset(m, 0, sizeof *m);
    m->type = QT_TOK_UNIGRAM;
    m->vocab = v;
    m->unk_id = unk_id;
    m->tokenize = unigram_tokenize;
    m->free = unigram_free;
    m->state = u;
    return 0;
fail:
    qt_vocab_free(&v);
    qt_tok_model tmp = {.state = u};
    unigram_free(&tmp);
    return -1;
}

/* ---- Metaspace ---- */

int qt_metaspace_from_json(const cJSON *j, const char *name, const char *jpath, qt_metaspace *ms, qt_err *e)
{
    memset(ms, 0, sizeof *ms);
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "replacement");
    if (!cJSON_IsString(rep))
        return rep ? qt_fail(e, "%s: at %s.replacement: expected a one-character string, got %s", name, jpath,
                             qt_json_type_name(rep))
                   : qt_fail(e, "%s: at %s: missing field 'replacement'", name, jpath);
    uint32_t n;
    size_t len = strlen(rep->valuestring);
    if (len == 0 || (ms->replacement = qt_tok_utf8_decode(rep->valuestring, &n), n != len))
        return qt_fail(e, "%s: at %s.replacement: expected exactly one character", name, jpath);
    memcpy(ms->rep, rep->valuestring, len);
    ms->prepend = QT_PREPEND_ALWAYS;
    const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(j, "prepend_scheme");
    if (scheme && !cJSON_IsNull(scheme)) {
        if (!cJSON_IsString(scheme))
            return qt_fail(e, "%s: at %s.prepend_scheme: expected a string, got %s", name, jpath,
                           qt_json_type_name(scheme));
        if (strcmp(scheme->valuestring, "always") == 0)
            ms->prepend = QT_PREPEND_ALWAYS;
        else if (strcmp(scheme->valuestring, "first") == 0)
            ms->prepend = QT_PREPEND_FIRST;
        else if (strcmp(scheme->valuestring, "never") == 0)
            ms->prepend = QT_PREPEND_NEVER;
        else
            return qt_fail(e, "%s: at %s.prepend_scheme: expected \"always\", \"first\" or \"never\", got \"%.40s\"",
                           name, jpath, scheme->valuestring);
    }
    /* the legacy key: false means never, and must agree with prepend_scheme */
    const cJSON *aps = cJSON_GetObjectItemCaseSensitive(j, "add_prefix_space");
    if (aps && !cJSON_IsNull(aps)) {
        if (!cJSON_IsBool(aps))
            return qt_fail(e, "%s: at %s.add_prefix_space: expected a boolean, got %s", name, jpath,
                           qt_json_type_name(aps));
        if (cJSON_IsFalse(aps)) {
            if (ms->prepend != QT_PREPEND_NEVER)
                return qt_fail(e, "%s: at %s: add_prefix_space does not match declared prepend_scheme", name, jpath);
            ms->prepend = QT_PREPEND_NEVER;
        }
    }
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(j, "split");
    ms->split = true;
    if (split && !cJSON_IsNull(split)) {
        if (!cJSON_IsBool(split))
            return qt_fail(e, "%s: at %s.split: expected a boolean, got %s", name, jpath, qt_json_type_name(split));
        ms->split = cJSON_IsTrue(split);
    }
    return 0;
}

void qt_metaspace_pretok(const qt_metaspace *ms, qt_nstr *ns, qt_splits *out)
{
    /* spaces -> the replacement, each aligned to its space */
    if (memchr(ns->s, ' ', ns->len)) {
        qt_tok_edits ed = {0};
        for (uint32_t i = 0; i < ns->len;) {
            uint32_t n;
            uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
            qt_tok_edits_push(&ed, c == ' ' ? ms->replacement : c, 0);
            i += n;
        }
        qt_nstr_transform(ns, ed.v, ed.n, 0);
        free(ed.v);
    }
    size_t rlen = strlen(ms->rep);
    bool starts = ns->len >= rlen && memcmp(ns->s, ms->rep, rlen) == 0;
    if (!starts && (ms->prepend == QT_PREPEND_ALWAYS || (ms->prepend == QT_PREPEND_FIRST && ns->orig_start == 0)))
        qt_nstr_prepend(ns, ms->rep);
    if (!ms->split) {
        qt_splits_push_slice(out, ns, 0, ns->len, -1);
        return;
    }
    /* cut before every replacement character */
    uint32_t word = 0;
    for (uint32_t i = 0; i + rlen <= ns->len;) {
        if (memcmp(ns->s + i, ms->rep, rlen) == 0) {
            qt_splits_push_slice(out, ns, word, i, -1);
            word = i;
            i += (uint32_t)rlen;
        } else {
            i++;
        }
    }
    qt_splits_push_slice(out, ns, word, ns->len, -1);
}
