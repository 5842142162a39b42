#include "nn/relpos.h"

#include <math.h>
#include <stddef.h>

int qt_t5_relpos_bucket(int relative_position, int bidirectional, int num_buckets,
                        int max_distance)
{
    int bucket = 0, n = relative_position;
    if (bidirectional) {
        num_buckets /= 2;
        if (n > 0)
            bucket += num_buckets;
        n = n < 0 ? -n : n;
    } else {
        n = n < 0 ? -n : 0; /* keys after the query all land in bucket 0 */
    }
    int max_exact = num_buckets / 2;
    if (n < max_exact)
        return bucket + n;
    /* The reference computes this in float32 (the divisor as a double rounded
     * to float) and truncates; doing the same keeps the bucket edges equal. */
    float ratio = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    int large = max_exact + (int)(ratio * (float)(num_buckets - max_exact));
    if (large > num_buckets - 1)
        large = num_buckets - 1;
    return bucket + large;
}

void qt_t5_relpos_forward(float *bias, const float *table, int heads, int tq, int tk,
                          int q_offset, int bidirectional, int num_buckets, int max_distance)
{
    for (int i = 0; i < tq; i++)
        for (int j = 0; j < tk; j++) {
            int bucket = qt_t5_relpos_bucket(j - (i + q_offset), bidirectional, num_buckets,
                                             max_distance);
            const float *row = table + (size_t)bucket * heads;
            for (int h = 0; h < heads; h++)
                bias[((size_t)h * tq + i) * tk + j] = row[h];
        }
}

void qt_t5_relpos_backward(float *dtable, const float *dbias, int heads, int tq, int tk,
                           int q_offset, int bidirectional, int num_buckets, int max_distance)
{
    for (int i = 0; i < tq; i++)
        for (int j = 0; j < tk; j++) {
            int bucket = qt_t5_relpos_bucket(j - (i + q_offset), bidirectional, num_buckets,
                                             max_distance);
            float *row = dtable + (size_t)bucket * heads;
            for (int h = 0; h < heads; h++)
                row[h] += dbias[((size_t)h * tq + i) * tk + j];
        }
}
