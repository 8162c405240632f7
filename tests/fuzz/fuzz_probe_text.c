/*
 * libFuzzer target: the probe's parsers of text it reads from /proc and
 * cgroupfs.  Byte 0 picks the parser; the rest is the text (not
 * NUL-terminated: the parsers take a length).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
on_if(void *arg, const struct netdev_stats *s)
{
	(void)arg;
	if (strlen(s->name) >= sizeof(s->name))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_stat st;
	struct probe_container k;
	char out[PROBE_CMDLINE_LEN], path[CONF_STR_LEN], *z;
	const char *t = (const char *)(data + 1);
	uint32_t uid, gid;
	unsigned bad = 0;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		if (proc_parse_stat(t, n, &st) == 0 &&
		    strlen(st.comm) >= sizeof(st.comm))
			abort();
		break;
	case 1:
		(void)proc_parse_status(t, n, &uid, &gid);
		break;
	case 2:
		if (proc_join_cmdline(t, n, out, sizeof(out)) >= sizeof(out))
			abort();
		break;
	case 3:
		/* cgroup_container takes a C string */
		if ((z = malloc(n + 1)) == NULL)
			return 0;
		memcpy(z, t, n);
		z[n] = '\0';
		if (cgroup_container(z, &k) && strlen(k.id) >= sizeof(k.id))
			abort();
		free(z);
		break;
	case 4:
		if (cgroup_proc_path(t, n, path, sizeof(path)) == 0 &&
		    strlen(path) >= sizeof(path))
			abort();
		break;
	default:
		(void)netdev_parse(t, n, on_if, NULL, &bad);
		break;
	}
	return 0;
}
