/* Seeded pseudo-random numbers for weight init, dropout and tests:
 * xoshiro256** seeded through splitmix64, so one 64-bit seed gives the same
 * stream on every machine. Not for cryptography. */
#ifndef QT_NN_RNG_H
#define QT_NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct qt_rng {
    uint64_t s[4];
} qt_rng;

void qt_rng_seed(qt_rng *r, uint64_t seed);
uint64_t qt_rng_u64(qt_rng *r);

/* The next 64 bits (qt_rng_u64), inline for per-element loops such as
 * dropout's. */
static inline uint64_t qt_rng_next(qt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
/* Uniform in [0, 1) with 24 random bits (every value is an exact float). */
float qt_rng_uniform(qt_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double qt_rng_uniform_double(qt_rng *r);
/* Uniform integer in [0, n) (n >= 1), without modulo bias. */
uint32_t qt_rng_below(qt_rng *r, uint32_t n);
/* Standard normal (Box-Muller). */
float qt_rng_normal(qt_rng *r);

/* Fills x[0..n) with uniform values in [lo, hi) / normal values (mean, std). */
void qt_rng_fill_uniform(qt_rng *r, float *x, size_t n, float lo, float hi);
void qt_rng_fill_normal(qt_rng *r, float *x, size_t n, float mean, float std);

#endif
