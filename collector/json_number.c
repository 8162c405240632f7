/*
 * The collector's strtod(): cJSON converts every JSON number with the C
 * library's strtod() (and asks localeconv() for the decimal point
 * first), and the values of the producers' events are nearly all
 * integers: ports, pids, uids, byte and packet counts.  glibc's strtod()
 * is general (locales, hex floats, multi-precision rounding) and took
 * ~14 % of the collector's instructions per event (callgrind on
 * bench_collector), more than any code of ours.
 *
 * This definition, linked into the collector only (not into bench_json,
 * the cJSON baseline of issue 14's ratios), takes the place of the C
 * library's for the whole process, cJSON's calls included (ELF symbol
 * interposition: libcjson.so calls strtod through its PLT).  It converts
 * an optionally negative run of 1 to 15 decimal digits ending the number
 * itself: such a value is below 2^53, so the double is exact and equal to
 * what any correct strtod() returns.  Everything else (a fraction, an
 * exponent, more digits, hex, "inf", leading space or '+') goes to
 * glibc's own implementation, __strtod_internal(), unchanged.
 * tests/unit/test_collector_number.c compares the two on every shape.
 *
 * The collector never calls setlocale(): its locale is "C", where the
 * decimal point is '.' and no digit grouping applies, so a run of digits
 * means the same in both.  For the same reason localeconv(), which cJSON
 * calls before every number (and glibc answers by copying the locale's
 * two dozen fields, ~3 % of the collector's instructions), is answered
 * here with the C locale's values, the ones POSIX fixes for it.
 */
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>

#include "collector.h"

/* glibc's strtod() itself (exported by libc.so.6 since 2.2.5). */
extern double __strtod_internal(const char *, char **, int);

#define JN_DIGITS_MAX	15	/* 10^15 - 1 < 2^53: exact as a double */

double
strtod(const char *restrict s, char **restrict end)
{
	const char *p = s;
	uint64_t v = 0;
	unsigned n;
	int neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (n = 0; n <= JN_DIGITS_MAX && *p >= '0' && *p <= '9'; n++, p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (n == 0 || n > JN_DIGITS_MAX || *p == '.' || *p == 'e' ||
	    *p == 'E' || *p == 'x' || *p == 'X')
		return __strtod_internal(s, end, 0);
	if (end != NULL)
		*end = (char *)(uintptr_t)p;
	return neg ? -(double)v : (double)v;
}

/* The "C" locale's numeric and monetary conventions (POSIX). */
static struct lconv jn_c_lconv = {
	.decimal_point = ".",
	.thousands_sep = "",
	.grouping = "",
	.int_curr_symbol = "",
	.currency_symbol = "",
	.mon_decimal_point = "",
	.mon_thousands_sep = "",
	.mon_grouping = "",
	.positive_sign = "",
	.negative_sign = "",
	.int_frac_digits = CHAR_MAX,
	.frac_digits = CHAR_MAX,
	.p_cs_precedes = CHAR_MAX,
	.p_sep_by_space = CHAR_MAX,
	.n_cs_precedes = CHAR_MAX,
	.n_sep_by_space = CHAR_MAX,
	.p_sign_posn = CHAR_MAX,
	.n_sign_posn = CHAR_MAX,
	.int_p_cs_precedes = CHAR_MAX,
	.int_p_sep_by_space = CHAR_MAX,
	.int_n_cs_precedes = CHAR_MAX,
	.int_n_sep_by_space = CHAR_MAX,
	.int_p_sign_posn = CHAR_MAX,
	.int_n_sign_posn = CHAR_MAX,
};

struct lconv *
localeconv(void)
{
	return &jn_c_lconv;
}
