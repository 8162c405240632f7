/*
 * The client side: status, ping and iface ask the daemons' control
 * sockets.  The list of daemons comes from the supervisor; when it is
 * not running, from the control sockets present in the data directory.
 */
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/ctl.h"
#include "evflowctl.h"

/* Pipeline rows, in the order records flow. */
static const char *const stage_roles[] = {
	"collector", "capture", "router", "store", NULL
};

const char *
json_str(const cJSON *obj, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));

	return v ? v : "?";
}

int
json_finished(const cJSON *d)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(d, "finished"));
}

const char *
json_finish_error(const cJSON *d)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(d, "error"));
}

/* 0 if the supervisor's list says daemon `d` does not run now (it died
 * and waits for its restart): its control socket is not asked. */
static int
json_running(const cJSON *d)
{
	return !cJSON_IsFalse(cJSON_GetObjectItem(d, "running"));
}

/* The pid in the instance's pidfile if that process is an evflowctl,
 * or 0.  (Not by its lock: taking it even shared, for a moment, could
 * make a `start` running at the same time refuse.) */
static long
sup_pid_alive(const struct ctl_opts *o)
{
	char path[PATH_MAX + 32], buf[64];
	long pid = 0;
	size_t n;
	FILE *fp;

	datadir_path(path, sizeof(path), o, "evflowctl.pid");
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	if (pid <= 1 || kill((pid_t)pid, 0) == -1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, "evflowctl") != NULL ? pid : 0;
}

/* The JSON of a reply `b` (rc 0), or NULL with the reason in why (the
 * reply text, or the transport error in b). */
static cJSON *
parse_reply(const struct buf *b, int rc, struct buf *why)
{
	cJSON *j = NULL;

	if (rc == 0 && buf_ok(b) && b->len > 0 &&
	    (j = cJSON_ParseWithLength(b->p, b->len)) == NULL)
		buf_printf(why, "bad reply: %.*s", b->len > 200 ? 200 :
		    (int)b->len, b->p);
	else if (j == NULL)
		buf_add(why, b->p ? b->p : "no reply", b->p ? b->len :
		    strlen("no reply"));
	return j;
}

/* Sends `cmd` to `ep`, parses the JSON reply.  NULL with the reason in
 * why (the reply text, or the transport error). */
static cJSON *
ask_json(const char *ep, const char *cmd, struct buf *why, int timeout_ms)
{
	struct buf b;
	cJSON *j;

	buf_init(&b);
	j = parse_reply(&b, ctl_request(ep, cmd, &b, timeout_ms), why);
	buf_free(&b);
	return j;
}

/* The daemons of the instance as a JSON array the caller frees: from
 * the supervisor (*sup is set to its reply) or from *.ctl files. */
static cJSON *
daemon_list(const struct ctl_opts *o, cJSON **sup)
{
	char ep[PATH_MAX + 80], pat[PATH_MAX + 16], name[256];
	struct buf why;
	cJSON *list, *d;
	glob_t g;
	size_t k, len;
	const char *base;

	ctl_endpoint_of(ep, sizeof(ep), o, "evflowctl");
	buf_init(&why);
	*sup = ask_json(ep, "daemons", &why, CTL_SUP_TIMEOUT_MS);
	buf_free(&why);
	if (*sup != NULL && (list = cJSON_DetachItemFromObject(*sup,
	    "daemons")) != NULL)
		return list;
	list = cJSON_CreateArray();
	snprintf(pat, sizeof(pat), "%s/*.ctl", o->datadir);
	if (glob(pat, 0, NULL, &g) != 0)
		return list;
	for (k = 0; k < g.gl_pathc; k++) {
		base = strrchr(g.gl_pathv[k], '/') + 1;
		len = strlen(base) - strlen(".ctl");
		if (len >= sizeof(name))
			continue;
		memcpy(name, base, len);
		name[len] = '\0';
		if (strcmp(name, "evflowctl") == 0)
			continue;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", name);
		cJSON_AddStringToObject(d, "role", strncmp(name, "collector",
		    9) == 0 ? "collector" : strncmp(name, "capture", 7) == 0 ?
		    "capture" : name);
		ctl_endpoint_of(ep, sizeof(ep), o, name);
		cJSON_AddStringToObject(d, "ctl", ep);
		cJSON_AddItemToArray(list, d);
	}
	globfree(&g);
	return list;
}

static unsigned long long
num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);

	return cJSON_IsNumber(v) ? (unsigned long long)v->valuedouble : 0;
}

/*
 * Reading other daemons' counters for the pipeline summary.  Each stage
 * names its counters its own way; these lists say which name carries
 * what was received and what went on, first present wins.  Drops are
 * every counter named like a loss (the sum mixes messages and records:
 * it says where to look, the counters above say what).
 */
static const char *const received_keys[] = {
	"received", "events_received", "packets", NULL
};
static const char *const forwarded_keys[] = {
	"stored", "forwarded", "events_forwarded", "records_sent", NULL
};

/* 1 if counter `key` counts something dropped, lost or rejected. */
static int
is_drop(const char *key)
{
	static const char *const pfx[] = {
		"drop", "lost", "unknown_", "bad_", "rejected", "err_", "no_",
		NULL
	};
	unsigned k;

	if (strstr(key, "drop") != NULL || strstr(key, "_lost") != NULL)
		return 1;
	for (k = 0; pfx[k] != NULL; k++)
		if (strncmp(key, pfx[k], strlen(pfx[k])) == 0)
			return 1;
	return 0;
}

static unsigned long long
first_of(const cJSON *counters, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (cJSON_IsNumber(cJSON_GetObjectItem(counters, *keys)))
			return (unsigned long long)cJSON_GetObjectItem(
			    counters, *keys)->valuedouble;
	return 0;
}

static unsigned long long
drops(const cJSON *counters)
{
	const cJSON *c;
	unsigned long long sum = 0;

	cJSON_ArrayForEach(c, counters)
		if (cJSON_IsNumber(c) && is_drop(c->string))
			sum += (unsigned long long)c->valuedouble;
	return sum;
}

static void
print_counters(const cJSON *counters)
{
	const cJSON *c;
	unsigned col = 0;

	cJSON_ArrayForEach(c, counters) {
		if (!cJSON_IsNumber(c))
			continue;
		printf("%s%-30s %12llu", col ? "  " : "    ", c->string,
		    (unsigned long long)c->valuedouble);
		if (++col == 2) {
			printf("\n");
			col = 0;
		}
	}
	if (col)
		printf("\n");
}

/* The join's numbers of a packet interface in the store: shown even
 * when zero (a zero is the news: no joins, no misses). */
static int
is_join_key(const char *key)
{
	static const char *const keys[] = {
		"joins", "misses", "pending", "pending_evicted", "packet_flows",
		"packet_flows_with_process", "packet_flows_no_process", NULL
	};
	unsigned k;

	for (k = 0; keys[k] != NULL; k++)
		if (strcmp(key, keys[k]) == 0)
			return 1;
	return 0;
}

/* 1 if output link `l` keeps records for replay (acknowledgements) and
 * its buffer is (nearly) full: the store does not acknowledge what it
 * gets as fast as it comes, and the sender drops. */
static int
replay_full(const cJSON *l)
{
	unsigned long long max = num(l, "replay_max_bytes");

	return max != 0 && num(l, "replay_bytes") >= max - max / 10;
}

/*
 * A daemon's record links (common/nnlink.h): an output's peer state,
 * since when it is down, its queue and drops; an input's refusals.
 */
/* The store's error state of writes: a line when its commits fail (the
 * disk is full, I/O errors): since when, why, rows held and dropped. */
static void
print_write_state(const cJSON *st)
{
	const cJSON *c = cJSON_GetObjectItem(st, "counters");
	const char *ws = cJSON_GetStringValue(cJSON_GetObjectItem(st,
	    "write_state"));
	const cJSON *since = cJSON_GetObjectItem(st, "write_failing_since");
	char when[32] = "?";
	time_t t;

	if (ws == NULL || strcmp(ws, "failing") != 0)
		return;
	if (cJSON_IsNumber(since)) {
		t = (time_t)since->valuedouble;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		    localtime(&t));
	}
	printf("    WRITES FAILING since %s: %s; %llu rows held for the "
	    "next attempt, %llu rows dropped\n", when,
	    json_str(st, "write_error"), num(c, "write_retry_rows"),
	    num(c, "write_rows_dropped"));
}

static void
print_links(const cJSON *links)
{
	const cJSON *l;
	time_t since;
	char when[32];

	cJSON_ArrayForEach(l, links) {
		if (strcmp(json_str(l, "dir"), "out") == 0) {
			printf("    link -> %s: peer %s", json_str(l, "endpoint"),
			    json_str(l, "peer"));
			if (num(l, "down_since_usec") != 0) {
				since = (time_t)(num(l, "down_since_usec") /
				    1000000);
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				    localtime(&since));
				printf(" since %s (%llds)", when,
				    (long long)(time(NULL) - since));
			}
			printf(", queued %llu batches (%llu bytes), dropped "
			    "%llu records\n", num(l, "queued_batches"),
			    num(l, "queued_bytes"), num(l, "dropped"));
			if (num(l, "replay_max_bytes") != 0)
				printf("      replay: %llu records not yet "
				    "acknowledged (%llu of %llu bytes%s), "
				    "acknowledged up to %llu, %llu dropped "
				    "when full\n", num(l, "replay_buffered"),
				    num(l, "replay_bytes"),
				    num(l, "replay_max_bytes"),
				    replay_full(l) ? ", FULL" : "",
				    num(l, "acked_seq"),
				    num(l, "replay_dropped"));
		} else if (num(l, "connections_refused") != 0)
			printf("    link <- %s: %llu connections refused "
			    "(over %llu bytes, or broken)\n",
			    json_str(l, "endpoint"),
			    num(l, "connections_refused"),
			    num(l, "max_message"));
	}
}

/*
 * A daemon's interfaces: the router's (counters in "counters") and the
 * store's (numbers in the entry: live flows, the join's counters and
 * the attribution ratio).  Nonzero numbers only, except the join's
 * numbers of a packet interface.
 */
static void
print_ifaces(const cJSON *ifs)
{
	const cJSON *i, *c, *ratio;
	const char *comp;
	int packet;

	cJSON_ArrayForEach(i, ifs) {
		comp = cJSON_GetStringValue(cJSON_GetObjectItem(i,
		    "companion"));
		printf("    iface %llu %s (%s%s%s%s)", num(i, "id"),
		    json_str(i, "name"), json_str(i, "kind"),
		    cJSON_IsTrue(cJSON_GetObjectItem(i, "mirrored")) ?
		    ", mirrored" : "", comp ? ", companion " : "",
		    comp ? comp : "");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(i, "counters"))
			if (cJSON_IsNumber(c) && c->valuedouble != 0)
				printf(" %s=%llu", c->string,
				    (unsigned long long)c->valuedouble);
		packet = strcmp(json_str(i, "kind"), "packet") == 0;
		cJSON_ArrayForEach(c, i)
			if (cJSON_IsNumber(c) && strcmp(c->string, "id") != 0 &&
			    strcmp(c->string, "db_id") != 0 &&
			    strcmp(c->string, "attribution_ratio") != 0 &&
			    (c->valuedouble != 0 || (packet &&
			    is_join_key(c->string))))
				printf(" %s=%llu", c->string,
				    (unsigned long long)c->valuedouble);
		ratio = cJSON_GetObjectItem(i, "attribution_ratio");
		if (cJSON_IsNumber(ratio))
			printf(" attribution=%.1f%%", ratio->valuedouble * 100);
		else if (packet && ratio != NULL)
			printf(" attribution=-");
		printf("\n");
	}
}

/* The daemon an output link's endpoint leads to: the daemon whose input
 * link has that endpoint, else by the default ipc names (a stopped
 * daemon says nothing of its inputs).  NULL if none is known. */
static const cJSON *
link_target(const cJSON *list, const char *ep)
{
	static const struct { const char *file, *role; } by_file[] = {
		{ "/store.ipc", "store" }, { "/router.ipc", "router" },
	};
	const cJSON *d, *l;
	size_t n = strlen(ep), f;
	unsigned k;

	cJSON_ArrayForEach(d, list)
		cJSON_ArrayForEach(l, cJSON_GetObjectItem(cJSON_GetObjectItem(d,
		    "stats"), "links"))
			if (strcmp(json_str(l, "dir"), "in") == 0 &&
			    strcmp(json_str(l, "endpoint"), ep) == 0)
				return d;
	for (k = 0; k < sizeof(by_file) / sizeof(by_file[0]); k++) {
		f = strlen(by_file[k].file);
		if (strncmp(ep, "ipc://", 6) != 0 || n < f ||
		    strcmp(ep + n - f, by_file[k].file) != 0)
			continue;
		cJSON_ArrayForEach(d, list)
			if (strcmp(json_str(d, "role"), by_file[k].role) == 0)
				return d;
	}
	return NULL;
}

/* 1 if `blocked` has an entry for `name`. */
static int
in_blocked(const cJSON *blocked, const char *name)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, blocked)
		if (strcmp(json_str(b, "name"), name) == 0)
			return 1;
	return 0;
}

/* The entry of `blocked` for stage `name`, made if new. */
static cJSON *
blocked_entry(cJSON *blocked, const char *name, const char *role)
{
	cJSON *b;

	cJSON_ArrayForEach(b, blocked)
		if (strcmp(json_str(b, "name"), name) == 0)
			return b;
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "name", name);
	cJSON_AddStringToObject(b, "role", role);
	cJSON_AddBoolToObject(b, "running", 1);
	cJSON_AddBoolToObject(b, "answering", 1);
	cJSON_AddNumberToObject(b, "since_usec", 0);
	cJSON_AddArrayToObject(b, "senders");
	cJSON_AddArrayToObject(b, "held_back");
	cJSON_AddArrayToObject(b, "unacknowledged");
	cJSON_AddItemToArray(blocked, b);
	return b;
}

/*
 * The stage a holding router waits for: the peer of its output link,
 * when its counter `holding` says it stopped reading because that link
 * is full (router/hold.c).  NULL if it is not holding.
 */
static const cJSON *
held_by(const cJSON *list, const cJSON *router)
{
	const cJSON *st = cJSON_GetObjectItem(router, "stats"), *l;

	if (strcmp(json_str(router, "role"), "router") != 0 ||
	    num(cJSON_GetObjectItem(st, "counters"), "holding") != 1)
		return NULL;
	cJSON_ArrayForEach(l, cJSON_GetObjectItem(st, "links"))
		if (strcmp(json_str(l, "dir"), "out") == 0)
			return link_target(list, json_str(l, "endpoint"));
	return NULL;
}

/*
 * Which stages hold the pipeline up: a daemon that does not answer its
 * control socket, and the peer of every output link that is down (its
 * sender queues, then drops: the peer is stopped, gone or too slow),
 * with the earliest down_since of the links to it.  A router that holds
 * its input because its own link is full is not the stage: a link down
 * to it counts for the stage it waits for, its sender listed there as
 * "SENDER via ROUTER" in held_back.  An array of {"name", "role",
 * "running", "answering", "since_usec", "senders", "held_back",
 * "unacknowledged"}: a sender whose replay buffer is full waits for the
 * store's acknowledgements.
 */
static cJSON *
find_blocked(const cJSON *list)
{
	cJSON *blocked = cJSON_CreateArray(), *b, *since;
	const cJSON *d, *l, *t, *h;
	unsigned long long at;
	char via[160];

	cJSON_ArrayForEach(d, list)
		if (!json_finished(d) && cJSON_GetObjectItem(d, "error") !=
		    NULL) {
			b = blocked_entry(blocked, json_str(d, "name"),
			    json_str(d, "role"));
			cJSON_ReplaceItemInObject(b, "answering",
			    cJSON_CreateFalse());
			cJSON_ReplaceItemInObject(b, "running",
			    cJSON_CreateBool(json_running(d)));
		}
	cJSON_ArrayForEach(d, list)
		cJSON_ArrayForEach(l, cJSON_GetObjectItem(cJSON_GetObjectItem(d,
		    "stats"), "links")) {
			if (strcmp(json_str(l, "dir"), "out") != 0 ||
			    strcmp(json_str(l, "peer"), "down") != 0)
				continue;
			t = link_target(list, json_str(l, "endpoint"));
			if (t != NULL && (h = held_by(list, t)) != NULL) {
				snprintf(via, sizeof(via), "%s via %s",
				    json_str(d, "name"), json_str(t, "name"));
				b = blocked_entry(blocked, json_str(h, "name"),
				    json_str(h, "role"));
				cJSON_AddItemToArray(cJSON_GetObjectItem(b,
				    "held_back"), cJSON_CreateString(via));
			} else {
				b = blocked_entry(blocked, t ? json_str(t,
				    "name") : json_str(l, "endpoint"), t ?
				    json_str(t, "role") : "?");
				cJSON_AddItemToArray(cJSON_GetObjectItem(b,
				    "senders"), cJSON_CreateString(json_str(d,
				    "name")));
			}
			since = cJSON_GetObjectItem(b, "since_usec");
			at = num(l, "down_since_usec");
			if (at != 0 && (since->valuedouble == 0 ||
			    (double)at < since->valuedouble))
				cJSON_SetNumberValue(since, (double)at);
		}
	/* A full replay buffer waits for the store's acknowledgements: the
	 * store is named for it unless another stage is blocked (a stopped
	 * router keeps records, and so acknowledgements, from the store). */
	for (t = list->child; t != NULL && strcmp(json_str(t, "role"),
	    "store") != 0; t = t->next)
		;
	if (cJSON_GetArraySize(blocked) > 0 && (t == NULL ||
	    !in_blocked(blocked, json_str(t, "name"))))
		return blocked;
	cJSON_ArrayForEach(d, list)
		cJSON_ArrayForEach(l, cJSON_GetObjectItem(cJSON_GetObjectItem(d,
		    "stats"), "links")) {
			if (strcmp(json_str(l, "dir"), "out") != 0 ||
			    !replay_full(l))
				continue;
			b = blocked_entry(blocked, t ? json_str(t, "name") :
			    "store", "store");
			cJSON_AddItemToArray(cJSON_GetObjectItem(b,
			    "unacknowledged"), cJSON_CreateString(json_str(d,
			    "name")));
		}
	return blocked;
}

/* The names in b's list `key` after `before`, then `after`; nothing if
 * the list is empty. */
static void
print_names(const cJSON *b, const char *key, const char *before,
    const char *after)
{
	const cJSON *l = cJSON_GetObjectItem(b, key), *s;

	if (cJSON_GetArraySize(l) == 0)
		return;
	printf("%s", before);
	cJSON_ArrayForEach(s, l)
		printf(" %s", cJSON_GetStringValue(s));
	printf("%s", after);
}

static void
print_blocked(const cJSON *blocked)
{
	const cJSON *b;
	char when[32];
	time_t since;
	unsigned n;

	if (cJSON_GetArraySize(blocked) == 0) {
		printf("\nblocked: none\n");
		return;
	}
	cJSON_ArrayForEach(b, blocked) {
		printf("\nBLOCKED: %s (%s)", json_str(b, "name"),
		    json_str(b, "role"));
		if (!cJSON_IsTrue(cJSON_GetObjectItem(b, "running")))
			printf(", not running");
		else if (!cJSON_IsTrue(cJSON_GetObjectItem(b, "answering")))
			printf(", not answering its control socket");
		if ((n = (unsigned)cJSON_GetArraySize(cJSON_GetObjectItem(b,
		    "senders"))) > 0) {
			printf(", %s sending to it ", n > 1 ? "links" :
			    "link");
			if (num(b, "since_usec") != 0) {
				since = (time_t)(num(b, "since_usec") /
				    1000000);
				strftime(when, sizeof(when), "%Y-%m-%d "
				    "%H:%M:%S", localtime(&since));
				printf("since %s (%llds) ", when,
				    (long long)(time(NULL) - since));
			}
			print_names(b, "senders", "from", " (peer down)");
		}
		print_names(b, "held_back", ", holding back", " (the router "
		    "holds its input while its link is full)");
		print_names(b, "unacknowledged", ", not acknowledging what",
		    " sent (replay buffer full: new records dropped)");
		printf("\n");
	}
}

int
cmd_status(const struct ctl_opts *o)
{
	char db[PATH_MAX + 16];
	unsigned long long agg[4][3];
	unsigned answered[4] = { 0 }, silent[4] = { 0 };
	int dash = 0;
	cJSON *sup, *list, *d, *st, *counters, *out, *pipe, *row, *blocked;
	const char **eps;
	struct buf *replies, why;
	const char *role;
	unsigned k, ok = 0, n = 0, nd;
	int *rc;

	memset(agg, 0, sizeof(agg));
	datadir_path(db, sizeof(db), o, "evflow.db");
	list = daemon_list(o, &sup);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "datadir", o->datadir);
	cJSON_AddStringToObject(out, "database", db);
	if (!o->json) {
		printf("database: %s\n", db);
		if (sup != NULL)
			printf("supervisor: pid %llu, %llu of %llu daemons "
			    "running, %llu restarts\n", num(sup, "pid"),
			    num(cJSON_GetObjectItem(sup, "counters"),
			    "running"), num(cJSON_GetObjectItem(sup,
			    "counters"), "daemons"), num(cJSON_GetObjectItem(
			    sup, "counters"), "restarts"));
		else if (sup_pid_alive(o) > 0)
			printf("supervisor: pid %ld does not answer within %d "
			    "ms (busy stopping daemons, or stopped)\n",
			    sup_pid_alive(o), CTL_SUP_TIMEOUT_MS);
		else
			printf("supervisor: not running in %s\n", o->datadir);
	}
	/* Every daemon at once, within CTL_STATUS_TIMEOUT_MS in all. */
	nd = (unsigned)cJSON_GetArraySize(list);
	eps = calloc(nd + 1, sizeof(*eps));
	replies = calloc(nd + 1, sizeof(*replies));
	rc = calloc(nd + 1, sizeof(*rc));
	if (eps == NULL || replies == NULL || rc == NULL) {
		fprintf(stderr, "evflowctl: out of memory\n");
		exit(1);
	}
	cJSON_ArrayForEach(d, list)
		if (!json_finished(d) && json_running(d) &&
		    cJSON_GetStringValue(cJSON_GetObjectItem(d, "ctl")) != NULL)
			eps[n++] = cJSON_GetStringValue(cJSON_GetObjectItem(d,
			    "ctl"));
	(void)ctl_request_all(eps, n, "stats", replies, rc,
	    CTL_STATUS_TIMEOUT_MS);
	k = 0;
	cJSON_ArrayForEach(d, list) {
		if (!json_finished(d) && !json_running(d))
			cJSON_AddStringToObject(d, "error", "not running "
			    "(exited: the supervisor restarts it)");
		if (json_finished(d) || !json_running(d) ||
		    cJSON_GetStringValue(cJSON_GetObjectItem(d, "ctl")) == NULL)
			continue;
		buf_init(&why);
		if ((st = parse_reply(&replies[k], rc[k], &why)) != NULL) {
			ok++;
			cJSON_AddItemToObject(d, "stats", st);
		} else
			cJSON_AddStringToObject(d, "error", why.p ? why.p :
			    "no reply");
		buf_free(&why);
		buf_free(&replies[k]);
		k++;
	}
	free(eps);
	free(replies);
	free(rc);
	n = 0;
	cJSON_ArrayForEach(d, list) {
		if (json_finished(d)) {
			if (!o->json && json_finish_error(d) != NULL)
				printf("\n%s (%s): ERROR: %s\n", json_str(d,
				    "name"), json_str(d, "role"),
				    json_finish_error(d));
			else if (!o->json)
				printf("\n%s (%s): finished\n", json_str(d,
				    "name"), json_str(d, "role"));
			continue;
		}
		n++;
		role = cJSON_GetStringValue(cJSON_GetObjectItem(d, "role"));
		st = cJSON_GetObjectItem(d, "stats");
		counters = cJSON_GetObjectItem(st, "counters");
		if (!o->json) {
			printf("\n%s (%s", json_str(d, "name"), json_str(d,
			    "role"));
			if (cJSON_GetObjectItem(d, "pid"))
				printf(", pid %llu, restarts %llu", num(d,
				    "pid"), num(d, "restarts"));
			printf(")%s%s\n", st ? "" : ": ", st ? "" :
			    json_str(d, "error"));
			if (counters)
				print_counters(counters);
			if (cJSON_GetObjectItem(st, "interfaces"))
				print_ifaces(cJSON_GetObjectItem(st,
				    "interfaces"));
			print_links(cJSON_GetObjectItem(st, "links"));
			print_write_state(st);
		}
		for (k = 0; role && stage_roles[k]; k++)
			if (strcmp(role, stage_roles[k]) == 0)
				silent[k] += st == NULL;
		for (k = 0; st != NULL && role && stage_roles[k]; k++)
			if (strcmp(role, stage_roles[k]) == 0) {
				answered[k]++;
				agg[k][0] += first_of(counters, received_keys);
				agg[k][1] += first_of(counters,
				    forwarded_keys);
				agg[k][2] += drops(counters);
			}
	}
	blocked = find_blocked(list);
	pipe = cJSON_AddObjectToObject(out, "pipeline");
	if (!o->json)
		printf("\npipeline     %14s %14s %14s\n", "received",
		    "forwarded/stored", "dropped");
	for (k = 0; stage_roles[k]; k++) {
		row = cJSON_AddObjectToObject(pipe, stage_roles[k]);
		cJSON_AddNumberToObject(row, "received", (double)agg[k][0]);
		cJSON_AddNumberToObject(row, k == 3 ? "stored" : "forwarded",
		    (double)agg[k][1]);
		cJSON_AddNumberToObject(row, "dropped", (double)agg[k][2]);
		/* a stage none of whose daemons answered has no numbers,
		 * not zeros; some silent: the sums are partial */
		cJSON_AddNumberToObject(row, "silent", silent[k]);
		if (o->json)
			continue;
		if (silent[k] > 0 && answered[k] == 0) {
			printf("  %-10s %14s %14s %14s\n", stage_roles[k], "-",
			    "-", "-");
			dash = 1;
		} else
			printf("  %-10s %14llu %14llu %14llu%s\n",
			    stage_roles[k], agg[k][0], agg[k][1], agg[k][2],
			    silent[k] > 0 ? "  (partial: some do not answer)" :
			    "");
	}
	if (dash)
		printf("  (-: no daemon of the stage answered)\n");
	if (!o->json && n > 0)
		print_blocked(blocked);
	if (o->json) {
		char *txt;

		cJSON_AddItemToObject(out, "blocked", blocked);
		blocked = NULL;
		cJSON_AddItemToObject(out, "supervisor", sup ? sup :
		    cJSON_CreateNull());
		sup = NULL;
		cJSON_AddItemToObject(out, "daemons", list);
		list = NULL;
		if ((txt = cJSON_Print(out)) != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
	}
	cJSON_Delete(blocked);
	cJSON_Delete(out);
	cJSON_Delete(list);
	cJSON_Delete(sup);
	if (n == 0 && !o->json)
		printf("no daemon running in %s\n", o->datadir);
	return n > 0 && ok == n ? 0 : 1;
}

int
cmd_ping(const struct ctl_opts *o)
{
	cJSON *sup, *list, *d;
	struct buf *replies;
	const char **eps;
	unsigned n = 0, k, nd;
	int *rc, ret = 0;

	list = daemon_list(o, &sup);
	if (sup != NULL)
		printf("%-16s %s\n", "evflowctl", "pong");
	nd = (unsigned)cJSON_GetArraySize(list);
	eps = calloc(nd + 1, sizeof(*eps));
	replies = calloc(nd + 1, sizeof(*replies));
	rc = calloc(nd + 1, sizeof(*rc));
	if (eps == NULL || replies == NULL || rc == NULL) {
		fprintf(stderr, "evflowctl: out of memory\n");
		exit(1);
	}
	cJSON_ArrayForEach(d, list)
		if (!json_finished(d))
			eps[n++] = cJSON_GetStringValue(cJSON_GetObjectItem(d,
			    "ctl"));
	for (k = 0; k < n; k++)
		if (eps[k] == NULL)
			eps[k] = "ipc://?";
	(void)ctl_request_all(eps, n, "ping", replies, rc,
	    CTL_STATUS_TIMEOUT_MS);
	k = 0;
	cJSON_ArrayForEach(d, list) {
		if (json_finished(d))
			continue;
		if (rc[k] == -1)
			ret = 1;
		printf("%-16s %.*s\n", json_str(d, "name"), (int)replies[k].len,
		    replies[k].p ? replies[k].p : "?");
		buf_free(&replies[k]);
		k++;
	}
	if (sup == NULL && nd == 0) {
		printf("nothing running in %s\n", o->datadir);
		ret = 1;
	}
	free(eps);
	free(replies);
	free(rc);
	cJSON_Delete(list);
	cJSON_Delete(sup);
	return ret;
}

static void
print_iface_table(const cJSON *ifs)
{
	const cJSON *i;
	const char *comp;

	printf("%-3s %-7s %-8s %-24s %-24s %12s\n", "ID", "KIND", "MIRRORED",
	    "NAME", "COMPANION", "DELIVERED");
	cJSON_ArrayForEach(i, ifs) {
		comp = cJSON_GetStringValue(cJSON_GetObjectItem(i,
		    "companion"));
		printf("%-3llu %-7s %-8s %-24s %-24s %12llu\n", num(i, "id"),
		    json_str(i, "kind"),
		    cJSON_IsTrue(cJSON_GetObjectItem(i, "mirrored")) ? "yes" :
		    "no", json_str(i, "name"),
		    comp ? comp : "-", num(cJSON_GetObjectItem(i, "counters"),
		    "delivered"));
	}
}

int
cmd_iface(const struct ctl_opts *o, int argc, char **argv)
{
	char ep[PATH_MAX + 80], req[CTL_MAX_REQUEST];
	struct buf b;
	cJSON *j;
	size_t off = 0;
	int k, rc = 0;

	if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "set") == 0 && argc != 4) ||
	    (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "set") != 0)) {
		fprintf(stderr, "usage: evflowctl iface [-d DATADIR] [--json] "
		    "list | set NAME mirrored yes|no | set NAME companion "
		    "OTHER|none\n");
		return 2;
	}
	off = (size_t)snprintf(req, sizeof(req), "iface");
	for (k = 0; k < argc && off < sizeof(req); k++)
		off += (size_t)snprintf(req + off, sizeof(req) - off, " %s",
		    argv[k]);
	if (off >= sizeof(req)) {
		fprintf(stderr, "evflowctl: request too long\n");
		return 2;
	}
	ctl_endpoint_of(ep, sizeof(ep), o, "router");
	buf_init(&b);
	if (ctl_request(ep, req, &b, CTL_TIMEOUT_MS) == -1) {
		fprintf(stderr, "evflowctl: router: %.*s\n", (int)b.len,
		    b.p ? b.p : "");
		buf_free(&b);
		return 1;
	}
	if (b.len >= 7 && strncmp(b.p, "error: ", 7) == 0) {
		fprintf(stderr, "evflowctl: %.*s\n", (int)b.len, b.p);
		rc = 1;
	} else if (strcmp(argv[0], "list") == 0 && !o->json &&
	    (j = cJSON_ParseWithLength(b.p, b.len)) != NULL) {
		print_iface_table(j);
		cJSON_Delete(j);
	} else
		printf("%.*s\n", (int)b.len, b.p ? b.p : "");
	buf_free(&b);
	return rc;
}
