/* qaterm doctor: what this machine gives qaterm, in one screen. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <ncurses.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <utf8proc.h>

#include "cli/commands.h"
#include "nn/blas_setup.h"
#include "util/paths.h"

extern char *openblas_get_config(void);

static void print_path(const char *label, const char *path)
{
    printf("  %-14s %s\n", label, path ? path : "(not found)");
}

static void print_squad_files(const char *dir)
{
    static const char *names[] = {"train-v1.1.json", "dev-v2.0-a.json", "train-v2.0.json", "dev-v2.0.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (qt_path_is_file(p))
            printf("  %-14s %s\n", "", p);
    }
}

static void print_models(const char *assets)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models", assets);
    DIR *d = opendir(dir);
    if (!d) {
        print_path("models", NULL);
        return;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char cfg[4608];
        snprintf(cfg, sizeof cfg, "%s/%s/config.json", dir, de->d_name);
        if (qt_path_is_file(cfg)) {
            printf("  %-14s %s/%s\n", n ? "" : "models", dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    if (!n)
        printf("  %-14s %s (no model folders yet)\n", "models", dir);
}

int cmd_doctor(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "qaterm: doctor takes no arguments\n");
        return QT_EXIT_USAGE;
    }
    printf("BLAS\n");
    printf("  %-14s OpenBLAS %s\n", "library", openblas_get_config());
    printf("  %-14s %s (%s)\n", "core", qt_blas_core(), qt_blas_choice());
    printf("  %-14s %d\n", "threads", qt_blas_threads());
    if (strcmp(qt_blas_choice(), "user") == 0 && strstr(qt_cpu_features(), "avx512f") &&
        strcasecmp(qt_blas_core(), "SkylakeX") != 0 && strcasecmp(qt_blas_core(), "Cooperlake") != 0 &&
        strcasecmp(qt_blas_core(), "SapphireRapids") != 0)
        printf("  %-14s OPENBLAS_CORETYPE is set in the environment; this CPU has AVX-512, so\n"
               "  %-14s unsetting it lets qaterm pick a faster kernel\n", "note", "");
    double err = qt_blas_check_sgemm(64, 48, 80);
    printf("  %-14s %s (max relative error %.2g against a plain loop)\n", "sgemm check",
           err < 1e-4 ? "ok" : "WRONG", err);
    fflush(stdout);
    printf("  %-14s %.1f GFLOPS (1024x1024x1024, best of 5)\n", "sgemm speed", qt_blas_sgemm_gflops(1024, 5));
    printf("CPU\n  %-14s %ld\n  %-14s %s\n", "cores", sysconf(_SC_NPROCESSORS_ONLN), "features",
           qt_cpu_features());
    printf("Libraries\n");
    printf("  %-14s %s\n", "ncurses", curses_version());
    printf("  %-14s %s\n", "sqlite", sqlite3_libversion());
    printf("  %-14s %s\n", "cJSON", cJSON_Version());
    printf("  %-14s %s\n", "utf8proc", utf8proc_version());
    printf("Paths\n");
    print_path("data home", qt_data_home());
    print_path("database", qt_default_db_path());
    const char *assets = qt_assets_dir();
    print_path("assets", assets);
    print_path("demo", qt_demo_path());
    const char *squad = qt_squad_dir();
    print_path("squad", squad);
    if (squad)
        print_squad_files(squad);
    if (assets)
        print_models(assets);
    return err < 1e-4 ? QT_EXIT_OK : QT_EXIT_FAIL;
}
