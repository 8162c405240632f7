#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "counters.h"

void
counters_json(struct buf *b, const struct counters *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++) {
		if (i > 0)
			buf_puts(b, ", ");
		buf_json_str(b, c->names[i]);
		buf_printf(b, ": %llu", (unsigned long long)c->v[i]);
	}
}

void
counters_to_stats(struct evp_stats *s, const struct counters *c,
    unsigned role, const char *name)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->ts_usec = clock_wall_usec();
	s->role = role;
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (i = 0; i < c->n && i < EVP_STATS_MAX; i++) {
		snprintf(s->key[i], sizeof(s->key[i]), "%s", c->names[i]);
		s->value[i] = c->v[i];
	}
	s->count = i;
}
