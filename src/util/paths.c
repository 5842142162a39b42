#include "util/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef QATERM_DATADIR
#define QATERM_DATADIR "/usr/local/share/qaterm"
#endif
#ifndef QATERM_SRCDIR
#define QATERM_SRCDIR "."
#endif

int qt_path_is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int qt_path_is_file(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *xdg_dir(char *buf, size_t n, const char *env, const char *fallback)
{
    const char *x = getenv(env);
    if (x && x[0] == '/') {
        snprintf(buf, n, "%s/qaterm", x);
    } else {
        const char *home = getenv("HOME");
        snprintf(buf, n, "%s/%s/qaterm", home && *home ? home : "/tmp", fallback);
    }
    return buf;
}

const char *qt_data_home(void)
{
    static char buf[PATH_MAX];
    return xdg_dir(buf, sizeof buf, "XDG_DATA_HOME", ".local/share");
}

const char *qt_config_home(void)
{
    static char buf[PATH_MAX];
    return xdg_dir(buf, sizeof buf, "XDG_CONFIG_HOME", ".config");
}

const char *qt_default_db_path(void)
{
    static char buf[PATH_MAX + 16];
    snprintf(buf, sizeof buf, "%s/history.db", qt_data_home());
    return buf;
}

static int exe_dir(char *buf, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len <= 0)
        return -1;
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

const char *qt_assets_dir(void)
{
    static char buf[PATH_MAX + 32];
    const char *env = getenv("QATERM_ASSETS");
    if (env && *env)
        return qt_path_is_dir(env) ? env : NULL;
    char dir[PATH_MAX];
    if (exe_dir(dir, sizeof dir) == 0) {
        snprintf(buf, sizeof buf, "%s/assets", dir);
        if (qt_path_is_dir(buf))
            return buf;
    }
    snprintf(buf, sizeof buf, "%s/assets", QATERM_DATADIR);
    if (qt_path_is_dir(buf))
        return buf;
    snprintf(buf, sizeof buf, "%s/assets", QATERM_SRCDIR);
    if (qt_path_is_dir(buf))
        return buf;
    return NULL;
}

const char *qt_demo_path(void)
{
    static char buf[PATH_MAX + 64];
    const char *a = qt_assets_dir();
    if (!a)
        return NULL;
    snprintf(buf, sizeof buf, "%s/demo/demo.json", a);
    return qt_path_is_file(buf) ? buf : NULL;
}

const char *qt_squad_dir(void)
{
    static char buf[PATH_MAX + 32];
    const char *env = getenv("QATERM_SQUAD_DIR");
    if (env && *env)
        return qt_path_is_dir(env) ? env : NULL;
    snprintf(buf, sizeof buf, "%s/squad", qt_data_home());
    if (qt_path_is_dir(buf))
        return buf;
    snprintf(buf, sizeof buf, "%s/../shared/squad", QATERM_SRCDIR);
    if (qt_path_is_dir(buf))
        return buf;
    return NULL;
}
