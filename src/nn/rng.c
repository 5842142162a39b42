#include "nn/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void qt_rng_seed(qt_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t qt_rng_u64(qt_rng *r)
{
    return qt_rng_next(r);
}

float qt_rng_uniform(qt_rng *r)
{
    return (float)(qt_rng_u64(r) >> 40) * 0x1.0p-24f;
}

double qt_rng_uniform_double(qt_rng *r)
{
    return (double)(qt_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint32_t qt_rng_below(qt_rng *r, uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Lemire's multiply-shift with rejection of the biased low range */
    uint64_t m = (qt_rng_u64(r) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (qt_rng_u64(r) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float qt_rng_normal(qt_rng *r)
{
    /* 1 - u keeps the log argument in (0, 1] */
    double u1 = 1.0 - qt_rng_uniform_double(r);
    double u2 = qt_rng_uniform_double(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void qt_rng_fill_uniform(qt_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * qt_rng_uniform(r);
}

void qt_rng_fill_normal(qt_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++)
        x[i] = mean + std * qt_rng_normal(r);
}
