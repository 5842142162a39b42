/* UTF-8 text measured in terminal columns: decoding, wrapping and clipped
 * drawing. Widths come from wcwidth (the locale is UTF-8), so accents,
 * combining marks, CJK and emoji line up with what the terminal shows. */
#include "ui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

size_t ui_utf8_decode(const char *str, size_t len, size_t i, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (i + n > len) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return n;
}

size_t ui_utf8_encode(uint32_t cp, char *buf)
{
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (unsigned char)(0xf0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

int ui_cp_width(uint32_t cp)
{
    if (cp < 0x7f)
        return 1; /* ASCII, controls drawn as one replacement cell */
    if (is_control(cp))
        return 1;
    int w = wcwidth((wchar_t)cp);
    if (w < 0)
        return 1; /* unassigned or unprintable: one replacement cell */
    return w > 2 ? 2 : w;
}

int ui_text_width(const char *s, size_t len)
{
    int w = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += ui_utf8_decode(s, len, i, &cp);
        w += ui_cp_width(cp);
    }
    return w;
}

size_t ui_text_fit(const char *s, size_t len, int maxw, int *width_out)
{
    int w = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = ui_utf8_decode(s, len, i, &cp);
        int cw = ui_cp_width(cp);
        if (w + cw > maxw)
            break;
        w += cw;
        i += n;
    }
    if (width_out)
        *width_out = w;
    return i;
}

int ui_wrap(const char *s, size_t len, int width, ui_span **lines)
{
    int cap = 16, n = 0;
    ui_span *out = malloc(cap * sizeof *out);
    if (!out)
        return -1;
    if (width < 1)
        width = 1;
    size_t i = 0;
    while (i < len) {
        size_t start = i, j = i, end = len, next = len;
        size_t brk_end = 0, brk_next = 0; /* last place to break: line end, next start */
        int have_brk = 0, w = 0;
        while (j < len) {
            uint32_t cp;
            size_t nb = ui_utf8_decode(s, len, j, &cp);
            if (cp == '\n') {
                end = j, next = j + nb;
                goto emit;
            }
            int cw = ui_cp_width(cp);
            if (w + cw > width) {
                if (have_brk) {
                    end = brk_end, next = brk_next;
                } else if (j == start) { /* one character wider than the line */
                    end = next = j + nb;
                } else {
                    end = next = j;
                }
                /* a break at a space swallows the spaces that follow it */
                while (next < len && s[next] == ' ')
                    next++;
                goto emit;
            }
            w += cw;
            if (cp == ' ' || cp == '\t') {
                brk_end = j, brk_next = j + nb, have_brk = 1;
            } else if (cw == 2 || cp == '-' || cp == '/') {
                brk_end = brk_next = j + nb, have_brk = 1;
            }
            j += nb;
        }
        end = next = len;
    emit:
        if (n == cap) {
            cap *= 2;
            ui_span *grown = realloc(out, cap * sizeof *out);
            if (!grown) {
                free(out);
                return -1;
            }
            out = grown;
        }
        out[n].start = start;
        out[n].end = end;
        n++;
        i = next;
    }
    *lines = out;
    return n;
}

static void split_attr(attr_t attr, attr_t *plain, short *pair)
{
    *pair = (short)PAIR_NUMBER(attr);
    *plain = attr & ~A_COLOR;
}

void ui_put_cp(WINDOW *w, uint32_t cp, attr_t attr)
{
    if (is_control(cp))
        cp = cp == '\t' ? ' ' : 0xfffd;
    if (cp >= 0x7f && wcwidth((wchar_t)cp) < 0)
        cp = 0xfffd;
    wchar_t wc[2] = {(wchar_t)cp, 0};
    cchar_t cc;
    attr_t plain;
    short pair;
    split_attr(attr, &plain, &pair);
    if (setcchar(&cc, wc, plain, pair, NULL) == OK)
        wadd_wch(w, &cc);
}

int ui_put(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, attr_t attr)
{
    if (maxw <= 0)
        return 0;
    wmove(w, y, x);
    int used = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t nb = ui_utf8_decode(s, len, i, &cp);
        int cw = ui_cp_width(cp);
        if (cp == '\n')
            cp = ' ';
        if (used + cw > maxw)
            break;
        if (cw == 0 && used == 0) { /* a combining mark with nothing to sit on */
            i += nb;
            continue;
        }
        ui_put_cp(w, cp, attr);
        used += cw;
        i += nb;
    }
    return used;
}

int ui_puts(WINDOW *w, int y, int x, const char *s, int maxw, attr_t attr)
{
    return ui_put(w, y, x, s, strlen(s), maxw, attr);
}

int ui_puts_ellipsis(WINDOW *w, int y, int x, const char *s, int maxw, attr_t attr)
{
    size_t len = strlen(s);
    if (maxw <= 0)
        return 0;
    if (ui_text_width(s, len) <= maxw)
        return ui_put(w, y, x, s, len, maxw, attr);
    const char *ell = ui_glyph()->ellipsis;
    int ew = ui_text_width(ell, strlen(ell));
    int fw;
    size_t fit = ui_text_fit(s, len, maxw - ew, &fw);
    int used = ui_put(w, y, x, s, fit, maxw - ew, attr);
    used += ui_put(w, y, x + used, ell, strlen(ell), ew, attr);
    return used;
}

int ui_printf(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ui_put(w, y, x, buf, strlen(buf), maxw, attr);
}

void ui_hline(WINDOW *w, int y, int x, int n, attr_t attr)
{
    const char *g = ui_glyph()->hline;
    for (int i = 0; i < n; i++)
        ui_put(w, y, x + i, g, strlen(g), 1, attr);
}

void ui_vline(WINDOW *w, int y, int x, int n, attr_t attr)
{
    const char *g = ui_glyph()->vline;
    for (int i = 0; i < n; i++)
        ui_put(w, y + i, x, g, strlen(g), 1, attr);
}

void ui_box(WINDOW *w, int y, int x, int h, int width, attr_t attr)
{
    const ui_glyphs *g = ui_glyph();
    ui_hline(w, y, x + 1, width - 2, attr);
    ui_hline(w, y + h - 1, x + 1, width - 2, attr);
    ui_vline(w, y + 1, x, h - 2, attr);
    ui_vline(w, y + 1, x + width - 1, h - 2, attr);
    ui_puts(w, y, x, g->corner[0], 1, attr);
    ui_puts(w, y, x + width - 1, g->corner[1], 1, attr);
    ui_puts(w, y + h - 1, x, g->corner[2], 1, attr);
    ui_puts(w, y + h - 1, x + width - 1, g->corner[3], 1, attr);
}

void ui_fill(WINDOW *w, int y, int x, int n, attr_t attr)
{
    if (n <= 0)
        return;
    wattrset(w, attr);
    mvwhline(w, y, x, ' ', n);
    wattrset(w, A_NORMAL);
}

void ui_strlcpy(char *dst, const char *src, size_t n)
{
    if (n == 0)
        return;
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

const char *ui_strcasestr(const char *hay, const char *needle)
{
    return strcasestr(hay, needle);
}

/* ---- a list of wrapped lines (history details, help) ---- */

void ui_doc_clear(ui_doc *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->lines[i].text);
    free(d->lines);
    memset(d, 0, sizeof *d);
}

static void doc_push(ui_doc *d, const char *s, size_t len, int role, int color, int color_cols)
{
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        ui_doc_line *grown = realloc(d->lines, cap * sizeof *grown);
        if (!grown)
            return;
        d->lines = grown;
        d->cap = cap;
    }
    char *t = malloc(len + 1);
    if (!t)
        return;
    memcpy(t, s, len);
    t[len] = '\0';
    d->lines[d->n++] = (ui_doc_line){t, role, color, color_cols};
}

void ui_doc_add(ui_doc *d, int width, int indent, int role, int color, int color_cols,
                const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if (len == 0) {
        doc_push(d, "", 0, role, -1, 0);
        free(text);
        return;
    }
    if (indent >= width / 2)
        indent = 0;
    ui_span *lines;
    int n = ui_wrap(text, len, width, &lines);
    if (n > 0 && n != 1 && indent > 0) {
        /* rewrap what follows the first line at the narrower width */
        doc_push(d, text + lines[0].start, lines[0].end - lines[0].start, role, color, color_cols);
        size_t rest = lines[1].start;
        free(lines);
        n = ui_wrap(text + rest, len - rest, width - indent, &lines);
        for (int i = 0; i < n; i++) {
            char buf[4096];
            size_t l = lines[i].end - lines[i].start;
            if (l > sizeof buf - (size_t)indent - 1)
                l = sizeof buf - (size_t)indent - 1;
            memset(buf, ' ', indent);
            memcpy(buf + indent, text + rest + lines[i].start, l);
            doc_push(d, buf, indent + l, role, -1, 0);
        }
    } else {
        for (int i = 0; i < n; i++)
            doc_push(d, text + lines[i].start, lines[i].end - lines[i].start, role,
                     i == 0 ? color : -1, color_cols);
    }
    if (n >= 0)
        free(lines);
    free(text);
}

void ui_doc_draw(const ui_doc *d, WINDOW *w, int y, int x, int h, int width, int top)
{
    for (int r = 0; r < h && top + r < d->n; r++) {
        const ui_doc_line *l = &d->lines[top + r];
        attr_t base = ui_attr((ui_role)l->role);
        if (l->color >= 0 && l->color_cols > 0) {
            size_t len = strlen(l->text);
            int cw;
            size_t fit = ui_text_fit(l->text, len, l->color_cols, &cw);
            int used = ui_put(w, y + r, x, l->text, fit, width, ui_model_attr(l->color));
            ui_put(w, y + r, x + used, l->text + fit, len - fit, width - used, base);
        } else {
            ui_puts(w, y + r, x, l->text, width, base);
        }
    }
}
