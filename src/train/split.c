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
        return qt_fail(e, "unknown dev split '%s' (expected a1, a2 or all)", split);
    }
    return 0;
}

int qt_squad_load_split(const char *path, const char *split, qt_squad *out, qt_err *e)
{
    if (!split || !*split || strcmp(split, "all") == 0)
        return qt_squad_load(path, out, e);
    cJSON *root = qt_json_load_file(path, e);
    if (!root)
        return -1;
    const cJSON *data = qt_json_need(root, "data", cJSON_Array, path, "$", e);
    int first, count, rc = -1;
    if (!data || qt_dev_split_range(cJSON_GetArraySize(data), split, &first, &count, e) < 0)
        goto done;
    cJSON *arr = (cJSON *)data;
    int n = cJSON_GetArraySize(arr);
    for (int i = n - 1; i >= 0; i--)
        if (i < first || i >= first + count)
            cJSON_DeleteItemFromArray(arr, i);
    char *text = cJSON_PrintUnformatted(root);
    if (!text) {
        qt_fail(e, "%s: out of memory", path);
        goto done;
    }
    char name[4200];
    snprintf(name, sizeof name, "%s[%s]", path, split);
    rc = qt_squad_load_buffer(name, text, strlen(text), out, e);
    free(text);
done:
    cJSON_Delete(root);
    return rc;
}
