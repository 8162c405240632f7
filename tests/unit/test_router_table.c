/* router/iface_table.c and iface_saved.c: declaration, refusals,
 * companion rules, runtime changes, settings read from a real SQLite
 * file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

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

static void
sql(sqlite3 *db, const char *q)
{
	char *msg = NULL;

	CHECK(sqlite3_exec(db, q, NULL, NULL, &msg) == SQLITE_OK);
	if (msg) {
		fprintf(stderr, "sql: %s\n", msg);
		sqlite3_free(msg);
	}
}

static void
test_saved(struct iface_table *t, const char *dir)
{
	char path[512], err[256];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/evflow.db", dir);
	/* No file: nothing applied, not an error. */
	CHECK(build(t, "tcp://*:1c tcp://*:2c eth0 eth1 lo", "lo",
	    "tcp://*:2c lo", err, sizeof(err)) == 0);
	CHECK(iface_saved_apply(t, path, err, sizeof(err)) == 0);
	CHECK(access(path, F_OK) == -1);	/* read-only: not created */

	/* A database without the table: nothing applied. */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE other(x)");
	CHECK(iface_saved_apply(t, path, err, sizeof(err)) == 0);

	/* Rows in an order that needs the passes: the companion row comes
	 * before its interface becomes mirrored; lo loses mirrored after
	 * the second ZMQ iface drops it as companion; unknown and invalid rows. */
	sql(db, "CREATE TABLE interface_settings(name TEXT PRIMARY KEY, "
	    "mirrored INTEGER, companion TEXT, updated REAL);"
	    "INSERT INTO interface_settings VALUES"
	    "('tcp://*:1c', 0, 'eth0', 1.0),"
	    "('lo', 0, NULL, 1.0),"
	    "('eth0', 1, NULL, 1.0),"
	    "('tcp://*:2c', 0, NULL, 1.0),"
	    "('gone0', 1, NULL, 1.0),"
	    "('eth1', 0, 'eth0', 1.0)");
	CHECK_EQ_U(iface_saved_apply(t, path, err, sizeof(err)), 5);
	CHECK(t->ifs[2].mirrored);		/* eth0 */
	CHECK_EQ_U(t->ifs[0].companion, 2);	/* zmq 1 -> eth0 */
	CHECK(t->ifs[1].companion == -1);	/* zmq 2 -> none */
	CHECK(!t->ifs[4].mirrored);		/* lo */
	CHECK(!t->ifs[3].mirrored);		/* eth1 */
	CHECK(!t->ifs[0].changed && !t->ifs[2].changed && !t->ifs[4].changed);

	/* A saved companion that the rules refuse is skipped. */
	sql(db, "UPDATE interface_settings SET mirrored = 0 WHERE name = 'eth0';"
	    "UPDATE interface_settings SET companion = 'eth1' "
	    "WHERE name = 'tcp://*:2c'");
	CHECK(build(t, "tcp://*:1c tcp://*:2c eth0 eth1 lo", "", "", err,
	    sizeof(err)) == 0);
	iface_saved_apply(t, path, err, sizeof(err));
	CHECK(t->ifs[0].companion == -1);	/* eth0 not mirrored */
	CHECK(t->ifs[1].companion == -1);	/* eth1 not mirrored */
	sqlite3_close(db);

	/* Not a database: an error, reported. */
	snprintf(path, sizeof(path), "%s/junk.db", dir);
	{
		FILE *fp = fopen(path, "w");

		CHECK(fp != NULL);
		if (fp) {
			fputs("this is not an SQLite database, not at all.....",
			    fp);
			fclose(fp);
		}
	}
	CHECK(iface_saved_apply(t, path, err, sizeof(err)) == -1);
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
	test_saved(t, dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	free(t);
	return t_done("test_router_table");
}
