/*
 * collector/json_number.c: the collector's strtod() against glibc's own
 * (__strtod_internal) on every shape a number can take: the same bits
 * (the sign of zero included) and the same end pointer, for integers of
 * 1 to 20 digits with each kind of character after them, fractions,
 * exponents, hex, inf/nan, signs, spaces and garbage; then a run of
 * pseudo-random strings.  And cJSON's numbers through it.
 */
#include <dlfcn.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "t.h"

extern double __strtod_internal(const char *, char **, int);

static unsigned mismatches;
static void shapes(void);

/* One input: ours and glibc's agree bit for bit, and end alike. */
static void
same(const char *s)
{
	char *e1 = NULL, *e2 = NULL;
	double a, b;

	a = strtod(s, &e1);
	b = __strtod_internal(s, &e2, 0);
	if (memcmp(&a, &b, sizeof(a)) != 0 || e1 != e2) {
		if (mismatches++ < 10)
			fprintf(stderr, "strtod(\"%s\"): %.17g end +%td, glibc"
			    " %.17g end +%td\n", s, a, e1 - s, b, e2 - s);
	}
	/* A NULL end pointer is allowed. */
	a = strtod(s, NULL);
	if (memcmp(&a, &b, sizeof(a)) != 0 && mismatches++ < 10)
		fprintf(stderr, "strtod(\"%s\", NULL): %.17g\n", s, a);
}

static void
shapes(void)
{
	static const char *const fixed[] = {
		"0", "-0", "00", "-00", "007", "1", "-1", "9", "42", "65535",
		"4294967295", "18446744073709551615", "999999999999999",
		"1000000000000000", "9007199254740993", "-999999999999999",
		"-1000000000000000", "123456789012345678901234567890",
		"1.5", "-1.5", "1.", ".5", "-.5", "1e3", "1E3", "1e-3",
		"1e400", "-1e400", "1e-400", "0x10", "0X1p3", "-0x1",
		"inf", "-inf", "nan", "NaN", "infinity", "+5", " 5", "\t-5",
		"-", "+", "", "e5", "x", "-x", "5x", "5 ", "5,", "5]", "5}",
		"12345678901234.5", "1700000000.123456", "3.14159265358979",
		"0.1", "2.2250738585072014e-308", "1.7976931348623157e308",
	};
	static const char tails[] = " ,]}\n.eExX0-+a";
	char buf[64];
	size_t i, t;
	int d, neg;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		same(fixed[i]);
	/* Every length of digits, each sign, each following character. */
	for (d = 1; d <= 20; d++)
		for (neg = 0; neg < 2; neg++)
			for (t = 0; t <= sizeof(tails) - 1; t++) {
				size_t n = 0;
				int k;

				if (neg)
					buf[n++] = '-';
				for (k = 0; k < d; k++)
					buf[n++] = (char)('1' + (k * 7 + d) % 9);
				if (t < sizeof(tails) - 1)
					buf[n++] = tails[t];
				buf[n] = '\0';
				same(buf);
				/* all nines: the largest of each length */
				memset(buf + neg, '9', (size_t)d);
				same(buf);
			}
}

/* Strings of digits, signs, points and exponents, at random. */
static void
random_strings(void)
{
	static const char alphabet[] = "0123456789012345678901234-+.eE x";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[32];
	int i, n, k;

	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = 1 + (int)(x % 24);
		for (k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[k] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		buf[n] = '\0';
		same(buf);
	}
}

/* cJSON's numbers come out as glibc would make them. */
static void
through_cjson(void)
{
	static const char *const docs[] = {
		"[0, -0, 443, 4294967295, 999999999999999, 1000000000000000,"
		" 1.5, 1e3, -12, 1700000000.25, 18446744073709551615]",
	};
	static const double want[] = {
		0, -0.0, 443, 4294967295.0, 999999999999999.0,
		1000000000000000.0, 1.5, 1000, -12, 1700000000.25,
		18446744073709551615.0,
	};
	cJSON *a = cJSON_Parse(docs[0]), *v;
	size_t i = 0;

	CHECK(a != NULL);
	cJSON_ArrayForEach(v, a) {
		CHECK(cJSON_IsNumber(v));
		CHECK(i < sizeof(want) / sizeof(want[0]) &&
		    memcmp(&v->valuedouble, &want[i], sizeof(double)) == 0);
		i++;
	}
	CHECK_EQ_U(i, sizeof(want) / sizeof(want[0]));
	cJSON_Delete(a);
}

/* The strtod() called here is the collector's (linked into this
 * program), not the C library's: else the test compares glibc with
 * itself. */
static void
ours(void)
{
	Dl_info a, b;

	CHECK(dladdr((void *)(uintptr_t)strtod, &a) != 0);
	CHECK(dladdr((void *)(uintptr_t)shapes, &b) != 0);
	CHECK(a.dli_fname != NULL && b.dli_fname != NULL &&
	    strcmp(a.dli_fname, b.dli_fname) == 0);
}

/* The collector's localeconv() says what the C library's says in the
 * C locale, field by field. */
static void
c_locale(void)
{
	struct lconv *(*libc)(void);
	struct lconv *a = localeconv(), b;

	*(void **)&libc = dlsym(RTLD_NEXT, "localeconv");
	CHECK(libc != NULL && libc != localeconv);
	if (libc == NULL)
		return;
	b = *libc();
#define SAME_S(f)	CHECK_STR(a->f, b.f)
#define SAME_C(f)	CHECK_EQ_U((unsigned char)a->f, (unsigned char)b.f)
	SAME_S(decimal_point); SAME_S(thousands_sep); SAME_S(grouping);
	SAME_S(int_curr_symbol); SAME_S(currency_symbol);
	SAME_S(mon_decimal_point); SAME_S(mon_thousands_sep);
	SAME_S(mon_grouping); SAME_S(positive_sign); SAME_S(negative_sign);
	SAME_C(int_frac_digits); SAME_C(frac_digits); SAME_C(p_cs_precedes);
	SAME_C(p_sep_by_space); SAME_C(n_cs_precedes); SAME_C(n_sep_by_space);
	SAME_C(p_sign_posn); SAME_C(n_sign_posn); SAME_C(int_p_cs_precedes);
	SAME_C(int_p_sep_by_space); SAME_C(int_n_cs_precedes);
	SAME_C(int_n_sep_by_space); SAME_C(int_p_sign_posn);
	SAME_C(int_n_sign_posn);
#undef SAME_S
#undef SAME_C
}

int
main(void)
{
	ours();
	c_locale();
	shapes();
	random_strings();
	CHECK_EQ_U(mismatches, 0);
	through_cjson();
	return t_done("collector_number");
}
