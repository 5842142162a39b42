/* Byte-pair encoding as HF's BPE model does it: a word starts as one symbol
 * per character, then the adjacent pair with the lowest merge rank (the
 * leftmost among equals) is merged until no pair has a rank. Results are
 * cached per word. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

typedef struct merge_slot {
    uint64_t key; /* (a << 32 | b) + 1; 0 = empty */
    uint32_t rank;
    int32_t new_id;
} merge_slot;

typedef struct cache_entry {
    char *word;
    uint32_t len;
    uint32_t n;     /* symbols */
    int32_t *ids;
    uint32_t *lens; /* byte length of each symbol */
} cache_entry;

#define CACHE_SLOTS 32768u /* power of two */
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)
#define CACHE_MAX_WORD 256 /* longer words are not cached (as in HF) */

typedef struct symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t len;
} symbol;

typedef struct heap_item {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} heap_item;

typedef struct bpe {
    merge_slot *merges;
    uint32_t n_merge_slots;
    char *prefix, *suffix;
    size_t prefix_len, suffix_len;
    bool fuse_unk, byte_fallback, ignore_merges;
    cache_entry *cache;
    uint32_t cache_used;
    /* scratch */
    symbol *syms;
    size_t syms_cap;
    heap_item *heap;
    size_t heap_cap;
    char *buf;
    size_t buf_cap;
} bpe;

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static const merge_slot *merge_find(const bpe *b, int32_t x, int32_t y)
{
    uint64_t key = (((uint64_t)(uint32_t)x << 32) | (uint32_t)y) + 1;
    uint32_t mask = b->n_merge_slots - 1;
    for (uint32_t h = hash64(key) & mask;; h = (h + 1) & mask) {
        if (b->merges[h].key == key)
            return &b->merges[h];
        if (!b->merges[h].key)
            return NULL;
    }
}

static void merge_put(bpe *b, int32_t x, int32_t y, uint32_t rank, int32_t new_id)
{
    uint64_t key = (((uint64_t)(uint32_t)x << 32) | (uint32_t)y) + 1;
    uint32_t mask = b->n_merge_slots - 1;
    uint32_t h = hash64(key) & mask;
    while (b->merges[h].key && b->merges[h].key != key)
        h = (h + 1) & mask;
    b->merges[h] = (merge_slot){key, rank, new_id}; /* a repeated pair: the later rank wins, as in HF */
}

/* ---- min-heap on (rank, pos) ---- */

static bool heap_less(heap_item a, heap_item b)
{
    return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos;
}

static void heap_push(bpe *b, size_t *n, heap_item it)
{
    if (*n == b->heap_cap) {
        b->heap_cap = b->heap_cap ? b->heap_cap * 2 : 64;
        b->heap = qt_tok_xrealloc(b->heap, b->heap_cap * sizeof *b->heap);
    }
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(it, b->heap[p]))
            break;
        b->heap[i] = b->heap[p];
        i = p;
    }
    b->heap[i] = it;
}

static heap_item heap_pop(bpe *b, size_t *n)
{
    heap_item top = b->heap[0];
    heap_item last = b->heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        heap_item best = last;
        if (l < *n && heap_less(b->heap[l], best)) {
            m = l;
            best = b->heap[l];
        }
        if (r < *n && heap_less(b->heap[r], best))
            m = r;
        if (m == i)
            break;
        b->heap[i] = b->heap[m];
        i = m;
    }
    if (*n)
        b->heap[i] = last;
    return top;
}

/* ---- words ---- */

static size_t add_symbol(bpe *b, size_t n, int32_t id, uint32_t len)
{
    if (n == b->syms_cap) {
        b->syms_cap = b->syms_cap ? b->syms_cap * 2 : 64;
        b->syms = qt_tok_xrealloc(b->syms, b->syms_cap * sizeof *b->syms);
    }
    b->syms[n] = (symbol){id, (int32_t)n - 1, (int32_t)n + 1, len};
    return n + 1;
}

/* Looks up prefix? + s + suffix? */
static int32_t find_affixed(const qt_tok_model *m, bpe *b, const char *s, size_t n, bool with_prefix,
                            bool with_suffix)
{
    if (!with_prefix && !with_suffix)
        return qt_vocab_find(&m->vocab, s, n);
    size_t need = b->prefix_len + n + b->suffix_len;
    if (need > b->buf_cap) {
        b->buf_cap = need + 64;
        b->buf = qt_tok_xrealloc(b->buf, b->buf_cap);
    }
    size_t k = 0;
    if (with_prefix) {
        memcpy(b->buf, b->prefix, b->prefix_len);
        k = b->prefix_len;
    }
    memcpy(b->buf + k, s, n);
    k += n;
    if (with_suffix) {
        memcpy(b->buf + k, b->suffix, b->suffix_len);
        k += b->suffix_len;
    }
    return qt_vocab_find(&m->vocab, b->buf, k);
}

/* The initial symbols of a word; returns their number. */
static size_t initial_symbols(qt_tok_model *m, bpe *b, const char *w, uint32_t len)
{
    size_t n = 0;
    int32_t unk_id = -1;
    uint32_t unk_len = 0;
    bool have_unk = false;
    for (uint32_t i = 0; i < len;) {
        uint32_t cl;
        qt_tok_utf8_decode(w + i, &cl);
        bool first = i == 0, last = i + cl >= len;
        int32_t id = find_affixed(m, b, w + i, cl, !first && b->prefix, last && b->suffix);
        if (id >= 0) {
            if (have_unk) {
                n = add_symbol(b, n, unk_id, unk_len);
                have_unk = false;
            }
            n = add_symbol(b, n, id, cl);
            i += cl;
            continue;
        }
        if (b->byte_fallback) {
            int32_t ids[4];
            bool all = true;
            for (uint32_t k = 0; k < cl && all; k++) {
                char name[8];
                snprintf(name, sizeof name, "<0x%02X>", (unsigned char)w[i + k]);
                ids[k] = qt_vocab_find(&m->vocab, name, strlen(name));
                all = ids[k] >= 0;
            }
            if (all) {
                for (uint32_t k = 0; k < cl; k++)
                    n = add_symbol(b, n, ids[k], 1);
                i += cl;
                continue;
            }
        }
        if (m->unk_id >= 0) {
            if (have_unk && b->fuse_unk) {
                unk_len += cl;
            } else {
                if (have_unk)
                    n = add_symbol(b, n, unk_id, unk_len);
                unk_id = m->unk_id;
                unk_len = cl;
                have_unk = true;
            }
        }
        /* without an unknown token the character is dropped, as in HF */
        i += cl;
    }
    if (have_unk)
        n = add_symbol(b, n, unk_id, unk_len);
    if (n)
        b->syms[n - 1].next = -1;
    return n;
}

static void merge_all(bpe *b, size_t n)
{
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const merge_slot *ms = merge_find(b, b->syms[i].id, b->syms[i + 1].id);
        if (ms)
            heap_push(b, &hn, (heap_item){ms->rank, (uint32_t)i, ms->new_id});
    }
    while (hn) {
        heap_item top = heap_pop(b, &hn);
        symbol *cur = &b->syms[top.pos];
        if (cur->len == 0 || cur->next < 0)
            continue;
        symbol right = b->syms[cur->next];
        const merge_slot *ms = merge_find(b, cur->id, right.id);
        if (!ms || ms->new_id != top.new_id)
            continue; /* stale */
        cur->id = top.new_id;
        cur->len += right.len;
        b->syms[cur->next].len = 0;
        cur->next = right.next;
        if (right.next >= 0)
            b->syms[right.next].prev = (int32_t)top.pos;
        if (cur->prev >= 0) {
            const merge_slot *pm = merge_find(b, b->syms[cur->prev].id, cur->id);
            if (pm)
                heap_push(b, &hn, (heap_item){pm->rank, (uint32_t)cur->prev, pm->new_id});
        }
        if (cur->next >= 0) {
            const merge_slot *nm = merge_find(b, cur->id, b->syms[cur->next].id);
            if (nm)
                heap_push(b, &hn, (heap_item){nm->rank, top.pos, nm->new_id});
        }
    }
}

static void emit(qt_tok_pieces *out, const int32_t *ids, const uint32_t *lens, uint32_t n)
{
    uint32_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        qt_tok_pieces_push(out, ids[i], pos, pos + lens[i]);
        pos += lens[i];
    }
}

static void cache_clear(bpe *b)
{
    for (uint32_t i = 0; i < CACHE_SLOTS; i++) {
        free(b->cache[i].word);
        free(b->cache[i].ids);
        free(b->cache[i].lens);
    }
    memset(b->cache, 0, CACHE_SLOTS * sizeof *b->cache);
    b->cache_used = 0;
}

static cache_entry *cache_slot(bpe *b, const char *w, uint32_t len)
{
    uint32_t mask = CACHE_SLOTS - 1;
    for (uint32_t h = hash_bytes(w, len) & mask;; h = (h + 1) & mask) {
        cache_entry *c = &b->cache[h];
        if (!c->word || (c->len == len && memcmp(c->word, w, len) == 0))
            return c;
    }
}

static void bpe_tokenize(qt_tok_model *m, const char *w, uint32_t len, qt_tok_pieces *out)
{
    bpe *b = m->state;
    if (len == 0)
        return;
    if (b->ignore_merges) {
        int32_t id = qt_vocab_find(&m->vocab, w, len);
        if (id >= 0) {
            qt_tok_pieces_push(out, id, 0, len);
            return;
        }
    }
    cache_entry *c = NULL;
    if (len < CACHE_MAX_WORD) {
        c = cache_slot(b, w, len);
        if (c->word) {
            emit(out, c->ids, c->lens, c->n);
            return;
        }
    }
    size_t n = initial_symbols(m, b, w, len);
    merge_all(b, n);
    uint32_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (b->syms[i].len)
            b->syms[kept++] = b->syms[i];
    int32_t *ids = qt_tok_xrealloc(NULL, (kept ? kept : 1) * sizeof *ids);
    uint32_t *lens = qt_tok_xrealloc(NULL, (kept ? kept : 1) * sizeof *lens);
    for (uint32_t i = 0; i < kept; i++) {
        ids[i] = b->syms[i].id;
        lens[i] = b->syms[i].len;
    }
    emit(out, ids, lens, kept);
    if (c) {
        if (b->cache_used >= CACHE_MAX_ENTRIES) {
            cache_clear(b);
            c = cache_slot(b, w, len);
        }
        c->word = qt_tok_xstrndup(w, len);
        c->len = len;
        c->n = kept;
        c->ids = ids;
        c->lens = lens;
        b->cache_used++;
    } else {
        free(ids);
        free(lens);
    }
}

static void bpe_free(qt_tok_model *m)
{
    bpe *b = m->state;
    if (!b)
        return;
    cache_clear(b);
    free(b->cache);
    free(b->merges);
    free(b->prefix);
    free(b->suffix);
    free(b->syms);
    free(b->heap);
    free(b->buf);
    free(b);
    m->state = NULL;
}

int qt_bpe_init(qt_tok_model *m, qt_vocab *vocab, const qt_bpe_merge *merges, size_t n_merges,
                const qt_bpe_opts *o, const char *name, qt_err *e)
{
    if (n_merges > (1u << 24))
        return qt_fail(e, "%s: too many merges (%zu)", name, n_merges);
    bpe *b = qt_tok_xcalloc(1, sizeof *b);
    if (o->prefix) {
        b->prefix = qt_tok_xstrndup(o->prefix, strlen(o->prefix));
        b->prefix_len = strlen(o->prefix);
    }
    if (o->suffix) {
        b->suffix = qt_tok_xstrndup(o->suffix, strlen(o->suffix));
        b->suffix_len = strlen(o->suffix);
    }
    b->fuse_unk = o->fuse_unk;
    b->byte_fallback = o->byte_fallback;
    b->ignore_merges = o->ignore_merges;
    b->n_merge_slots = 1024;
    while (b->n_merge_slots < 2 * n_merges + 2)
        b->n_merge_slots *= 2;
    b->merges = qt_tok_xcalloc(b->n_merge_slots, sizeof *b->merges);
    b->cache = qt_tok_xcalloc(CACHE_SLOTS, sizeof *b->cache);
    memset(m, 0, sizeof *m);
    m->state = b;
    m->free = bpe_free;
    char *joined = NULL;
    size_t joined_cap = 0;
    for (size_t i = 0; i < n_merges; i++) {
        const qt_bpe_merge *mg = &merges[i];
        int32_t x = qt_vocab_find(vocab, mg->a, mg->a_len);
        int32_t y = qt_vocab_find(vocab, mg->b, mg->b_len);
        if (x < 0 || y < 0) {
            qt_fail(e, "%s: merge %zu (\"%.*s\" \"%.*s\"): \"%.*s\" is not in the vocabulary", name, i + 1,
                    (int)(mg->a_len > 40 ? 40 : mg->a_len), mg->a, (int)(mg->b_len > 40 ? 40 : mg->b_len), mg->b,
                    x < 0 ? (int)(mg->a_len > 40 ? 40 : mg->a_len) : (int)(mg->b_len > 40 ? 40 : mg->b_len),
                    x < 0 ? mg->a : mg->b);
            free(joined);
            bpe_free(m);
            return -1;
        }
        /* the merged token drops the right part's continuation prefix */
        size_t skip = b->prefix_len;
        if (skip > mg->b_len) {
            qt_fail(e, "%s: merge %zu: \"%.*s\" is shorter than the continuing_subword_prefix", name, i + 1,
                    (int)(mg->b_len > 40 ? 40 : mg->b_len), mg->b);
            free(joined);
            bpe_free(m);
            return -1;
        }
        size_t need = mg->a_len + mg->b_len - skip;
        if (need + 1 > joined_cap) {
            joined_cap = need + 64;
            joined = qt_tok_xrealloc(joined, joined_cap);
        }
        memcpy(joined, mg->a, mg->a_len);
        memcpy(joined + mg->a_len, mg->b + skip, mg->b_len - skip);
        int32_t z = qt_vocab_find(vocab, joined, need);
        if (z < 0) {
            qt_fail(e, "%s: merge %zu: the merged token \"%.*s\" is not in the vocabulary", name, i + 1,
                    (int)(need > 40 ? 40 : need), joined);
            free(joined);
            bpe_free(m);
            return -1;
        }
        merge_put(b, x, y, (uint32_t)i, z);
    }
    free(joined);
    m->type = QT_TOK_BPE;
    m->vocab = *vocab;
    qt_vocab_init(vocab);
    m->unk_id = -1;
    /* An unknown token missing from the vocabulary acts as none (HF would
     * fail only when it needs one). */
    if (o->unk_token)
        m->unk_id = qt_vocab_find(&m->vocab, o->unk_token, strlen(o->unk_token));
    m->tokenize = bpe_tokenize;
    return 0;
}
