/* Vectorisable float math for src/nn's elementwise loops.
 *
 * libm's expf / tanhf / erff are function calls, so a loop that uses them
 * runs one element at a time (4 to 40 ns each here). These versions are
 * branch-free arithmetic that the compiler turns into SIMD code, about ten
 * times faster, at float accuracy (bounds checked in tests/unit/test_nn.c):
 *   qt_exp      relative error < 3e-7; 0 below -87.3 and for -inf, +inf above 88.72
 *   qt_tanh     absolute error < 3e-7 (from qt_exp)
 *   qt_sigmoid  absolute error < 2e-7
 *   qt_erf      absolute error < 4e-7 (series near 0, Abramowitz & Stegun 7.1.26 beyond)
 *   qt_softplus relative error < 3e-7
 *
 * QT_VECTORIZE marks a function whose loops should be vectorised whatever the
 * build's -O level (plain -O2 vectorises almost nothing with gcc 12) and which
 * is compiled for baseline x86-64, AVX2+FMA and AVX-512, the best picked when
 * the program loads. Elsewhere it is empty and the code is plain C. (Adding
 * "no-math-errno" to the list stops gcc 12 from vectorising these loops.) */
#ifndef QT_NN_VECMATH_H
#define QT_NN_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && \
    defined(__linux__)
#define QT_VECTORIZE                                                       \
    __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic"), \
                   target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define QT_VECTORIZE
#endif

/* e^x: x = k ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial,
 * 2^k put straight into the exponent bits. */
static inline float qt_exp(float x)
{
    const float lo = -87.33654f, hi = 88.72283f;
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    /* adding 1.5 * 2^23 rounds to the nearest integer in float arithmetic */
    const float round_magic = 12582912.0f;
    float k = (xc * 1.44269504088896341f + round_magic) - round_magic;
    k = k > 127.0f ? 127.0f : k; /* keeps 2^k finite; r grows to at most ln2 then */
    k = k == k ? k : 0.0f;       /* NaN: a defined conversion below; NaN still comes out */
    /* ln2 in two parts so that k * ln2_hi is exact */
    float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < lo ? 0.0f : y;
    return x > hi ? INFINITY : y;
}

static inline float qt_sigmoid(float x)
{
    return 1.0f / (1.0f + qt_exp(-x));
}

/* log(1 + e^v) = max(v, 0) + log(1 + u) with u = e^-|v| in (0, 1], and
 * log(1 + u) = 2 atanh(s), s = u / (2 + u) <= 1/3, by its series to s^15.
 * Above 20 it is v in float, as torch's softplus (threshold 20) gives. */
static inline float qt_softplus(float v)
{
    float u = qt_exp(-fabsf(v));
    float s = u / (2.0f + u), s2 = s * s;
    float p = 1.0f / 15;
    p = p * s2 + 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return (v > 0 ? v : 0.0f) + 2.0f * s * p;
}

/* 1 - 2 / (e^2x + 1): saturates cleanly to +-1 */
static inline float qt_tanh(float x)
{
    return 1.0f - 2.0f / (qt_exp(2.0f * x) + 1.0f);
}

static inline float qt_erf(float x)
{
    float ax = fabsf(x);
    /* |x| >= 0.5: 1 - poly(t) e^(-x^2) with t = 1 / (1 + p |x|) */
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float far = 1.0f - p * t * qt_exp(-ax * ax);
    /* |x| < 0.5, where that form cancels: the Maclaurin series
     * 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)), to x^13 */
    float x2 = ax * ax;
    float q = 1.0f / 9360.0f;
    q = q * x2 - 1.0f / 1320.0f;
    q = q * x2 + 1.0f / 216.0f;
    q = q * x2 - 1.0f / 42.0f;
    q = q * x2 + 1.0f / 10.0f;
    q = q * x2 - 1.0f / 3.0f;
    q = q * x2 + 1.0f;
    float near = 1.1283791670955126f * ax * q;
    return copysignf(ax < 0.5f ? near : far, x);
}

/* Reductions with 16 running partials, so that they vectorise (a single
 * float accumulator must be added in order). The order of the additions
 * differs from a plain loop; the results agree to float rounding. */
#define QT_LANES 16

static inline float qt_sum(const float *x, int n)
{
    float acc[QT_LANES] = {0};
    int i = 0;
    for (; i + QT_LANES <= n; i += QT_LANES)
        for (int j = 0; j < QT_LANES; j++)
            acc[j] += x[i + j];
    float s = 0.0f;
    for (int j = 0; j < QT_LANES; j++)
        s += acc[j];
    for (; i < n; i++)
        s += x[i];
    return s;
}

static inline float qt_dot(const float *a, const float *b, int n)
{
    float acc[QT_LANES] = {0};
    int i = 0;
    for (; i + QT_LANES <= n; i += QT_LANES)
        for (int j = 0; j < QT_LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < QT_LANES; j++)
        s += acc[j];
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Largest element (-inf for n = 0). */
static inline float qt_max(const float *x, int n)
{
    float acc[QT_LANES];
    for (int j = 0; j < QT_LANES; j++)
        acc[j] = -INFINITY;
    int i = 0;
    for (; i + QT_LANES <= n; i += QT_LANES)
        for (int j = 0; j < QT_LANES; j++)
            acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    float m = -INFINITY;
    for (int j = 0; j < QT_LANES; j++)
        m = acc[j] > m ? acc[j] : m;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

#endif
