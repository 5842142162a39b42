/* Atomic trainer checkpoints (state.h). */
#include "train/state.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/safetensors.h"
#include "util/file.h"
#include "util/json.h"

/* rm -r of a checkpoint directory (flat: files only). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char p[4608];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int fsync_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int rc = fsync(dirfd(d));
    closedir(d);
    return rc;
}

static int save_moments(const char *dir, const qt_param *params, const char *const *names, int n, qt_err *e)
{
    qt_st_out *outs = calloc(2 * (size_t)n + 1, sizeof *outs);
    char **nm = calloc(2 * (size_t)n + 1, sizeof *nm);
    size_t *shapes = calloc(2 * (size_t)n + 1, sizeof *shapes);
    int rc = -1;
    if (!outs || !nm || !shapes) {
        qt_fail(e, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            size_t j = 2 * (size_t)i + (size_t)k;
            if (asprintf(&nm[j], "%s.%s", k ? "exp_avg_sq" : "exp_avg", names[i]) < 0) {
                nm[j] = NULL;
                qt_fail(e, "out of memory");
                goto done;
            }
            shapes[j] = params[i].n;
            outs[j] = (qt_st_out){nm[j], QT_DT_F32, 1, &shapes[j], k ? params[i].v : params[i].m};
        }
    }
    char path[8400];
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    const char *meta[] = {"qaterm_optimizer", "adamw"};
    rc = qt_safetensors_write(path, outs, 2 * (size_t)n, meta, 1, e);
done:
    for (int i = 0; nm && i < 2 * n; i++)
        free(nm[i]);
    free(nm);
    free(outs);
    free(shapes);
    return rc;
}

static int save_state_json(const char *dir, const qt_train_state *st, qt_err *e)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return qt_fail(e, "out of memory");
    cJSON_AddNumberToObject(j, "step", st->step);
    cJSON_AddNumberToObject(j, "epoch", st->epoch);
    cJSON_AddNumberToObject(j, "batch_in_epoch", st->batch_in_epoch);
    cJSON_AddNumberToObject(j, "total_steps", st->total_steps);
    cJSON_AddNumberToObject(j, "tokens", (double)st->tokens);
    cJSON_AddNumberToObject(j, "seconds", st->seconds);
    cJSON_AddStringToObject(j, "feature_key", st->feature_key);
    cJSON *rng = cJSON_AddArrayToObject(j, "rng");
    for (int i = 0; i < 4; i++) {
        char hex[20];
        snprintf(hex, sizeof hex, "%016" PRIx64, st->rng.s[i]);
        cJSON_AddItemToArray(rng, cJSON_CreateString(hex));
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return qt_fail(e, "out of memory");
    char path[8400];
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    int rc = qt_write_file_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

/* Removes ckpt-* directories older than current beyond the keep newest. */
static void prune(const char *out_dir, int current_step, int keep)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return;
    int steps[4096], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096) {
        int s;
        char tail;
        if (sscanf(de->d_name, "ckpt-%d%c", &s, &tail) == 1 && s != current_step)
            steps[n++] = s;
    }
    closedir(d);
    /* newest first */
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (steps[k] > steps[i]) {
                int t = steps[i];
                steps[i] = steps[k];
                steps[k] = t;
            }
    for (int i = keep; i < n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/ckpt-%08d", out_dir, steps[i]);
        remove_dir(p);
    }
}

int qt_checkpoint_save(const char *out_dir, qt_train_arch *a, const qt_param *params, const char *const *names,
                       int n_params, const qt_train_state *st, int keep, char *dir_out, size_t dir_size,
                       qt_err *e)
{
    char name[64], tmp[4200], dir[4200], link_tmp[4200], link[4200];
    snprintf(name, sizeof name, "ckpt-%08d", st->step);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", out_dir, name);
    snprintf(dir, sizeof dir, "%s/%s", out_dir, name);
    remove_dir(tmp);
    if (mkdir(tmp, 0755) != 0)
        return qt_fail(e, "%s: cannot create: %s", tmp, strerror(errno));
    if (a->save(a, tmp, e) != 0 || save_moments(tmp, params, names, n_params, e) != 0 ||
        save_state_json(tmp, st, e) != 0) {
        remove_dir(tmp);
        return qt_fail_prefix(e, "checkpoint %s", name);
    }
    fsync_dir(tmp);
    remove_dir(dir); /* the same step saved again (e.g. final after a signal) */
    if (rename(tmp, dir) != 0) {
        int err = errno;
        remove_dir(tmp);
        return qt_fail(e, "%s: cannot rename to %s: %s", tmp, dir, strerror(err));
    }
    snprintf(link_tmp, sizeof link_tmp, "%s/checkpoint.tmp", out_dir);
    snprintf(link, sizeof link, "%s/checkpoint", out_dir);
    unlink(link_tmp);
    if (symlink(name, link_tmp) != 0 || rename(link_tmp, link) != 0)
        return qt_fail(e, "%s: cannot point at %s: %s", link, name, strerror(errno));
    fsync_dir(out_dir);
    prune(out_dir, st->step, keep);
    if (dir_out)
        snprintf(dir_out, dir_size, "%s", dir);
    return 0;
}

int qt_checkpoint_exists(const char *out_dir)
{
    char link[4200];
    struct stat sb;
    snprintf(link, sizeof link, "%s/checkpoint", out_dir);
    return lstat(link, &sb) == 0;
}

int qt_checkpoint_read_state(const char *out_dir, qt_train_state *st, char *dir_out, size_t dir_size, qt_err *e)
{
    char link[4200], target[4200], path[8400];
    snprintf(link, sizeof link, "%s/checkpoint", out_dir);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        return qt_fail(e, "%s: no checkpoint to resume from (%s)", link, strerror(errno));
    target[n] = 0;
    if (target[0] == '/')
        snprintf(dir_out, dir_size, "%s", target);
    else
        snprintf(dir_out, dir_size, "%s/%s", out_dir, target);
    snprintf(path, sizeof path, "%s/trainer_state.json", dir_out);
    cJSON *j = qt_json_load_file(path, e);
    if (!j)
        return -1;
    memset(st, 0, sizeof *st);
    const cJSON *v;
    int rc = -1;
    int *ints[] = {&st->step, &st->epoch, &st->batch_in_epoch, &st->total_steps};
    const char *keys[] = {"step", "epoch", "batch_in_epoch", "total_steps"};
    for (int i = 0; i < 4; i++) {
        if (!(v = qt_json_need(j, keys[i], cJSON_Number, path, "$", e)))
            goto done;
        *ints[i] = v->valueint;
    }
    if (!(v = qt_json_need(j, "tokens", cJSON_Number, path, "$", e)))
        goto done;
    st->tokens = (long long)v->valuedouble;
    if (!(v = qt_json_need(j, "seconds", cJSON_Number, path, "$", e)))
        goto done;
    st->seconds = v->valuedouble;
    if (!(v = qt_json_need(j, "feature_key", cJSON_String, path, "$", e)))
        goto done;
    snprintf(st->feature_key, sizeof st->feature_key, "%s", v->valuestring);
    const cJSON *rng = qt_json_need(j, "rng", cJSON_Array, path, "$", e);
    if (!rng)
        goto done;
    if (cJSON_GetArraySize(rng) != 4) {
        qt_fail(e, "%s: at $.rng: expected 4 hex strings", path);
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        const cJSON *s = cJSON_GetArrayItem(rng, i);
        char *end = NULL;
        if (!cJSON_IsString(s) || (st->rng.s[i] = strtoull(s->valuestring, &end, 16), *end != 0)) {
            qt_fail(e, "%s: at $.rng[%d]: expected a hex string", path, i);
            goto done;
        }
    }
    rc = 0;
done:
    cJSON_Delete(j);
    return rc;
}

int qt_checkpoint_read_moments(const char *dir, qt_param *params, const char *const *names, int n_params,
                               qt_err *e)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    qt_safetensors *st;
    if (qt_safetensors_open(path, &st, e) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n_params && rc == 0; i++) {
        for (int k = 0; k < 2 && rc == 0; k++) {
            char name[256];
            snprintf(name, sizeof name, "%s.%s", k ? "exp_avg_sq" : "exp_avg", names[i]);
            const qt_st_tensor *t = qt_safetensors_find(st, name);
            if (!t || t->numel != params[i].n)
                rc = qt_fail(e, "%s: tensor '%s' %s", path, name, t ? "has the wrong size" : "is missing");
            else
                rc = qt_safetensors_read_f32(st, t, k ? params[i].v : params[i].m, e);
        }
    }
    qt_safetensors_close(st);
    return rc;
}
