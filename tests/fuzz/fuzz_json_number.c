/*
 * libFuzzer target: the collector's strtod() (collector/json_number.c)
 * against glibc's own on any bytes, as a NUL-terminated string: the
 * same bits (the sign of zero and NaN's included) and the same end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern double __strtod_internal(const char *, char **, int);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[64], *e1, *e2;
	double a, b;

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	a = strtod(buf, &e1);
	b = __strtod_internal(buf, &e2, 0);
	if (memcmp(&a, &b, sizeof(a)) != 0 || e1 != e2)
		abort();
	return 0;
}
