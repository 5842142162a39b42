/* T5's relative position bias: each (query, key) pair falls in a bucket by
 * the signed distance key - query (exact for small distances, logarithmic
 * up to max_distance, one last bucket beyond), and each head learns a
 * scalar per bucket. table is [num_buckets, heads], the layout of Hugging
 * Face's relative_attention_bias.weight. The bias is [heads, tq, tk], ready
 * for qt_attention_forward's pos_bias. Query i sits at position
 * i + q_offset (a decoder step with a cache passes the cache length). */
#ifndef QT_NN_RELPOS_H
#define QT_NN_RELPOS_H

/* The bucket of relative_position = key_pos - query_pos, as Hugging Face's
 * T5Attention._relative_position_bucket: encoders are bidirectional (half the
 * buckets for keys after the query), decoders are not (keys after the query
 * share bucket 0). */
int qt_t5_relpos_bucket(int relative_position, int bidirectional, int num_buckets,
                        int max_distance);

void qt_t5_relpos_forward(float *bias, const float *table, int heads, int tq, int tk,
                          int q_offset, int bidirectional, int num_buckets, int max_distance);

/* dtable[bucket(i, j), h] += dbias[h, i, j]. */
void qt_t5_relpos_backward(float *dtable, const float *dbias, int heads, int tq, int tk,
                           int q_offset, int bidirectional, int num_buckets, int max_distance);

#endif
