/* Moving a selection through a scrolled list: the same keys on every
 * screen (arrows, j/k, PgUp/PgDn, Home/End, g/G). */
#include "ui/ui.h"

int ui_list_key(int key, int *sel, int n, int page)
{
    int s = *sel;
    if (page < 1)
        page = 1;
    switch (key) {
    case UI_K(KEY_UP): case 'k': s--; break;
    case UI_K(KEY_DOWN): case 'j': s++; break;
    case UI_K(KEY_PPAGE): s -= page; break;
    case UI_K(KEY_NPAGE): case ' ': s += page; break;
    case UI_K(KEY_HOME): case 'g': s = 0; break;
    case UI_K(KEY_END): case 'G': s = n - 1; break;
    default: return 0;
    }
    if (s >= n)
        s = n - 1;
    if (s < 0)
        s = 0;
    *sel = s;
    return 1;
}

void ui_list_scroll(int *sel, int *top, int n, int h)
{
    if (h < 1)
        h = 1;
    if (*sel >= n)
        *sel = n - 1;
    if (*sel < 0)
        *sel = 0;
    if (*top > *sel)
        *top = *sel;
    if (*sel >= *top + h)
        *top = *sel - h + 1;
    if (*top > n - h)
        *top = n - h;
    if (*top < 0)
        *top = 0;
}

int ui_scroll_key(int key, int *top, int n, int h)
{
    int t = *top;
    switch (key) {
    case UI_K(KEY_UP): case 'k': t--; break;
    case UI_K(KEY_DOWN): case 'j': t++; break;
    case UI_K(KEY_PPAGE): t -= h > 2 ? h - 1 : 1; break;
    case UI_K(KEY_NPAGE): case ' ': t += h > 2 ? h - 1 : 1; break;
    case UI_K(KEY_HOME): case 'g': t = 0; break;
    case UI_K(KEY_END): case 'G': t = n; break;
    default: return 0;
    }
    if (t > n - h)
        t = n - h;
    if (t < 0)
        t = 0;
    *top = t;
    return 1;
}
