/*
 * libFuzzer target: the router's state file parser (iface_state.c) on
 * arbitrary file images.  A parse either succeeds with at most
 * ROUTER_STATE_MAX entries of bounded, non-empty names, or fails with a
 * reason and leaves the state empty; what parsed is applied to a small
 * table and written back, and the written image must parse to the same
 * entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "router/router.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The table the entries are applied to: names a seed can use. */
static const char *const fuzz_ifaces[] = {
	"tcp://*:1c", "eth0", "mirror0", "tcp://*:2c"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct router_state s, back;
	static struct iface_table t;
	static struct conf_list ifs, mir, comp;
	char err[256], path[64];
	unsigned k;

	log_set_level(-1);
	state_init(&s, "");
	if (state_parse(&s, (const char *)data, len, err, sizeof(err)) == -1) {
		if (s.n != 0 || err[0] == '\0')
			abort();
		return 0;
	}
	if (s.n > ROUTER_STATE_MAX)
		abort();
	for (k = 0; k < s.n; k++)
		if (s.e[k].name[0] == '\0' ||
		    strlen(s.e[k].name) >= EVP_NAME_LEN)
			abort();
	if (ifs.n == 0)
		for (k = 0; k < sizeof(fuzz_ifaces) / sizeof(fuzz_ifaces[0]);
		    k++)
			snprintf(ifs.item[ifs.n++], CONF_STR_LEN, "%s",
			    fuzz_ifaces[k]);
	if (iface_table_build(&t, &ifs, &mir, &comp, err, sizeof(err)) == -1)
		abort();
	(void)state_apply(&s, &t);

	/* What parsed writes back to an image that parses the same. */
	snprintf(path, sizeof(path), "/tmp/evflow-fuzz-state.%d",
	    (int)getpid());
	snprintf(s.path, sizeof(s.path), "%s", path);
	if (state_save(&s, err, sizeof(err)) == 0) {
		state_init(&back, path);
		if (state_load(&back, err, sizeof(err)) == -1 ||
		    back.n != s.n ||
		    memcmp(back.e, s.e, s.n * sizeof(s.e[0])) != 0)
			abort();
		remove(path);
	}
	return 0;
}
