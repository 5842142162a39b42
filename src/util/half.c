#include "util/half.h"

#include <string.h>

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float qt_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    if (exp == 0x1F) /* inf, or NaN with its payload kept */
        return bits_float(sign | 0x7F800000u | (mant << 13));
    if (exp != 0)
        return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
    if (mant == 0)
        return bits_float(sign);
    /* Subnormal half: every one is a normal float; shift the leading 1 out. */
    int e = -14;
    while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
    }
    return bits_float(sign | ((uint32_t)(e + 127) << 23) | ((mant & 0x3FF) << 13));
}

uint16_t qt_f32_to_f16(float f)
{
    uint32_t x = float_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t abs = x & 0x7FFFFFFFu;
    uint32_t exp = abs >> 23;
    uint32_t mant = abs & 0x7FFFFF;
    if (abs > 0x7F800000u) /* NaN: keep it quiet, keep the payload's top bits */
        return (uint16_t)(sign | 0x7E00 | (mant >> 13));
    if (exp >= 143) /* >= 65536 or inf */
        return (uint16_t)(sign | 0x7C00);
    if (exp >= 113) { /* normal half range; a carry out of the mantissa may give inf */
        uint32_t half = ((exp - 112) << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    /* Subnormal half (units of 2^-24) or zero; a carry may give the smallest normal. */
    uint32_t shift = 126 - exp;
    if (shift > 24)
        return sign;
    uint32_t m = mant | 0x800000;
    uint32_t half = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1)))
        half++;
    return (uint16_t)(sign | half);
}

float qt_bf16_to_f32(uint16_t b)
{
    return bits_float((uint32_t)b << 16);
}

uint16_t qt_f32_to_bf16(float f)
{
    uint32_t x = float_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((x >> 16) | 0x0040); /* quiet NaN, never rounded into inf */
    uint32_t bias = 0x7FFF + ((x >> 16) & 1);
    return (uint16_t)((x + bias) >> 16);
}

static uint16_t load_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void store_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

void qt_f16_to_f32_array(const void *src, float *dst, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = qt_f16_to_f32(load_le16(p + 2 * i));
}

void qt_bf16_to_f32_array(const void *src, float *dst, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = qt_bf16_to_f32(load_le16(p + 2 * i));
}

void qt_f32_to_f16_array(const float *src, void *dst, size_t n)
{
    unsigned char *p = dst;
    for (size_t i = 0; i < n; i++)
        store_le16(p + 2 * i, qt_f32_to_f16(src[i]));
}

void qt_f32_to_bf16_array(const float *src, void *dst, size_t n)
{
    unsigned char *p = dst;
    for (size_t i = 0; i < n; i++)
        store_le16(p + 2 * i, qt_f32_to_bf16(src[i]));
}
