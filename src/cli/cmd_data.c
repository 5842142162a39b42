/* qaterm data info FILE | data fetch: SQuAD files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "qa/squad.h"
#include "util/file.h"
#include "util/paths.h"

#define SQUAD_BASE_URL "https://rajpurkar.github.io/SQuAD-explorer/dataset/"

static int data_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: qaterm data info FILE\n");
        return QT_EXIT_USAGE;
    }
    qt_squad s;
    qt_err e = {{0}};
    if (qt_squad_load(argv[1], &s, &e)) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    printf("file          %s\n", argv[1]);
    printf("version       %s\n", s.version[0] ? s.version : "(none)");
    printf("articles      %d\n", s.n_articles);
    printf("paragraphs    %d\n", s.n_paragraphs);
    printf("questions     %d\n", s.n_questions);
    printf("answerable    %d\n", s.n_answerable);
    printf("unanswerable  %d\n", s.n_unanswerable);
    if (s.n_duplicate_ids)
        printf("repeated ids  %d (questions whose id appears earlier in the file)\n", s.n_duplicate_ids);
    qt_squad_free(&s);
    return QT_EXIT_OK;
}

/* Runs curl to fetch url into path; returns 0 on success, else fills e. */
static int download(const char *url, const char *path, qt_err *e)
{
    char errfile[] = "/tmp/qaterm-fetch-XXXXXX";
    int efd = mkstemp(errfile);
    if (efd < 0)
        return qt_fail(e, "cannot create a temporary file: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(efd);
        unlink(errfile);
        return qt_fail(e, "cannot start curl: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(efd, 2);
        execlp("curl", "curl", "--fail", "--location", "--silent", "--show-error", "--connect-timeout", "15",
               "--max-time", "600", "--output", path, url, (char *)NULL);
        fprintf(stderr, "curl: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char msg[512] = "";
    ssize_t n = pread(efd, msg, sizeof msg - 1, 0);
    close(efd);
    unlink(errfile);
    if (n > 0) {
        msg[n] = '\0';
        msg[strcspn(msg, "\n")] = '\0';
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return qt_fail(e, "cannot download %s: curl is not installed (apt-get install curl)", url);
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 6 || WEXITSTATUS(status) == 7 || WEXITSTATUS(status) == 28))
        return qt_fail(e, "cannot download %s: the network is unreachable (offline?): %s", url, msg);
    return qt_fail(e, "cannot download %s: %s", url, msg[0] ? msg : "curl failed");
}

static int data_fetch(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"base-url", required_argument, 0, 'u'},
                                         {"force", no_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/squad", qt_data_home());
    const char *base = SQUAD_BASE_URL;
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            snprintf(dir, sizeof dir, "%s", optarg);
        else if (c == 'u')
            base = optarg;
        else if (c == 'f')
            force = 1;
        else
            return QT_EXIT_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: qaterm data fetch [--dir DIR] [--force]\n");
        return QT_EXIT_USAGE;
    }
    qt_err e = {{0}};
    if (qt_mkdir_p(dir, &e)) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    static const char *files[] = {"train-v2.0.json", "dev-v2.0.json"};
    for (size_t i = 0; i < 2; i++) {
        char url[4200], path[4200], tmp[4300];
        snprintf(url, sizeof url, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(tmp, sizeof tmp, "%s.part", path);
        if (!force && qt_path_is_file(path)) {
            printf("%s: already there (use --force to download again)\n", path);
            continue;
        }
        printf("downloading %s ...\n", url);
        fflush(stdout);
        qt_squad s;
        if (download(url, tmp, &e) || qt_squad_load(tmp, &s, &e)) {
            unlink(tmp);
            qt_err_print(&e);
            return QT_EXIT_FAIL;
        }
        printf("%s: %d articles, %d questions (%d unanswerable)\n", path, s.n_articles, s.n_questions,
               s.n_unanswerable);
        qt_squad_free(&s);
        if (rename(tmp, path) != 0) {
            qt_die_msg("%s: cannot write: %s", path, strerror(errno));
            unlink(tmp);
            return QT_EXIT_FAIL;
        }
    }
    return QT_EXIT_OK;
}

int cmd_data(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "info") == 0)
        return data_info(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "fetch") == 0)
        return data_fetch(argc - 1, argv + 1);
    fprintf(stderr, "usage: qaterm data info FILE | qaterm data fetch [--dir DIR] [--force]\n");
    return QT_EXIT_USAGE;
}
