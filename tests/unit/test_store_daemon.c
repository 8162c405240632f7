/*
 * The evflow-store binary itself: -n and its golden output, records
 * over a real nanomsg link (common/nnlink.h link_out), the control
 * socket's stats and flush, and SIGTERM writing everything before exit.  The flush interval is set to an hour
 * so the rows seen afterwards can only come from the exit path.
 * The binary is $EVFLOW_BUILD/bin/evflow-store (tests/run.sh sets it).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/nnlink.h"
#include "t.h"
#include "test_store_rec.h"

#define NFLOWS	500

static long long
q_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

/* The value of "key": N in a stats reply, or -1. */
static long long
stat_of(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	return atoll(p + strlen(pat));
}

/* -n prints the parsed configuration, in table order (a golden text),
 * and a bad value is refused with status 1. */
static void
test_check_config(const char *bin)
{
	static const char golden[] =
	    "datadir = /srv/evflow\n"
	    "name = store2\n"
	    "database = \n"
	    "store_endpoint = \n"
	    "log_level = 1\n"
	    "store.flush_interval = 1\n"
	    "store.flow_idle = 300\n"
	    "store.max_flows = 1000000\n"
	    "store.max_pending = 65536\n"
	    "store.max_memory = 536870912\n"
	    "store.join_window = 30\n"
	    "store.retention = 604800\n"
	    "store.max_db_size = 2147483648\n"
	    "store.write_retry_max = 67108864\n"
	    "store.cache_size = 67108864\n"
	    "store.wal_limit = 67108864\n"
	    "store.history_interval = 10\n"
	    "store.write_slice = 4096\n"
	    "store.sink = sqlite\n"
	    "clickhouse_shards = 127.0.0.1:8123\n"
	    "clickhouse_database = evflow\n"
	    "clickhouse_cluster = evflow\n"
	    "clickhouse_user = \n"
	    "store.clickhouse_max_memory = 268435456\n"
	    "store.clickhouse_batch = 16777216\n"
	    "store.clickhouse_flush = 1\n"
	    "store.clickhouse_retry_time = 300\n"
	    "store.clickhouse_timeout = 10\n"
	    "store.max_origins = 1024\n"
	    "link_max_message = 1048576\n"
	    "link_queue = 4194304\n"
	    "link_trusted_network = no\n"
	    "link_replay = 134217728\n"
	    "link_ack_timeout = 10\n"
	    "link_ack_endpoint = \n";
	char cmd[700], out[4096];
	FILE *fp;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s -n -d /srv/evflow -N store2 "
	    "-o store.flow_idle=5m -o store.max_db_size=2G", bin);
	CHECK((fp = popen(cmd, "r")) != NULL);
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	CHECK(pclose(fp) == 0);
	CHECK_STR(out, golden);
	snprintf(cmd, sizeof(cmd), "%s -n -o store.join_window=-1 2>/dev/null",
	    bin);
	CHECK(WEXITSTATUS(system(cmd)) == 1);
	snprintf(cmd, sizeof(cmd), "%s -n -o store.nonsense=1 2>/dev/null",
	    bin);
	CHECK(WEXITSTATUS(system(cmd)) == 1);
}

/* Waits until the store has received `want` records (a bounded wait
 * for a state, not a timing assertion); leaves the stats in *reply.
 * The sender never blocks: batches nanomsg did not take yet (the store
 * still connecting) wait in its queue until flushed again. */
static int
wait_received(struct link_out *out, const char *ctl, struct buf *reply,
    int want)
{
	int i, got = 0;

	for (i = 0; i < 200 && got < want; i++) {
		(void)link_out_flush(out);
		buf_reset(reply);
		if (ctl_request(ctl, "stats", reply, 500) == 0)
			got = (int)stat_of(reply->p, "received");
		if (got < want)
			usleep(50000);
	}
	return got;
}

int
main(void)
{
	const char *build = getenv("EVFLOW_BUILD");
	char dir[] = "/tmp/evflow-stored-XXXXXX", bin[512], ep[128], ctl[128];
	char db[128], err[256], cmd[600];
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct evp_iface ifc;
	struct link_out *out;
	struct buf reply;
	pid_t pid;
	int status, i, got;

	log_init("test_store_daemon", LOG_LVL_WARN);
	snprintf(bin, sizeof(bin), "%s/bin/evflow-store", build ? build :
	    "build");
	if (access(bin, X_OK) != 0) {
		printf("skip: %s not built\n", bin);
		return 77;
	}
	test_check_config(bin);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(ep, sizeof(ep), "ipc://%s/store.ipc", dir);
	snprintf(ctl, sizeof(ctl), "ipc://%s/store.ctl", dir);
	snprintf(db, sizeof(db), "%s/evflow.db", dir);
	if ((pid = fork()) == 0) {
		execl(bin, bin, "-d", dir, "-o", "store.flush_interval=1h",
		    (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	/* Ready when the control socket answers. */
	buf_init(&reply);
	for (i = 0; i < 100; i++) {
		buf_reset(&reply);
		if (ctl_request(ctl, "ping", &reply, 200) == 0)
			break;
		usleep(50000);
	}
	CHECK(i < 100);

	out = link_out_new(ep, 0, EVP_ROLE_ROUTER, "router", "", 1000, err,
	    sizeof(err));
	CHECK(out != NULL);
	memset(&ifc, 0, sizeof(ifc));
	ifc.kind = EVP_IFACE_ZMQ;
	snprintf(ifc.name, sizeof(ifc.name), "tcp://*:1234c");
	CHECK(link_out_put(out, EVP_IFACE, &ifc, sizeof(ifc)) == 0);
	for (i = 0; i < NFLOWS; i++) {
		if (i == NFLOWS / 2) {
			/* Half way: "flush" commits what arrived so far. */
			CHECK(link_out_flush(out) == 0);
			CHECK_EQ_U(wait_received(out, ctl, &reply,
			    NFLOWS / 2 + 1), NFLOWS / 2 + 1);
			buf_reset(&reply);
			CHECK(ctl_request(ctl, "flush", &reply, 5000) == 0);
			CHECK_STR(reply.p, "ok");
			CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"),
			    NFLOWS / 2);
		}
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.8.0.1",
		    1000 + (unsigned)i, "10.8.0.2", 80, 1);
		rec_proc(r, 0, 4242, "/usr/bin/curl", "alice");
		CHECK(link_out_put(out, EVP_FLOW, r, evp_flow_len(r)) == 0);
	}
	CHECK(link_out_flush(out) == 0);
	got = wait_received(out, ctl, &reply, NFLOWS + 1);
	CHECK_EQ_U(got, NFLOWS + 1);
	CHECK_EQ_U(stat_of(reply.p, "stored"), NFLOWS + 1);
	CHECK_EQ_U(stat_of(reply.p, "live_flows"), NFLOWS);
	CHECK(strstr(reply.p, "\"role\": \"store\"") != NULL);
	CHECK(strstr(reply.p, "\"name\": \"tcp://*:1234c\"") != NULL);
	buf_reset(&reply);
	CHECK(ctl_request(ctl, "nonsense", &reply, 500) == 0);
	CHECK(strncmp(reply.p, "error: ", 7) == 0);
	/* Nothing more committed (flush interval one hour)... */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), NFLOWS / 2);
	/* ... SIGTERM writes everything first. */
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'tcp://*:1234c' AND cli_process = '/usr/bin/curl'"), NFLOWS);
	CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'store' AND key = 'received'"), NFLOWS + 1);
	CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'store' AND key = 'flows_written'"), NFLOWS);

	link_out_free(out);
	buf_free(&reply);
	free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done("test_store_daemon");
}
