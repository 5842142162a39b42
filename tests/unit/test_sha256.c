/* util/sha256: the FIPS 180-2 / NIST example vectors, the padding edges
 * (lengths around 56 and 64 bytes, checked with coreutils' sha256sum), and
 * streaming in pieces agreeing with one-shot hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sha256.h"

static void check_hex(const char *msg, size_t len, const char *want)
{
    char hex[QT_SHA256_HEX_LEN + 1];
    qt_sha256_hex(msg, len, hex);
    assert_string_equal(hex, want);
}

static void nist_vectors(void **state)
{
    (void)state;
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hex(two_blocks, strlen(two_blocks),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *long_msg = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                           "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_hex(long_msg, strlen(long_msg),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    check_hex(fox, strlen(fox), "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
}

static void million_a_streamed(void **state)
{
    (void)state;
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    qt_sha256_ctx ctx;
    qt_sha256_init(&ctx);
    for (int i = 0; i < 1000; i++)
        qt_sha256_update(&ctx, chunk, sizeof chunk);
    uint8_t digest[QT_SHA256_BYTES];
    qt_sha256_final(&ctx, digest);
    static const uint8_t want[QT_SHA256_BYTES] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(digest, want, sizeof want);
}

static void padding_edges(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    };
    char xs[128];
    memset(xs, 'x', sizeof xs);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_hex(xs, cases[i].len, cases[i].hex);
}

static void pieces_agree_with_one_shot(void **state)
{
    (void)state;
    uint8_t data[1000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    uint8_t whole[QT_SHA256_BYTES];
    qt_sha256(data, sizeof data, whole);
    static const size_t steps[] = {1, 3, 63, 64, 65, 127, 500};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        qt_sha256_ctx ctx;
        qt_sha256_init(&ctx);
        for (size_t off = 0; off < sizeof data; off += steps[s]) {
            size_t n = sizeof data - off < steps[s] ? sizeof data - off : steps[s];
            qt_sha256_update(&ctx, data + off, n);
        }
        uint8_t got[QT_SHA256_BYTES];
        qt_sha256_final(&ctx, got);
        assert_memory_equal(got, whole, sizeof whole);
    }
}

static void file_digest(void **state)
{
    (void)state;
    char path[] = "/tmp/qaterm-sha256-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    char hex[QT_SHA256_HEX_LEN + 1];
    qt_err e;
    assert_int_equal(qt_sha256_file_hex(path, hex, &e), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(qt_sha256_file_hex(path, hex, &e), -1);
    assert_non_null(strstr(e.msg, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nist_vectors),
        cmocka_unit_test(million_a_streamed),
        cmocka_unit_test(padding_edges),
        cmocka_unit_test(pieces_agree_with_one_shot),
        cmocka_unit_test(file_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
