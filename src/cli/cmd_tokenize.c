/* qaterm tokenize: token ids (and offsets) of every line of standard input,
 * one line out per line in. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "tok/tokenizer.h"

static const char tokenize_usage[] = "usage: qaterm tokenize --tokenizer FILE|DIR [--offsets] [--byte-offsets]\n";

static char *put_int(char *p, long v)
{
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static int tokenize_stream(qt_tokenizer *tok, FILE *in, int offsets, int bytes)
{
    qt_err e = {{0}};
    qt_encoding enc;
    qt_encoding_init(&enc);
    char *line = NULL, *out = NULL;
    size_t line_cap = 0, out_cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = QT_EXIT_OK;
    while ((n = getline(&line, &line_cap, in)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (qt_tokenizer_encode(tok, line, (size_t)n, &enc, &e) != 0) {
            qt_fail_prefix(&e, "tokenize: <stdin> line %ld", lineno);
            qt_err_print(&e);
            rc = QT_EXIT_FAIL;
            break;
        }
        size_t need = enc.n * 40 + 2;
        if (need > out_cap) {
            out_cap = need * 2;
            char *p = realloc(out, out_cap);
            if (!p) {
                fprintf(stderr, "qaterm: tokenize: out of memory\n");
                rc = QT_EXIT_FAIL;
                break;
            }
            out = p;
        }
        char *p = out;
        for (size_t i = 0; i < enc.n; i++) {
            if (i)
                *p++ = ' ';
            p = put_int(p, enc.ids[i]);
            if (offsets) {
                const qt_tok_span *s = bytes ? &enc.bytes[i] : &enc.chars[i];
                *p++ = '@';
                p = put_int(p, s->start);
                *p++ = ':';
                p = put_int(p, s->end);
            }
        }
        *p++ = '\n';
        if (fwrite(out, 1, (size_t)(p - out), stdout) != (size_t)(p - out)) {
            fprintf(stderr, "qaterm: tokenize: cannot write to standard output\n");
            rc = QT_EXIT_FAIL;
            break;
        }
    }
    if (rc == QT_EXIT_OK && ferror(in)) {
        fprintf(stderr, "qaterm: tokenize: error reading standard input\n");
        rc = QT_EXIT_FAIL;
    }
    if (rc == QT_EXIT_OK && fflush(stdout) != 0) {
        fprintf(stderr, "qaterm: tokenize: cannot write to standard output\n");
        rc = QT_EXIT_FAIL;
    }
    free(line);
    free(out);
    qt_encoding_free(&enc);
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"offsets", no_argument, NULL, 'o'},
        {"byte-offsets", no_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int offsets = 0, bytes = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:obh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            path = optarg;
            break;
        case 'o':
            offsets = 1;
            break;
        case 'b':
            offsets = bytes = 1;
            break;
        case 'h':
            fputs(tokenize_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            fprintf(stderr, "qaterm: tokenize: option '%s' needs a value\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            fprintf(stderr, "qaterm: tokenize: unknown option '%s'\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaterm: tokenize: unexpected argument '%s' (the text comes on standard input)\n",
                argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!path) {
        fprintf(stderr, "qaterm: tokenize: --tokenizer FILE|DIR is required\n");
        return QT_EXIT_USAGE;
    }
    qt_err e = {{0}};
    qt_tokenizer *tok;
    if (qt_tokenizer_load(path, &tok, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    int rc = tokenize_stream(tok, stdin, offsets, bytes);
    qt_tokenizer_free(tok);
    return rc;
}
