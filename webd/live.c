/*
 * Live statistics from the daemons' control sockets.
 *
 * The main loop calls live_refresh() once a second: it lists
 * <datadir>/ *.ctl, asks each daemon for "stats" (bounded by
 * webd.ctl_timeout) and keeps the latest reply, checked to be a JSON
 * object, in a table under a mutex.  Request threads only copy from that
 * table, so a slow or dead daemon never holds up an HTTP request.
 * Commands that change something (live_command) go straight to the
 * daemon from the request thread, since the client waits for the answer.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/ctl.h"
#include "common/log.h"
#include "webd.h"

#define LIVE_MAX	64	/* daemons tracked */

struct live_entry {
	char		 name[64];
	char		*stats;		/* JSON object text, or NULL */
	int		 up;
	uint64_t	 seen_usec;	/* wall clock of the last answer */
	uint64_t	 asked_usec;	/* monotonic: when the kept answer
					   was asked for */
	int		 mark;
};

struct webd_live {
	pthread_mutex_t	  mu;
	char		  datadir[CONF_STR_LEN];
	char		  self[64];
	int		  timeout_ms;
	unsigned	  n;
	struct live_entry e[LIVE_MAX];
};

struct webd_live *
live_new(const char *datadir, const char *self, int timeout_ms)
{
	struct webd_live *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	snprintf(l->datadir, sizeof(l->datadir), "%s", datadir);
	snprintf(l->self, sizeof(l->self), "%s", self);
	l->timeout_ms = timeout_ms;
	return l;
}

void
live_free(struct webd_live *l)
{
	unsigned i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->e[i].stats);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* 1 if `s` may name a daemon instance (and so a socket file). */
int
live_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && s[0] != '.' && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static struct live_entry *
live_find(struct webd_live *l, const char *name)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	return NULL;
}

/* Asks one daemon for its stats; returns a malloc'd JSON object text or
 * NULL. */
static char *
live_ask(struct webd_live *l, const char *name)
{
	char ep[CONF_STR_LEN + 80];
	struct buf reply;
	cJSON *j;
	char *out = NULL;

	if (snprintf(ep, sizeof(ep), "ipc://%s/%s.ctl", l->datadir, name) >=
	    (int)sizeof(ep))
		return NULL;
	buf_init(&reply);
	if (ctl_request(ep, "stats", &reply, l->timeout_ms) == 0 &&
	    buf_ok(&reply) && reply.len > 0 &&
	    (j = cJSON_ParseWithLength(reply.p, reply.len)) != NULL) {
		if (cJSON_IsObject(j))
			out = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	buf_free(&reply);
	return out;
}

/*
 * Asks daemon `name` and keeps its answer, unless an answer asked for
 * later is already kept (live_refresh_one() from a request thread may
 * overtake the loop's live_refresh(): the older answer must not
 * replace the newer).
 */
static void
live_update(struct webd_live *l, const char *name)
{
	struct live_entry *e;
	uint64_t asked = clock_mono_usec();
	char *stats = live_ask(l, name);

	pthread_mutex_lock(&l->mu);
	if ((e = live_find(l, name)) == NULL && l->n < LIVE_MAX) {
		e = &l->e[l->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	if (e != NULL) {
		e->mark = 1;
		if (asked >= e->asked_usec) {
			e->asked_usec = asked;
			e->up = stats != NULL;
			if (stats != NULL) {
				free(e->stats);
				e->stats = stats;
				stats = NULL;
				e->seen_usec = clock_wall_usec();
			}
		}
	}
	pthread_mutex_unlock(&l->mu);
	free(stats);
}

void
live_refresh_one(struct webd_live *l, const char *name)
{
	if (live_name_ok(name))
		live_update(l, name);
}

void
live_refresh(struct webd_live *l)
{
	char names[LIVE_MAX][64];
	struct dirent *de;
	unsigned n = 0, i;
	size_t len;
	DIR *d;

	if ((d = opendir(l->datadir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < LIVE_MAX) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".ctl") != 0 ||
		    len - 4 >= sizeof(names[0]))
			continue;
		memcpy(names[n], de->d_name, len - 4);
		names[n][len - 4] = '\0';
		if (!live_name_ok(names[n]) || strcmp(names[n], l->self) == 0)
			continue;
		n++;
	}
	closedir(d);

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->n; i++)
		l->e[i].mark = 0;
	pthread_mutex_unlock(&l->mu);
	for (i = 0; i < n; i++)
		live_update(l, names[i]);
	/* A socket file that disappeared: the daemon is gone. */
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->n; i++)
		if (!l->e[i].mark)
			l->e[i].up = 0;
	pthread_mutex_unlock(&l->mu);
}

void
live_json(struct webd_live *l, struct buf *b)
{
	unsigned i;

	pthread_mutex_lock(&l->mu);
	buf_puts(b, "[");
	for (i = 0; i < l->n; i++) {
		struct live_entry *e = &l->e[i];

		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_str(b, e->name);
		buf_printf(b, ",\"up\":%s,\"last_seen\":", e->up ? "true" :
		    "false");
		if (e->seen_usec)
			buf_printf(b, "%.3f", (double)e->seen_usec / 1e6);
		else
			buf_puts(b, "null");
		buf_printf(b, ",\"stats\":%s}", e->stats ? e->stats : "null");
	}
	buf_puts(b, "]");
	pthread_mutex_unlock(&l->mu);
}

int
live_command(struct webd_live *l, const char *name, const char *cmd,
    struct buf *out)
{
	char ep[CONF_STR_LEN + 80];
	struct buf reply;
	int rc;

	if (!live_name_ok(name))
		return -1;
	if (snprintf(ep, sizeof(ep), "ipc://%s/%s.ctl", l->datadir, name) >=
	    (int)sizeof(ep))
		return -1;
	buf_init(&reply);
	if (ctl_request(ep, cmd, &reply, l->timeout_ms * 4) == -1 ||
	    !buf_ok(&reply)) {
		LOG_RATELIMITED(log_warnx, "%s: %s", name, reply.p ?
		    reply.p : "no reply");
		buf_free(&reply);
		return -1;
	}
	if (reply.len >= 7 && strncmp(reply.p, "error: ", 7) == 0) {
		buf_add(out, reply.p + 7, reply.len - 7);
		rc = 1;
	} else {
		if (reply.len > 0)
			buf_add(out, reply.p, reply.len);
		rc = 0;
	}
	buf_free(&reply);
	return rc;
}

/* Appends the member `key` of daemon `name`'s latest stats object as
 * JSON, or null if the daemon is down or has no such member. */
void
live_member_json(struct webd_live *l, const char *name, const char *key,
    struct buf *b)
{
	struct live_entry *e;
	const cJSON *m;
	cJSON *j = NULL;
	char *txt = NULL;

	pthread_mutex_lock(&l->mu);
	if ((e = live_find(l, name)) != NULL && e->up && e->stats != NULL)
		j = cJSON_Parse(e->stats);
	pthread_mutex_unlock(&l->mu);
	if (j != NULL && (m = cJSON_GetObjectItemCaseSensitive(j, key)) !=
	    NULL)
		txt = cJSON_PrintUnformatted(m);
	buf_puts(b, txt != NULL ? txt : "null");
	free(txt);
	cJSON_Delete(j);
}
