/* Token text <-> id: an array of entries, an open-addressing hash table
 * over them, and an id -> text index. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

/* Ids beyond this are refused: no real vocabulary comes near, and a
 * hostile file must not make us allocate gigabytes. */
#define QT_VOCAB_MAX_ID (1 << 24)

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void qt_vocab_init(qt_vocab *v)
{
    memset(v, 0, sizeof *v);
}

void qt_vocab_free(qt_vocab *v)
{
    for (uint32_t i = 0; i < v->n_entries; i++)
        free(v->entries[i].text);
    free(v->entries);
    free(v->tokens);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* The slot holding tok, or the empty slot where it would go. */
static uint32_t find_slot(const qt_vocab *v, const char *tok, size_t len)
{
    uint32_t mask = v->n_slots - 1;
    uint32_t h = hash_bytes(tok, len) & mask;
    for (;;) {
        uint32_t k = v->slots[h];
        if (!k)
            return h;
        const qt_vocab_entry *en = &v->entries[k - 1];
        if (en->len == len && memcmp(en->text, tok, len) == 0)
            return h;
        h = (h + 1) & mask;
    }
}

static void rehash(qt_vocab *v, uint32_t n_slots)
{
    free(v->slots);
    v->slots = qt_tok_xcalloc(n_slots, sizeof *v->slots);
    v->n_slots = n_slots;
    for (uint32_t i = 0; i < v->n_entries; i++) {
        uint32_t h = find_slot(v, v->entries[i].text, v->entries[i].len);
        v->slots[h] = i + 1;
    }
}

int qt_vocab_add(qt_vocab *v, const char *tok, size_t len, int32_t id, qt_err *e)
{
    if (id < 0 || id >= QT_VOCAB_MAX_ID)
        return qt_fail(e, "token id %ld out of range (0..%d)", (long)id, QT_VOCAB_MAX_ID - 1);
    if (len > UINT32_MAX / 2)
        return qt_fail(e, "token with id %ld is too long", (long)id);
    if (id >= v->n_ids) {
        int32_t n = v->n_ids ? v->n_ids : 256;
        while (n <= id)
            n *= 2;
        v->tokens = qt_tok_xrealloc(v->tokens, (size_t)n * sizeof *v->tokens);
        memset(v->tokens + v->n_ids, 0, (size_t)(n - v->n_ids) * sizeof *v->tokens);
        v->n_ids = n;
    }
    if ((v->n_entries + 1) * 2 > v->n_slots)
        rehash(v, v->n_slots ? v->n_slots * 2 : 1024);
    uint32_t slot = find_slot(v, tok, len);
    qt_vocab_entry *en;
    if (v->slots[slot]) {
        en = &v->entries[v->slots[slot] - 1];
        en->id = id;
    } else {
        if (v->n_entries == v->cap_entries) {
            v->cap_entries = v->cap_entries ? v->cap_entries * 2 : 1024;
            v->entries = qt_tok_xrealloc(v->entries, v->cap_entries * sizeof *v->entries);
        }
        en = &v->entries[v->n_entries];
        en->text = qt_tok_xstrndup(tok, len);
        en->len = (uint32_t)len;
        en->id = id;
        v->slots[slot] = ++v->n_entries;
    }
    v->tokens[id] = en->text;
    return 0;
}

int32_t qt_vocab_find(const qt_vocab *v, const char *tok, size_t len)
{
    if (!v->n_slots)
        return -1;
    uint32_t k = v->slots[find_slot(v, tok, len)];
    return k ? v->entries[k - 1].id : -1;
}

const char *qt_vocab_token(const qt_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n_ids ? v->tokens[id] : NULL;
}
