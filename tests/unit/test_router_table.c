/* router/iface_table.c and iface_state.c: declaration, refusals,
 * companion rules, runtime changes, settings kept in the router's own
 * state file (round trip, order of entries, damaged files). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "router/router.h"
#include "t.h"

static struct conf_list ifs, mir, comp;

static void
lists(const char *i, const char *m, const char *c)
{
	char tmp[1024], *w, *save = NULL;

	memset(&ifs, 0, sizeof(ifs));
	memset(&mir, 0, sizeof(mir));
	memset(&comp, 0, sizeof(comp));
	snprintf(tmp, sizeof(tmp), "%s", i);
	for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
		snprintf(ifs.item[ifs.n++], CONF_STR_LEN, "%s", w);
	snprintf(tmp, sizeof(tmp), "%s", m);
	for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
		snprintf(mir.item[mir.n++], CONF_STR_LEN, "%s", w);
	/* companions are separated by ';' */
	snprintf(tmp, sizeof(tmp), "%s", c);
	for (w = strtok_r(tmp, ";", &save); w; w = strtok_r(NULL, ";", &save))
		snprintf(comp.item[comp.n++], CONF_STR_LEN, "%s", w);
}

/* Builds and returns 0/-1; err gets the reason. */
static int
build(struct iface_table *t, const char *i, const char *m, const char *c,
    char *err, size_t errlen)
{
	lists(i, m, c);
	err[0] = '\0';
	return iface_table_build(t, &ifs, &mir, &comp, err, errlen);
}

static void
test_build(struct iface_table *t)
{
	char err[256];

	CHECK(build(t, "tcp://*:1234c lo eth0 /tmp/x.pcap ipc:///tmp/a,tcp://*:5c",
	    "eth0", "tcp://*:1234c eth0", err, sizeof(err)) == 0);
	CHECK_EQ_U(t->n, 5);
	CHECK_EQ_U(t->ifs[0].kind, EVP_IFACE_ZMQ);
	CHECK_EQ_U(t->ifs[1].kind, EVP_IFACE_PACKET);
	CHECK_EQ_U(t->ifs[3].kind, EVP_IFACE_PACKET);
	CHECK_EQ_U(t->ifs[4].kind, EVP_IFACE_ZMQ);
	CHECK_EQ_U(t->ifs[2].id, 2);
	CHECK(t->ifs[2].mirrored);
	CHECK(!t->ifs[1].mirrored);
	CHECK_EQ_U(t->ifs[0].companion, 2);
	CHECK(t->ifs[4].companion == -1);
	CHECK(iface_table_find(t, "eth0") == &t->ifs[2]);
	CHECK(iface_table_find(t, "eth") == NULL);
	CHECK(iface_table_find(t, "tcp://*:1234") == NULL);
	CHECK(!t->ifs[0].changed && !t->ifs[2].changed);

	/* "ZMQ none" is accepted and means none. */
	CHECK(build(t, "tcp://*:1c eth0", "eth0", "tcp://*:1c eth0;tcp://*:1c none",
	    err, sizeof(err)) == 0);
	CHECK(t->ifs[0].companion == -1);
}

static void
test_refusals(struct iface_table *t)
{
	char err[256], many[64 * 8 + 16];
	unsigned k;
	size_t off = 0;

	CHECK(build(t, "eth0 eth0", "", "", err, sizeof(err)) == -1);
	CHECK(strstr(err, "declared twice") != NULL);
	CHECK(build(t, "tcp://*:1c eth0", "tcp://*:1c", "", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "only a packet interface") != NULL);
	CHECK(build(t, "tcp://*:1c eth0", "eth1", "", err, sizeof(err)) == -1);
	CHECK(strstr(err, "no interface named 'eth1'") != NULL);
	/* companion not mirrored */
	CHECK(build(t, "tcp://*:1c eth0", "", "tcp://*:1c eth0", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "not mirrored") != NULL);
	/* companion that is a ZMQ interface */
	CHECK(build(t, "tcp://*:1c tcp://*:2c", "", "tcp://*:1c tcp://*:2c",
	    err, sizeof(err)) == -1);
	CHECK(strstr(err, "must be a mirrored packet interface") != NULL);
	/* a packet interface cannot have a companion */
	CHECK(build(t, "eth1 eth0", "eth0", "eth1 eth0", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "only a ZMQ interface has a companion") != NULL);
	/* undeclared companion, malformed line */
	CHECK(build(t, "tcp://*:1c eth0", "eth0", "tcp://*:1c eth9", err,
	    sizeof(err)) == -1);
	CHECK(build(t, "tcp://*:1c eth0", "eth0", "tcp://*:1c", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "expected") != NULL);
	CHECK(build(t, "tcp://*:1c eth0", "eth0", "tcp://*:1c eth0 x", err,
	    sizeof(err)) == -1);
	/* 64 interfaces, the most a mask holds (and a conf_list) */
	for (k = 0; k < 64; k++)
		off += (size_t)snprintf(many + off, sizeof(many) - off, "e%u ",
		    k);
	CHECK(build(t, many, "", "", err, sizeof(err)) == 0);
	CHECK_EQ_U(t->n, 64);
	CHECK_EQ_U(t->ifs[63].id, 63);
}

static void
test_runtime(struct iface_table *t)
{
	char err[256];

	CHECK(build(t, "tcp://*:1c eth0 eth1", "", "", err, sizeof(err)) == 0);
	CHECK(iface_table_set_companion(t, "tcp://*:1c", "eth0", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "not mirrored") != NULL);
	CHECK(iface_table_set_mirrored(t, "tcp://*:1c", 1, err,
	    sizeof(err)) == -1);
	CHECK(iface_table_set_mirrored(t, "nope", 1, err, sizeof(err)) == -1);
	CHECK(iface_table_set_mirrored(t, "eth0", 1, err, sizeof(err)) == 0);
	CHECK(t->ifs[1].mirrored && t->ifs[1].changed);
	CHECK(iface_table_set_companion(t, "tcp://*:1c", "eth0", err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(t->ifs[0].companion, 1);
	CHECK(t->ifs[0].changed);
	CHECK(iface_table_set_companion(t, "eth1", "eth0", err,
	    sizeof(err)) == -1);
	/* un-marking a companion's mirrored flag is refused */
	CHECK(iface_table_set_mirrored(t, "eth0", 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is the companion of 'tcp://*:1c'") != NULL);
	CHECK(t->ifs[1].mirrored);
	CHECK(iface_table_set_companion(t, "tcp://*:1c", "none", err,
	    sizeof(err)) == 0);
	CHECK(t->ifs[0].companion == -1);
	CHECK(iface_table_set_mirrored(t, "eth0", 0, err, sizeof(err)) == 0);
	CHECK(!t->ifs[1].mirrored);
}

static void
test_wire_json(struct iface_table *t)
{
	struct evp_iface e;
	struct buf b;
	char err[256];

	CHECK(build(t, "tcp://*:1c eth0", "eth0", "tcp://*:1c eth0", err,
	    sizeof(err)) == 0);
	iface_to_evp(&t->ifs[0], &e);
	CHECK_EQ_U(e.companion, 2);	/* id + 1 */
	CHECK_EQ_U(e.kind, EVP_IFACE_ZMQ);
	CHECK_EQ_U(e.flags, 0);
	t->ifs[1].changed = 1;
	iface_to_evp(&t->ifs[1], &e);
	CHECK_EQ_U(e.flags, EVP_IFACE_F_CHANGED);
	CHECK_EQ_U(e.mirrored, 1);
	CHECK_EQ_U(e.companion, 0);
	CHECK_STR(e.name, "eth0");
	buf_init(&b);
	iface_table_json(&b, t);
	CHECK(buf_ok(&b));
	CHECK(strstr(b.p, "\"name\": \"tcp://*:1c\", \"kind\": \"zmq\", "
	    "\"mirrored\": false, \"companion\": \"eth0\"") != NULL);
	CHECK(strstr(b.p, "\"kind\": \"packet\", \"mirrored\": true, "
	    "\"companion\": null") != NULL);
	buf_free(&b);
}

/* Writes `text` to `path`. */
static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	CHECK(fp != NULL);
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* A damaged file: load fails, is counted, the file moves to .bad and
 * the state is empty. */
static void
damaged(struct router_state *s, const char *path, const char *text,
    const char *why)
{
	char err[256], bad[600];
	uint64_t before = s->damaged;

	put(path, text);
	state_init(s, path);
	s->damaged = before;
	err[0] = '\0';
	CHECK(state_load(s, err, sizeof(err)) == -1);
	CHECK_EQ_U(s->damaged, before + 1);
	CHECK_EQ_U(s->n, 0);
	if (strstr(err, why) == NULL)
		fprintf(stderr, "reason '%s', expected '%s'\n", err, why);
	CHECK(strstr(err, why) != NULL);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	CHECK(access(bad, F_OK) == 0 && access(path, F_OK) == -1);
	unlink(bad);
}

static void
test_state(struct iface_table *t, const char *dir)
{
	static struct router_state s, s2;
	char path[512], tmp[600], err[256];
	struct stat st;
	char *big;
	unsigned k;

	snprintf(path, sizeof(path), "%s/router.state", dir);
	/* No file: nothing applied, not an error, nothing created. */
	CHECK(build(t, "tcp://*:1c tcp://*:2c eth0 eth1 lo", "lo",
	    "tcp://*:2c lo", err, sizeof(err)) == 0);
	state_init(&s, path);
	CHECK(state_load(&s, err, sizeof(err)) == 0);
	CHECK_EQ_U(s.n, 0);
	CHECK_EQ_U(state_apply(&s, t), 0);
	CHECK(access(path, F_OK) == -1);

	/* Entries in an order that needs the passes: the companion line
	 * comes before its interface becomes mirrored; lo loses mirrored
	 * after the second ZMQ iface drops it as companion; an undeclared
	 * interface is kept but not applied. */
	put(path, "evflow-router-state 1\n"
	    "iface\ttcp://*:1c\tno\teth0\n"
	    "iface\tlo\tno\t-\n"
	    "iface\teth0\tyes\t-\n"
	    "iface\ttcp://*:2c\tno\t-\n"
	    "iface\tgone0\tyes\t-\n"
	    "iface\teth1\tno\teth0\n"
	    "end\n");
	CHECK(state_load(&s, err, sizeof(err)) == 0);
	CHECK_EQ_U(s.n, 6);
	CHECK_EQ_U(state_apply(&s, t), 5);
	CHECK(t->ifs[2].mirrored);		/* eth0 */
	CHECK_EQ_U(t->ifs[0].companion, 2);	/* zmq 1 -> eth0 */
	CHECK(t->ifs[1].companion == -1);	/* zmq 2 -> none */
	CHECK(!t->ifs[4].mirrored);		/* lo */
	CHECK(!t->ifs[3].mirrored);		/* eth1 */

	/* Round trip: a runtime change recorded and saved, read back. */
	CHECK(iface_table_set_mirrored(t, "eth1", 1, err, sizeof(err)) == 0);
	CHECK(iface_table_set_companion(t, "tcp://*:2c", "eth1", err,
	    sizeof(err)) == 0);
	CHECK(state_record(&s, t, iface_table_find(t, "eth1")) == 0);
	CHECK(state_record(&s, t, iface_table_find(t, "tcp://*:2c")) == 0);
	CHECK(state_save(&s, err, sizeof(err)) == 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) == -1);		/* renamed over */
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	state_init(&s2, path);
	CHECK(state_load(&s2, err, sizeof(err)) == 0);
	CHECK_EQ_U(s2.n, 6);			/* gone0 kept */
	CHECK(build(t, "tcp://*:1c tcp://*:2c eth0 eth1 lo", "", "", err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(state_apply(&s2, t), 5);
	CHECK(t->ifs[3].mirrored);		/* eth1 */
	CHECK_EQ_U(t->ifs[1].companion, 3);	/* zmq 2 -> eth1 */
	CHECK_EQ_U(t->ifs[0].companion, 2);	/* zmq 1 -> eth0 */

	/* A saved companion that the rules refuse is skipped. */
	put(path, "evflow-router-state 1\n"
	    "iface\ttcp://*:2c\tno\teth1\n"
	    "end\n");
	CHECK(build(t, "tcp://*:1c tcp://*:2c eth0 eth1 lo", "", "", err,
	    sizeof(err)) == 0);
	CHECK(state_load(&s, err, sizeof(err)) == 0);
	CHECK_EQ_U(state_apply(&s, t), 0);
	CHECK(t->ifs[1].companion == -1);	/* eth1 not mirrored */

	/* Damaged files: counted, kept aside, never fatal. */
	s.damaged = 0;
	damaged(&s, path, "", "no 'end'");
	damaged(&s, path, "evflow-router-state 2\nend\n", "line 1");
	damaged(&s, path, "hello\n", "line 1");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tyes\t-\n",
	    "no 'end'");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tyes\t-",
	    "no newline");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tmaybe\t-\n"
	    "end\n", "not yes or no");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tyes\n"
	    "end\n", "line 2");
	damaged(&s, path, "evflow-router-state 1\niface\t\tyes\t-\nend\n",
	    "bad name");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tyes\t-\n"
	    "iface\teth0\tno\t-\nend\n", "twice");
	damaged(&s, path, "evflow-router-state 1\nend\nend\n", "after 'end'");
	damaged(&s, path, "evflow-router-state 1\niface\teth0\tyes\t-\textra"
	    "\nend\n", "too many fields");
	CHECK_EQ_U(s.damaged, 11);
	/* Too many entries, and too large a file. */
	big = malloc(STATE_FILE_MAX + 64);
	CHECK(big != NULL);
	if (big != NULL) {
		size_t n = (size_t)snprintf(big, 64, "evflow-router-state 1\n");

		for (k = 0; k <= ROUTER_STATE_MAX; k++)
			n += (size_t)snprintf(big + n, 64, "iface\tif%u\tno\t-\n",
			    k);
		snprintf(big + n, 8, "end\n");
		damaged(&s, path, big, "more than");
		memset(big, 'x', STATE_FILE_MAX + 8);
		big[STATE_FILE_MAX + 8] = '\0';
		damaged(&s, path, big, "larger than");
		free(big);
	}

	/* A name the line format cannot hold is refused, not written. */
	CHECK(build(t, "eth\tx", "", "", err, sizeof(err)) == 0 ||
	    t->n == 0);
	if (t->n == 1)
		CHECK(state_record(&s, t, &t->ifs[0]) == -1);

	/* A directory that cannot take the file: save fails, counted. */
	state_init(&s, "/nonexistent-evflow-dir/router.state");
	CHECK(state_save(&s, err, sizeof(err)) == -1);
	CHECK_EQ_U(s.write_errors, 1);
}

int
main(void)
{
	struct iface_table *t = calloc(1, sizeof(*t));
	char dir[] = "/tmp/evflow-rt-XXXXXX", cmd[64];

	CHECK(mkdtemp(dir) != NULL);
	test_build(t);
	test_refusals(t);
	test_runtime(t);
	test_wire_json(t);
	test_state(t, dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	free(t);
	return t_done("test_router_table");
}
