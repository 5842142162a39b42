/* Dev-a splits (split.h). */
#include "train/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

int qt_dev_split_range(int n_articles, const char *split, int *first, int *count, qt_err *e)
{
    int half = n_articles >= 18 ? 9 : n_articles / 2;
    if (!split || !*split || strcmp(split, "all") == 0) {
        *first = 0;
        *count = n_articles;
    } else if (strcmp(split, "a1") == 0) {
        *first = 0;
        *count = half;
    } else if (strcmp(split, "a2") == 0) {
        *first = n_articles - half;
        *count = half;
    } else {
        /* "N-M": articles [N, M) in file order (e.g. part of a1 for training
         * and the rest of it for tuning) */
        int a, b, used = 0;
        if (sscanf(split, "%d-%d%n", &a, &b, &used) != 2 || split[used] || a < 0 || b <= a || b > n_articles)
            return qt_fail(e, "unknown dev split '%s' (expected a1, a2, all or an article range N-M within 0-%d)",
                           split, n_articles);
        *first = a;
        *count = b - a;
    }
    return 0;
}

char *qt_squad_split_json(const char *path, const char *split, qt_err *e)
{
    cJSON *root = qt_json_load_file(path, e);
    if (!root)
        return NULL;
    char *text = NULL;
    const cJSON *data = qt_json_need(root, "data", cJSON_Array, path, "$", e);
    int first, count;
    if (data && qt_dev_split_range(cJSON_GetArraySize(data), split, &first, &count, e) == 0) {
        cJSON *arr = (cJSON *)data;
        for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--)
            if (i < first || i >= first + count)
                cJSON_DeleteItemFromArray(arr, i);
        if (!(text = cJSON_PrintUnformatted(root)))
            qt_fail(e, "%s: out of memory", path);
    }
    cJSON_Delete(root);
    return text;
}

int qt_squad_load_split(const char *path, const char *split, qt_squad *out, qt_err *e)
{
    if (!split || !*split || strcmp(split, "all") == 0)
        return qt_squad_load(path, out, e);
    char *text = qt_squad_split_json(path, split, e);
    if (!text)
        return -1;
    char name[4200];
    snprintf(name, sizeof name, "%s[%s]", path, split);
    int rc = qt_squad_load_buffer(name, text, strlen(text), out, e);
    free(text);
    return rc;
}
