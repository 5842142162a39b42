/* Colours and attributes. With colours, each model has its own (panel
 * title, latency bar, answer span in the passage); on a terminal without
 * colours (vt100) or with `colors = off`, attributes tell them apart:
 * reverse, underline, bold and their combinations. */
#include "ui/ui.h"

#include <langinfo.h>
#include <string.h>

static int have_color;
static attr_t role_attr[UI_R_COUNT];
static attr_t model_title[UI_MAX_MODELS + 1];
static attr_t model_span[UI_MAX_MODELS + 1];

static const char *const spin_unicode[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
static const char *const spin_ascii[] = {"|", "/", "-", "\\"};

static ui_glyphs glyphs_unicode = {"█", "░", "…", "●", "✓", "✗", "▲", "▼", "─", "│", {"┌", "┐", "└", "┘"},
                                   spin_unicode, 10};
static ui_glyphs glyphs_ascii = {"#", ".", "~", "*", "+", "x", "^", "v", "-", "|", {"+", "+", "+", "+"}, spin_ascii, 4};
static const ui_glyphs *glyphs = &glyphs_ascii;

/* Default model colours: cyan, magenta, yellow, green, then the rest. */
static const short default_colors[UI_MAX_MODELS] = {
    COLOR_CYAN, COLOR_MAGENTA, COLOR_YELLOW, COLOR_GREEN,
    COLOR_BLUE, COLOR_RED, COLOR_WHITE, COLOR_CYAN,
};

/* Without colours: what sets each model's span apart. */
static const attr_t mono_span[UI_MAX_MODELS + 1] = {
    A_REVERSE, A_UNDERLINE, A_BOLD, A_BOLD | A_UNDERLINE,
    A_REVERSE | A_UNDERLINE, A_REVERSE | A_BOLD, A_UNDERLINE, A_BOLD,
    A_REVERSE | A_BOLD | A_UNDERLINE, /* the quiz-taker */
};

static short next_pair = 1;

static attr_t pair_attr(short fg, short bg, attr_t extra)
{
    short p = next_pair++;
    if (p >= COLOR_PAIRS)
        return extra;
    init_pair(p, fg, bg);
    return COLOR_PAIR(p) | extra;
}

static short readable_fg(short bg)
{
    int dark = bg == COLOR_BLACK || bg == COLOR_BLUE || bg == COLOR_RED || (bg >= 232 && bg <= 243);
    return dark ? COLOR_WHITE : COLOR_BLACK;
}

void ui_theme_init(const ui_config *cfg)
{
    const char *cs = nl_langinfo(CODESET);
    int utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    glyphs = (utf8 && !(cfg && cfg->ascii)) ? &glyphs_unicode : &glyphs_ascii;

    have_color = has_colors() && (!cfg || cfg->colors) && start_color() == OK && COLORS >= 8;
    next_pair = 1;
    if (!have_color) {
        for (int r = 0; r < UI_R_COUNT; r++)
            role_attr[r] = A_NORMAL;
        role_attr[UI_R_HEADER] = A_REVERSE;
        role_attr[UI_R_FOOTER] = A_REVERSE;
        role_attr[UI_R_FOOTER_KEY] = A_REVERSE | A_BOLD;
        role_attr[UI_R_SELECT] = A_REVERSE;
        role_attr[UI_R_DIM] = A_DIM;
        role_attr[UI_R_TITLE] = A_BOLD;
        role_attr[UI_R_ERROR] = A_BOLD;
        role_attr[UI_R_GOOD] = A_REVERSE;
        role_attr[UI_R_BAD] = A_BOLD;
        role_attr[UI_R_GOLD] = A_BOLD;
        role_attr[UI_R_INPUT] = A_UNDERLINE;
        role_attr[UI_R_MATCH] = A_BOLD | A_UNDERLINE;
        for (int m = 0; m <= UI_MAX_MODELS; m++) {
            model_title[m] = A_BOLD; /* plain, so the span sample beside it shows */
            model_span[m] = mono_span[m];
        }
        return;
    }
    use_default_colors();
    int rich = COLORS >= 256;
    role_attr[UI_R_NORMAL] = A_NORMAL;
    role_attr[UI_R_HEADER] = pair_attr(COLOR_WHITE, COLOR_BLUE, A_BOLD);
    role_attr[UI_R_FOOTER] = pair_attr(COLOR_WHITE, COLOR_BLUE, 0);
    role_attr[UI_R_FOOTER_KEY] = pair_attr(COLOR_YELLOW, COLOR_BLUE, A_BOLD);
    role_attr[UI_R_SELECT] = pair_attr(COLOR_BLACK, COLOR_WHITE, 0);
    role_attr[UI_R_DIM] = rich ? pair_attr(245, -1, 0) : A_DIM;
    role_attr[UI_R_TITLE] = A_BOLD;
    role_attr[UI_R_ERROR] = pair_attr(COLOR_RED, -1, A_BOLD);
    role_attr[UI_R_GOOD] = pair_attr(COLOR_BLACK, COLOR_GREEN, A_BOLD);
    role_attr[UI_R_BAD] = pair_attr(COLOR_WHITE, COLOR_RED, A_BOLD);
    role_attr[UI_R_GOLD] = pair_attr(COLOR_YELLOW, -1, A_BOLD);
    role_attr[UI_R_INPUT] = rich ? pair_attr(15, 236, 0) : A_UNDERLINE;
    role_attr[UI_R_MATCH] = pair_attr(COLOR_YELLOW, -1, A_BOLD | A_UNDERLINE);
    for (int m = 0; m <= UI_MAX_MODELS; m++) {
        int want = cfg ? cfg->color[m] : -1;
        short c = m == UI_HUMAN_COLOR ? COLOR_BLUE : default_colors[m];
        if (want >= 0 && want < COLORS)
            c = (short)want;
        model_title[m] = pair_attr(readable_fg(c), c, A_BOLD);
        model_span[m] = pair_attr(readable_fg(c), c, 0);
    }
}

attr_t ui_attr(ui_role role)
{
    return role_attr[role];
}

attr_t ui_model_attr(int slot)
{
    if (slot < 0 || slot > UI_MAX_MODELS)
        slot = 0;
    return model_title[slot];
}

attr_t ui_model_span_attr(int slot)
{
    if (slot < 0 || slot > UI_MAX_MODELS)
        slot = 0;
    return model_span[slot];
}

const ui_glyphs *ui_glyph(void)
{
    return glyphs;
}

int ui_theme_has_color(void)
{
    return have_color;
}
