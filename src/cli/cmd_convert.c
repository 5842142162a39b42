/* qaterm convert: a model directory with its weights stored in another
 * float type (F32, F16 or BF16), e.g. to ship a trained checkpoint at half
 * the size. Every other file of the directory is copied as it is; the
 * safetensors metadata is kept. Only model.safetensors is rewritten
 * (sharded checkpoints are refused). Tensors that are not floats (e.g. a
 * BERT checkpoint's I64 position_ids buffer, which loaders rebuild) are left
 * out, each with a note on stderr. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "nn/safetensors.h"
#include "util/file.h"

static const char convert_usage[] = "usage: qaterm convert --dtype f32|f16|bf16 IN_DIR OUT_DIR\n";

static int copy_file(const char *from, const char *to, qt_err *e)
{
    char *data;
    size_t len;
    if (qt_read_file(from, 0, &data, &len, e) != 0)
        return -1;
    int rc = qt_write_file_atomic(to, data, len, e);
    free(data);
    return rc;
}

static int convert_weights(const char *from, const char *to, qt_dtype dt, qt_err *e)
{
    qt_safetensors *st;
    if (qt_safetensors_open(from, &st, e) != 0)
        return -1;
    size_t n = qt_safetensors_count(st), n_meta = 0;
    qt_st_out *outs = calloc(n ? n : 1, sizeof *outs);
    size_t(*shapes)[8] = calloc(n ? n : 1, sizeof *shapes);
    const cJSON *meta = qt_safetensors_metadata(st);
    const char **kv = calloc(2 * (size_t)(meta ? cJSON_GetArraySize(meta) : 0) + 1, sizeof *kv);
    int rc = -1;
    if (!outs || !kv || !shapes) {
        qt_fail(e, "out of memory");
        goto done;
    }
    for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next)
        if (cJSON_IsString(m)) {
            kv[2 * n_meta] = m->string;
            kv[2 * n_meta + 1] = m->valuestring;
            n_meta++;
        }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        if (!qt_dtype_loadable(t->dtype)) {
            fprintf(stderr, "qaterm convert: left out %s (%s, not a float tensor)\n", t->name,
                    qt_dtype_name(t->dtype));
            continue;
        }
        if (t->ndim > 8) {
            qt_fail(e, "%s: tensor %s has %zu dimensions (8 at most)", from, t->name, t->ndim);
            goto done;
        }
        const float *f = qt_safetensors_f32(st, t, e);
        if (!f)
            goto done;
        outs[k].name = t->name;
        outs[k].dtype = dt;
        outs[k].ndim = t->ndim;
        for (size_t d = 0; d < t->ndim; d++)
            shapes[k][d] = (size_t)t->shape[d];
        outs[k].shape = shapes[k];
        outs[k].data = f;
        k++;
    }
    rc = qt_safetensors_write(to, outs, k, kv, n_meta, e);
done:
    free(outs);
    free(shapes);
    free(kv);
    qt_safetensors_close(st);
    return rc;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dtype", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dtype = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dtype = optarg;
            break;
        case 'h':
            fputs(convert_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            qt_die_msg("convert: option '%s' needs a value", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            qt_die_msg("convert: unknown option '%s'", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (!dtype || argc - optind != 2) {
        fputs(convert_usage, stderr);
        return QT_EXIT_USAGE;
    }
    qt_dtype dt;
    if (strcmp(dtype, "f32") == 0)
        dt = QT_DT_F32;
    else if (strcmp(dtype, "f16") == 0)
        dt = QT_DT_F16;
    else if (strcmp(dtype, "bf16") == 0)
        dt = QT_DT_BF16;
    else {
        qt_die_msg("convert: --dtype %s: expected f32, f16 or bf16", dtype);
        return QT_EXIT_USAGE;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    qt_err e = {{0}};
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/model.safetensors", in);
    struct stat sb;
    if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        qt_die_msg("convert: %s: no model.safetensors (sharded checkpoints are not supported)", in);
        return QT_EXIT_FAIL;
    }
    if (strcmp(in, out) == 0) {
        qt_die_msg("convert: IN_DIR and OUT_DIR must differ");
        return QT_EXIT_USAGE;
    }
    DIR *d = opendir(in);
    if (!d) {
        qt_die_msg("convert: %s: cannot read the directory", in);
        return QT_EXIT_FAIL;
    }
    int rc = qt_mkdir_p(out, &e);
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        snprintf(from, sizeof from, "%s/%s", in, de->d_name);
        snprintf(to, sizeof to, "%s/%s", out, de->d_name);
        if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (strcmp(de->d_name, "model.safetensors") == 0)
            rc = convert_weights(from, to, dt, &e);
        else if (strcmp(de->d_name, "optimizer.safetensors") != 0 && strcmp(de->d_name, "trainer_state.json") != 0)
            rc = copy_file(from, to, &e); /* a training checkpoint's state stays behind */
    }
    closedir(d);
    if (rc != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    return QT_EXIT_OK;
}
