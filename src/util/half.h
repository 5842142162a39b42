/* IEEE binary16 (F16) and bfloat16 (BF16) conversions, bit-exact and
 * portable (no compiler half types needed). Widening is exact; narrowing
 * rounds to nearest, ties to even, overflows to infinity, keeps NaNs NaN. */
#ifndef QT_HALF_H
#define QT_HALF_H

#include <stddef.h>
#include <stdint.h>

float qt_f16_to_f32(uint16_t h);
uint16_t qt_f32_to_f16(float f);
float qt_bf16_to_f32(uint16_t b);
uint16_t qt_f32_to_bf16(float f);

/* Converts n little-endian 16-bit values at src (any alignment) to floats. */
void qt_f16_to_f32_array(const void *src, float *dst, size_t n);
void qt_bf16_to_f32_array(const void *src, float *dst, size_t n);

/* Writes n floats as little-endian 16-bit values at dst (any alignment). */
void qt_f32_to_f16_array(const float *src, void *dst, size_t n);
void qt_f32_to_bf16_array(const float *src, void *dst, size_t n);

#endif
