/*
 * test_common.c - the common helpers every parser relies on: the bounded cursor never
 * reads past its end and does not move on failure; the output buffer stops at its
 * maximum and stays failed; hex decodes either case and nothing else; encodings match
 * RFC 4648 vectors; RFC 3339 formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/encode.h"

static void test_cursor_bounds(void **state)
{
	const char s[] = "abc=12345678901234567890;x";
	bg_cur c = bg_cur_make(s, strlen(s)), tok;
	uint64_t v = 0;
	uint8_t b;

	assert_int_equal(bg_cur_until(&c, '=', &tok), 0);
	assert_true(bg_cur_eq(&tok, "abc", 3));
	assert_int_equal(bg_cur_expect(&c, "=", 1), 0);
	/* Overflowing integer: refused, cursor unmoved. */
	assert_int_equal(bg_cur_uint(&c, UINT64_MAX / 100, &v), BG_EINVAL);
	assert_int_equal(c.off, 4);
	assert_int_equal(bg_cur_until(&c, '#', &tok), BG_EINVAL);
	assert_int_equal(c.off, 4);
	assert_int_equal(bg_cur_until(&c, ';', &tok), 0);
	assert_int_equal(bg_cur_expect(&c, ";y", 2), BG_EINVAL);
	assert_int_equal(bg_cur_expect(&c, ";x", 2), 0);
	assert_true(bg_cur_eof(&c));
	assert_int_equal(bg_cur_peek(&c), -1);
	assert_int_equal(bg_cur_u8(&c, &b), BG_EINVAL);
}

static void test_cursor_uint(void **state)
{
	bg_cur c = bg_cur_make("300x", 4);
	uint64_t v = 0;

	assert_int_equal(bg_cur_uint(&c, 255, &v), BG_EINVAL);
	assert_int_equal(bg_cur_uint(&c, 300, &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(bg_cur_peek(&c), 'x');
	c = bg_cur_make(NULL, 10);
	assert_int_equal(bg_cur_left(&c), 0);
}

static void test_buf_limit(void **state)
{
	bg_buf b;
	char *s;

	bg_buf_init(&b, 8);
	assert_int_equal(bg_buf_adds(&b, "1234"), 0);
	assert_int_equal(bg_buf_addf(&b, "%d", 5678), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(bg_buf_addc(&b, '9'), BG_ELIMIT);
	/* Sticky: a failed buffer refuses everything and yields nothing. */
	assert_int_equal(bg_buf_add(&b, "", 0), BG_ELIMIT);
	assert_null(bg_buf_steal(&b));
	bg_buf_init(&b, 64);
	assert_int_equal(bg_buf_addhex(&b, "\x01\xab", 2), 0);
	s = bg_buf_steal(&b);
	assert_string_equal(s, "01ab");
	free(s);
	bg_buf_free(&b);

	/* Reserving makes the room at once: what is added within it does not move. */
	bg_buf_init(&b, 4096);
	assert_int_equal(bg_buf_reserve(&b, 3000), 0);
	assert_true(b.cap > 3000);
	s = b.data;
	assert_int_equal(bg_buf_add(&b, s, 0), 0);
	for (int i = 0; i < 30; i++)
		assert_int_equal(bg_buf_adds(&b, "0123456789012345678901234567890123456789"
		                                 "0123456789012345678901234567890123456789"
		                                 "01234567890123456789"),
		                 0);
	assert_ptr_equal(b.data, s);
	assert_int_equal(b.len, 3000);
	assert_int_equal(bg_buf_reserve(&b, 4096), BG_ELIMIT); /* past the maximum */
	bg_buf_free(&b);
}

/* Hex decoding accepts both cases and refuses anything else, wherever it stands. */
static void test_unhex(void **state)
{
	uint8_t out[4];
	char hex[9];

	assert_int_equal(bg_unhex("01abCDef", 4, out), 0);
	assert_memory_equal(out, "\x01\xab\xcd\xef", 4);
	bg_hex(out, 4, hex);
	assert_string_equal(hex, "01abcdef");
	assert_int_equal(bg_unhex("", 0, out), 0);
	assert_int_equal(bg_unhex("0g", 1, out), BG_EINVAL);
	assert_int_equal(bg_unhex("g0", 1, out), BG_EINVAL);
	assert_int_equal(bg_unhex("01ab0 ", 3, out), BG_EINVAL);
	assert_int_equal(bg_unhex("01ab-1", 3, out), BG_EINVAL);
	assert_int_equal(bg_hex_digit('F'), 15);
	assert_int_equal(bg_hex_digit('G'), -1);
	assert_int_equal(bg_hex_digit('/'), -1);
	assert_int_equal(bg_hex_digit(':'), -1);
	assert_int_equal(bg_hex_digit('`'), -1);
}

static void test_base32(void **state)
{
	char out[64];

	/* RFC 4648 section 10 vectors, without padding. */
	assert_int_equal(bg_base32("foobar", 6, false, out, sizeof(out)), 10);
	assert_string_equal(out, "MZXW6YTBOI");
	bg_base32("f", 1, false, out, sizeof(out));
	assert_string_equal(out, "MY");
	bg_base32("fooba", 5, true, out, sizeof(out));
	assert_string_equal(out, "mzxw6ytb");
	assert_int_equal(bg_base32("foobar", 6, false, out, 10), 0);
}

static void test_base64url(void **state)
{
	char out[64];

	assert_int_equal(bg_base64url("foobar", 6, out, sizeof(out)), 8);
	assert_string_equal(out, "Zm9vYmFy");
	bg_base64url("fo", 2, out, sizeof(out));
	assert_string_equal(out, "Zm8");
	bg_base64url("\xfb\xff", 2, out, sizeof(out));
	assert_string_equal(out, "-_8");
	assert_int_equal(bg_base64url("foobar", 6, out, 8), 0);
}

static void test_rfc3339(void **state)
{
	char out[21];

	bg_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	bg_rfc3339(1440938160, out);
	assert_string_equal(out, "2015-08-30T12:36:00Z");
	assert_true(bg_now() > 1700000000);
	assert_true(bg_now_ms() / 1000 >= bg_now() - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cursor_bounds), cmocka_unit_test(test_cursor_uint),
	    cmocka_unit_test(test_buf_limit),     cmocka_unit_test(test_unhex),
	    cmocka_unit_test(test_base32),        cmocka_unit_test(test_base64url),
	    cmocka_unit_test(test_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
