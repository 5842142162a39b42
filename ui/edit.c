/* A one-line text field with the usual editing keys: arrows, Home/End,
 * Backspace/Delete and the readline controls Ctrl-A/E/K/U/W. */
#include "ui/ui.h"

#include <stdlib.h>
#include <string.h>

static int reserve(ui_edit *e, size_t extra)
{
    if (e->len + extra + 1 <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : 64;
    while (cap < e->len + extra + 1)
        cap *= 2;
    char *grown = realloc(e->buf, cap);
    if (!grown)
        return -1;
    if (!e->buf)
        grown[0] = '\0';
    e->buf = grown;
    e->cap = cap;
    return 0;
}

void ui_edit_free(ui_edit *e)
{
    free(e->buf);
    memset(e, 0, sizeof *e);
}

void ui_edit_set(ui_edit *e, const char *text)
{
    size_t n = strlen(text);
    e->len = 0;
    if (reserve(e, n) < 0)
        return;
    memcpy(e->buf, text, n + 1);
    e->len = e->cur = n;
}

void ui_edit_clear(ui_edit *e)
{
    ui_edit_set(e, "");
}

void ui_edit_insert(ui_edit *e, const char *s, size_t n)
{
    if (reserve(e, n) < 0)
        return;
    memmove(e->buf + e->cur + n, e->buf + e->cur, e->len - e->cur + 1);
    memcpy(e->buf + e->cur, s, n);
    e->len += n;
    e->cur += n;
}

static void delete_range(ui_edit *e, size_t a, size_t b)
{
    if (!e->buf || a >= b)
        return;
    memmove(e->buf + a, e->buf + b, e->len - b + 1);
    e->len -= b - a;
    if (e->cur >= b)
        e->cur -= b - a;
    else if (e->cur > a)
        e->cur = a;
}

static size_t prev_char(const ui_edit *e, size_t i)
{
    if (i == 0)
        return 0;
    i--;
    while (i > 0 && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
        i--;
    return i;
}

static size_t next_char(const ui_edit *e, size_t i)
{
    if (i >= e->len)
        return e->len;
    uint32_t cp;
    return i + ui_utf8_decode(e->buf, e->len, i, &cp);
}

int ui_edit_key(ui_edit *e, int key)
{
    if (!e->buf)
        ui_edit_clear(e);
    switch (key) {
    case UI_K(KEY_LEFT):
        e->cur = prev_char(e, e->cur);
        return 1;
    case UI_K(KEY_RIGHT):
        e->cur = next_char(e, e->cur);
        return 1;
    case UI_K(KEY_HOME):
    case UI_CTRL('a'):
        e->cur = 0;
        return 1;
    case UI_K(KEY_END):
    case UI_CTRL('e'):
        e->cur = e->len;
        return 1;
    case UI_K(KEY_BACKSPACE):
    case 127:
    case UI_CTRL('h'):
        delete_range(e, prev_char(e, e->cur), e->cur);
        return 1;
    case UI_K(KEY_DC):
        delete_range(e, e->cur, next_char(e, e->cur));
        return 1;
    case UI_CTRL('k'):
        delete_range(e, e->cur, e->len);
        return 1;
    case UI_CTRL('u'):
        delete_range(e, 0, e->cur);
        return 1;
    case UI_CTRL('w'): {
        size_t i = e->cur;
        while (i > 0 && e->buf[i - 1] == ' ')
            i--;
        while (i > 0 && e->buf[i - 1] != ' ')
            i--;
        delete_range(e, i, e->cur);
        return 1;
    }
    default:
        break;
    }
    if (key >= 0x20 && key != 127 && key <= 0x10ffff) {
        char b[4];
        ui_edit_insert(e, b, ui_utf8_encode((uint32_t)key, b));
        return 1;
    }
    if (key == '\t') {
        ui_edit_insert(e, " ", 1);
        return 1;
    }
    return 0;
}

int ui_edit_draw(const ui_edit *e, WINDOW *w, int y, int x, int width, attr_t attr)
{
    ui_fill(w, y, x, width, attr);
    if (!e->buf || width < 2)
        return x;
    /* scroll so the cursor shows, keeping one cell for it at the end */
    size_t start = 0;
    while (ui_text_width(e->buf + start, e->cur - start) > width - 1)
        start = next_char(e, start);
    int cursor = ui_text_width(e->buf + start, e->cur - start);
    ui_put(w, y, x, e->buf + start, e->len - start, width, attr);
    return x + cursor;
}
