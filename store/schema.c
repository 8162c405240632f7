/*
 * The database schema and its migrations.  docs/schema.md is the public
 * description of what this file creates; keep them in step.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "store.h"

/*
 * Migration steps: step i takes the database from version i to i + 1.
 * Append only; never edit a step that has shipped.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the tables. */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (0);"
	"CREATE TABLE interfaces (id INTEGER PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL, kind TEXT, router_id INTEGER,"
	" mirrored INTEGER, companion TEXT, first_seen REAL, last_seen REAL);"
	"CREATE TABLE interface_settings (name TEXT PRIMARY KEY,"
	" mirrored INTEGER, companion TEXT, updated REAL);"
	"CREATE TABLE flows (id INTEGER PRIMARY KEY,"
	" iface_id INTEGER NOT NULL, first_seen REAL, last_seen REAL,"
	" ip_version INTEGER, protocol INTEGER, vlan INTEGER,"
	" cli_addr TEXT, cli_port INTEGER, srv_addr TEXT, srv_port INTEGER,"
	" source TEXT, last_event TEXT, tcp_state TEXT,"
	" sides_guessed INTEGER, events INTEGER, updates INTEGER,"
	" c2s_packets INTEGER, c2s_bytes INTEGER,"
	" s2c_packets INTEGER, s2c_bytes INTEGER,"
	" c2s_wire_bytes INTEGER, s2c_wire_bytes INTEGER,"
	" c2s_retrans INTEGER, s2c_retrans INTEGER,"
	" cli_tcp_flags INTEGER, srv_tcp_flags INTEGER,"
	" nw_latency_ms REAL, cli_latency_ms REAL, srv_latency_ms REAL,"
	" rtt_ms REAL, rtt_var_ms REAL, segs_in INTEGER, segs_out INTEGER,"
	" unack_segs INTEGER, lost_packets INTEGER,"
	" bytes_rcvd INTEGER, bytes_acked INTEGER,"
	" ifname TEXT, exporter TEXT, producer INTEGER,"
	" cli_pid INTEGER, cli_tid INTEGER, cli_uid INTEGER, cli_user TEXT,"
	" cli_gid INTEGER, cli_grp TEXT, cli_process TEXT, cli_cmdline TEXT,"
	" cli_vm_size INTEGER, cli_vm_peak INTEGER,"
	" cli_parent_pid INTEGER, cli_parent_uid INTEGER,"
	" cli_parent_user TEXT, cli_parent_process TEXT,"
	" cli_parent_cmdline TEXT, cli_container_kind TEXT,"
	" cli_container_id TEXT, cli_container_name TEXT, cli_pod TEXT,"
	" cli_namespace TEXT,"
	" srv_pid INTEGER, srv_tid INTEGER, srv_uid INTEGER, srv_user TEXT,"
	" srv_gid INTEGER, srv_grp TEXT, srv_process TEXT, srv_cmdline TEXT,"
	" srv_vm_size INTEGER, srv_vm_peak INTEGER,"
	" srv_parent_pid INTEGER, srv_parent_uid INTEGER,"
	" srv_parent_user TEXT, srv_parent_process TEXT,"
	" srv_parent_cmdline TEXT, srv_container_kind TEXT,"
	" srv_container_id TEXT, srv_container_name TEXT, srv_pod TEXT,"
	" srv_namespace TEXT,"
	" extra TEXT);"
	"CREATE TABLE ifcounters (ts REAL, iface_id INTEGER,"
	" producer INTEGER, device TEXT, if_index INTEGER, if_name TEXT,"
	" if_speed INTEGER, admin_status INTEGER, oper_status INTEGER,"
	" promisc INTEGER, in_octets INTEGER, in_packets INTEGER,"
	" in_errors INTEGER, out_octets INTEGER, out_packets INTEGER,"
	" out_errors INTEGER, in_bps REAL, out_bps REAL, in_pps REAL,"
	" out_pps REAL);"
	"CREATE TABLE listening (id INTEGER PRIMARY KEY, iface_id INTEGER,"
	" host TEXT NOT NULL, protocol INTEGER, ip_version INTEGER,"
	" addr TEXT NOT NULL, port INTEGER, pid INTEGER,"
	" process TEXT NOT NULL, pkg TEXT, first_seen REAL, last_seen REAL,"
	" UNIQUE (iface_id, host, protocol, ip_version, addr, port, pid,"
	" process));"
	"CREATE TABLE producers (id INTEGER PRIMARY KEY, iface_id INTEGER,"
	" peer TEXT NOT NULL, source_id INTEGER, producer INTEGER,"
	" first_seen REAL, last_seen REAL, msgs INTEGER, events INTEGER,"
	" lost_msgs INTEGER, restarts INTEGER, bad_msgs INTEGER,"
	" probe_drops INTEGER, info TEXT,"
	" UNIQUE (iface_id, peer, source_id));"
	"CREATE TABLE daemon_counters (daemon TEXT, role TEXT, key TEXT,"
	" value INTEGER, updated REAL, PRIMARY KEY (daemon, key))"
	" WITHOUT ROWID;"
	"CREATE TABLE counter_history (ts REAL, daemon TEXT, key TEXT,"
	" value INTEGER);",

	/* 1 -> 2: views and the indexes queries need. */
	"CREATE VIEW flows_v AS SELECT f.*, i.name AS iface,"
	" i.kind AS iface_kind FROM flows f"
	" JOIN interfaces i ON i.id = f.iface_id;"
	"CREATE VIEW iface_attribution AS SELECT i.name AS iface,"
	" count(*) AS packet_flows,"
	" sum(f.cli_pid IS NOT NULL OR f.srv_pid IS NOT NULL) AS with_process,"
	" 1.0 * sum(f.cli_pid IS NOT NULL OR f.srv_pid IS NOT NULL) /"
	" count(*) AS ratio"
	" FROM flows f JOIN interfaces i ON i.id = f.iface_id"
	" WHERE f.source IN ('packet', 'joined') GROUP BY i.name;"
	"CREATE INDEX flows_last_seen ON flows (last_seen);"
	"CREATE INDEX flows_iface_last_seen ON flows (iface_id, last_seen);"
	"CREATE INDEX ifcounters_ts ON ifcounters (ts);"
	"CREATE INDEX counter_history_key ON counter_history"
	" (daemon, key, ts);",

	/* 2 -> 3: retention deletes samples by time alone. */
	"CREATE INDEX counter_history_ts ON counter_history (ts);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    SINK_SCHEMA_VERSION, "one migration step per schema version");

/* Reads schema_version; 0 for a database without one (a new file). */
static int
read_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = 0;

	if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Applies steps [from, to) in one transaction.  0 or -1 with err. */
static int
migrate(sqlite3 *db, int from, int to, char *err, size_t errlen)
{
	char *msg = NULL, sql[64];
	int v = from;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	for (v = from; v < to; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %d", v + 1);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (from < to)
		log_info("database schema migrated from version %d to %d",
		    from, to);
	return 0;
fail:
	snprintf(err, errlen, "schema migration %d -> %d: %s", v, v + 1,
	    msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
schema_upgrade(sqlite3 *db, int target, char *err, size_t errlen)
{
	int v = read_version(db);

	if (v > SINK_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: database schema version %d is newer "
		    "than this evflow-store supports (%d); refusing to start",
		    sqlite3_db_filename(db, "main"), v, SINK_SCHEMA_VERSION);
		return -1;
	}
	if (target > SINK_SCHEMA_VERSION || target < 1)
		target = SINK_SCHEMA_VERSION;
	if (v < target && migrate(db, v, target, err, errlen) == -1)
		return -1;
	return v > target ? v : target;
}
