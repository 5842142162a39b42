/* The TUI's configuration file, qt_config_home()/config: one `key = value`
 * per line, `#` starts a comment. Keys (documented in qaterm(1), FILES):
 *
 *   model.FAMILY = DIR    the checkpoint for a family (bert, t5, lstm, mamba
 *                         replace the bundled ones; other names add models;
 *                         "none" leaves a family out)
 *   database = PATH       the session database
 *   data = FILE           the SQuAD file opened instead of the demo passages
 *   player = NAME         the quiz-taker's name in the database
 *   colors = on|off       off: attributes instead of colours
 *   color.N = COLOR       model N's colour (1..8): a name or 0-255
 *   color.human = COLOR   the quiz-taker's colour
 *   glyphs = unicode|ascii
 *
 * Relative paths are taken from the configuration folder; ~/ is $HOME. */
#include "ui/ui.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/paths.h"

static const char *const default_families[] = {"bert", "t5", "lstm", "mamba"};
#define N_DEFAULT_FAMILIES 4

void ui_config_defaults(ui_config *c)
{
    memset(c, 0, sizeof *c);
    c->colors = 1;
    for (int i = 0; i <= UI_MAX_MODELS; i++)
        c->color[i] = -1;
}

const char *ui_config_path(void)
{
    static char buf[4200];
    snprintf(buf, sizeof buf, "%s/config", qt_config_home());
    return buf;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void expand_path(const char *value, char out[4096])
{
    const char *home = getenv("HOME");
    if (strncmp(value, "~/", 2) == 0 && home)
        snprintf(out, 4096, "%s/%s", home, value + 2);
    else if (value[0] == '/' || strcmp(value, "none") == 0)
        ui_strlcpy(out, value, 4096);
    else
        snprintf(out, 4096, "%s/%s", qt_config_home(), value);
}

static int parse_color(const char *v)
{
    static const char *const names[] = {"black", "red", "green", "yellow",
                                        "blue", "magenta", "cyan", "white"};
    for (int i = 0; i < 8; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v && !*end && n >= 0 && n <= 255)
        return (int)n;
    return -2;
}

static int parse_bool(const char *v)
{
    if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return -1;
}

static int set_key(ui_config *c, const char *key, const char *value, const char *where, qt_err *e)
{
    if (strncmp(key, "model.", 6) == 0) {
        const char *fam = key + 6;
        if (!*fam || strlen(fam) >= sizeof c->family[0])
            return qt_fail(e, "%s: bad model family name in '%s'", where, key);
        int i = 0;
        while (i < c->n_families && strcmp(c->family[i], fam) != 0)
            i++;
        if (i == c->n_families) {
            if (c->n_families == UI_MAX_FAMILIES)
                return qt_fail(e, "%s: more than %d model families", where, UI_MAX_FAMILIES);
            c->n_families++;
        }
        ui_strlcpy(c->family[i], fam, sizeof c->family[i]);
        expand_path(value, c->family_dir[i]);
    } else if (strcmp(key, "database") == 0 || strcmp(key, "db") == 0) {
        expand_path(value, c->db);
    } else if (strcmp(key, "data") == 0) {
        expand_path(value, c->data);
    } else if (strcmp(key, "player") == 0) {
        ui_strlcpy(c->player, value, sizeof c->player);
    } else if (strcmp(key, "colors") == 0 || strcmp(key, "colours") == 0) {
        int b = parse_bool(value);
        if (b < 0)
            return qt_fail(e, "%s: colors must be on or off, not '%s'", where, value);
        c->colors = b;
    } else if (strcmp(key, "glyphs") == 0) {
        if (strcmp(value, "ascii") != 0 && strcmp(value, "unicode") != 0)
            return qt_fail(e, "%s: glyphs must be unicode or ascii, not '%s'", where, value);
        c->ascii = strcmp(value, "ascii") == 0;
    } else if (strncmp(key, "color.", 6) == 0 || strncmp(key, "colour.", 7) == 0) {
        const char *which = strchr(key, '.') + 1;
        int slot;
        if (strcmp(which, "human") == 0) {
            slot = UI_HUMAN_COLOR;
        } else {
            char *end;
            long n = strtol(which, &end, 10);
            if (!*which || *end || n < 1 || n > UI_MAX_MODELS)
                return qt_fail(e, "%s: '%s': models are numbered 1 to %d (or 'human')", where, key,
                               UI_MAX_MODELS);
            slot = (int)n - 1;
        }
        int col = parse_color(value);
        if (col < 0)
            return qt_fail(e, "%s: '%s' is not a colour (a name like cyan, or 0-255)", where, value);
        c->color[slot] = col;
    } else {
        return qt_fail(e, "%s: unknown key '%s' (see FILES in qaterm(1))", where, key);
    }
    return 0;
}

int ui_config_load(const char *path, ui_config *c, qt_err *e)
{
    if (!qt_path_is_file(path))
        return 0;
    char *data;
    size_t len;
    if (qt_read_file(path, 1 << 20, &data, &len, e) < 0)
        return -1;
    ui_strlcpy(c->path, path, sizeof c->path);
    int lineno = 0, rc = 0;
    for (char *line = data; line && *line && rc == 0;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            char *eq = strchr(s, '=');
            if (!eq) {
                rc = qt_fail(e, "%s: expected 'key = value', got '%s'", where, s);
            } else {
                *eq = '\0';
                char *key = trim(s), *value = trim(eq + 1);
                if (!*value)
                    rc = qt_fail(e, "%s: '%s' has no value", where, key);
                else
                    rc = set_key(c, key, value, where, e);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return rc;
}

static int add_dir(char dirs[][4096], char family[][32], int n, int max, const char *dir,
                   const char *fam)
{
    if (n >= max || strcmp(dir, "none") == 0)
        return n;
    ui_strlcpy(dirs[n], dir, 4096);
    ui_strlcpy(family[n], fam, 32);
    return n + 1;
}

int ui_config_model_dirs(const ui_config *c, char *const *cli_dirs, int n_cli,
                         char dirs[][4096], char family[][32], int max)
{
    int n = 0;
    if (n_cli > 0) {
        for (int i = 0; i < n_cli; i++)
            n = add_dir(dirs, family, n, max, cli_dirs[i], "");
        return n;
    }
    char found[N_DEFAULT_FAMILIES][4096];
    int n_found = qt_default_model_dirs(found, N_DEFAULT_FAMILIES);
    for (int f = 0; f < N_DEFAULT_FAMILIES; f++) {
        const char *fam = default_families[f];
        int i = 0;
        while (i < c->n_families && strcmp(c->family[i], fam) != 0)
            i++;
        if (i < c->n_families) {
            n = add_dir(dirs, family, n, max, c->family_dir[i], fam);
            continue;
        }
        for (int k = 0; k < n_found; k++) {
            const char *slash = strrchr(found[k], '/');
            if (slash && strcmp(slash + 1, fam) == 0)
                n = add_dir(dirs, family, n, max, found[k], fam);
        }
    }
    for (int i = 0; i < c->n_families; i++) {
        int is_default = 0;
        for (int f = 0; f < N_DEFAULT_FAMILIES; f++)
            is_default |= strcmp(c->family[i], default_families[f]) == 0;
        if (!is_default)
            n = add_dir(dirs, family, n, max, c->family_dir[i], c->family[i]);
    }
    return n;
}
