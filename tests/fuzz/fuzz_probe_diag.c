/*
 * libFuzzer target: one netlink message of an inet_diag dump, as
 * diag_source.c hands it to diag_parse_msg() (its length is the
 * buffer's; the message claims its own).  Byte 0 picks TCP or UDP.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_sock s;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy, so a read past the end is caught */
	if ((copy = malloc(size - 1 + 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (diag_parse_msg(copy, size - 1, data[0] & 1 ? 17 : 6, &s) == 1 &&
	    s.ipv != 4 && s.ipv != 6)
		abort();
	free(copy);
	return 0;
}
