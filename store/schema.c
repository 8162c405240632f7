/*
 * The database schema and its migrations.  docs/schema.md is the public
 * description of what this file creates; keep them in step.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "../common/community_id.h"
#include "../common/log.h"
#include "store.h"

/*
 * Parts of the `flows` view and of its INSERT trigger that every
 * version since 4 shares (a later version appends its own columns).
 */
#define FLOWS_VIEW_COLS \
	"f.id, f.iface_id, f.first_seen, f.last_seen, f.ip_version," \
	" f.protocol, f.vlan, f.cli_addr, f.cli_port, f.srv_addr," \
	" f.srv_port, f.source, f.last_event, f.tcp_state," \
	" f.sides_guessed, f.events, f.updates, f.c2s_packets," \
	" f.c2s_bytes, f.s2c_packets, f.s2c_bytes, f.c2s_wire_bytes," \
	" f.s2c_wire_bytes, f.c2s_retrans, f.s2c_retrans," \
	" f.cli_tcp_flags, f.srv_tcp_flags, f.nw_latency_ms," \
	" f.cli_latency_ms, f.srv_latency_ms, f.rtt_ms, f.rtt_var_ms," \
	" f.segs_in, f.segs_out, f.unack_segs, f.lost_packets," \
	" f.bytes_rcvd, f.bytes_acked, f.ifname, f.exporter, f.producer," \
	" cp.pid AS cli_pid, cp.tid AS cli_tid, cp.uid AS cli_uid," \
	" cp.user AS cli_user, cp.gid AS cli_gid, cp.grp AS cli_grp," \
	" cp.process AS cli_process, cp.cmdline AS cli_cmdline," \
	" cp.vm_size AS cli_vm_size, cp.vm_peak AS cli_vm_peak, cpp.pid" \
	" AS cli_parent_pid, cpp.uid AS cli_parent_uid, cpp.user AS" \
	" cli_parent_user, cpp.process AS cli_parent_process, cpp.cmdline" \
	" AS cli_parent_cmdline, cc.kind AS cli_container_kind," \
	" cc.container_id AS cli_container_id, cc.name AS" \
	" cli_container_name, cc.pod AS cli_pod, cc.namespace AS" \
	" cli_namespace, sp.pid AS srv_pid, sp.tid AS srv_tid, sp.uid AS" \
	" srv_uid, sp.user AS srv_user, sp.gid AS srv_gid, sp.grp AS" \
	" srv_grp, sp.process AS srv_process, sp.cmdline AS srv_cmdline," \
	" sp.vm_size AS srv_vm_size, sp.vm_peak AS srv_vm_peak, spp.pid" \
	" AS srv_parent_pid, spp.uid AS srv_parent_uid, spp.user AS" \
	" srv_parent_user, spp.process AS srv_parent_process, spp.cmdline" \
	" AS srv_parent_cmdline, sc.kind AS srv_container_kind," \
	" sc.container_id AS srv_container_id, sc.name AS" \
	" srv_container_name, sc.pod AS srv_pod, sc.namespace AS" \
	" srv_namespace, f.extra"
#define FLOWS_VIEW_FROM \
	" FROM flow_rows f LEFT JOIN processes cp ON cp.id =" \
	" f.cli_proc_id LEFT JOIN processes cpp ON cpp.id =" \
	" f.cli_parent_id LEFT JOIN containers cc ON cc.id =" \
	" f.cli_cont_id LEFT JOIN processes sp ON sp.id = f.srv_proc_id" \
	" LEFT JOIN processes spp ON spp.id = f.srv_parent_id LEFT JOIN" \
	" containers sc ON sc.id = f.srv_cont_id"
#define FLOWS_INSERT_COLS \
	"id, iface_id, first_seen, last_seen, ip_version, protocol, vlan," \
	" cli_addr, cli_port, srv_addr, srv_port, source, last_event," \
	" tcp_state, sides_guessed, events, updates, c2s_packets," \
	" c2s_bytes, s2c_packets, s2c_bytes, c2s_wire_bytes," \
	" s2c_wire_bytes, c2s_retrans, s2c_retrans, cli_tcp_flags," \
	" srv_tcp_flags, nw_latency_ms, cli_latency_ms, srv_latency_ms," \
	" rtt_ms, rtt_var_ms, segs_in, segs_out, unack_segs," \
	" lost_packets, bytes_rcvd, bytes_acked, ifname, exporter," \
	" producer, extra"
#define FLOWS_INSERT_VALUES \
	"NEW.id, NEW.iface_id, NEW.first_seen, NEW.last_seen," \
	" NEW.ip_version, NEW.protocol, NEW.vlan, NEW.cli_addr," \
	" NEW.cli_port, NEW.srv_addr, NEW.srv_port, NEW.source," \
	" NEW.last_event, NEW.tcp_state, NEW.sides_guessed, NEW.events," \
	" NEW.updates, NEW.c2s_packets, NEW.c2s_bytes, NEW.s2c_packets," \
	" NEW.s2c_bytes, NEW.c2s_wire_bytes, NEW.s2c_wire_bytes," \
	" NEW.c2s_retrans, NEW.s2c_retrans, NEW.cli_tcp_flags," \
	" NEW.srv_tcp_flags, NEW.nw_latency_ms, NEW.cli_latency_ms," \
	" NEW.srv_latency_ms, NEW.rtt_ms, NEW.rtt_var_ms, NEW.segs_in," \
	" NEW.segs_out, NEW.unack_segs, NEW.lost_packets, NEW.bytes_rcvd," \
	" NEW.bytes_acked, NEW.ifname, NEW.exporter, NEW.producer," \
	" NEW.extra"
/* The trigger's statements after its INSERT INTO flow_rows: the
 * processes and containers a row inserted through `flows` names. */
#define FLOWS_INSERT_REFS \
	" INSERT INTO processes (pid, tid, uid, user, gid, grp, process," \
	" cmdline, vm_size, vm_peak) SELECT NEW.cli_pid, NEW.cli_tid," \
	" NEW.cli_uid, NEW.cli_user, NEW.cli_gid, NEW.cli_grp," \
	" NEW.cli_process, NEW.cli_cmdline, NEW.cli_vm_size," \
	" NEW.cli_vm_peak WHERE NEW.cli_pid IS NOT NULL; UPDATE flow_rows" \
	" SET cli_proc_id = last_insert_rowid() WHERE NEW.cli_pid IS NOT" \
	" NULL AND id = coalesce(NEW.id, (SELECT max(id) FROM" \
	" flow_rows)); INSERT INTO processes (pid, tid, uid, user, gid," \
	" grp, process, cmdline, vm_size, vm_peak) SELECT" \
	" NEW.cli_parent_pid, NULL, NEW.cli_parent_uid," \
	" NEW.cli_parent_user, NULL, NULL, NEW.cli_parent_process," \
	" NEW.cli_parent_cmdline, NULL, NULL WHERE NEW.cli_parent_pid IS" \
	" NOT NULL; UPDATE flow_rows SET cli_parent_id =" \
	" last_insert_rowid() WHERE NEW.cli_parent_pid IS NOT NULL AND id" \
	" = coalesce(NEW.id, (SELECT max(id) FROM flow_rows)); INSERT" \
	" INTO containers (kind, container_id, name, pod, namespace)" \
	" SELECT NEW.cli_container_kind, NEW.cli_container_id," \
	" NEW.cli_container_name, NEW.cli_pod, NEW.cli_namespace WHERE" \
	" coalesce(NEW.cli_container_kind, NEW.cli_container_id," \
	" NEW.cli_container_name, NEW.cli_pod, NEW.cli_namespace) IS NOT" \
	" NULL; UPDATE flow_rows SET cli_cont_id = last_insert_rowid()" \
	" WHERE coalesce(NEW.cli_container_kind, NEW.cli_container_id," \
	" NEW.cli_container_name, NEW.cli_pod, NEW.cli_namespace) IS NOT" \
	" NULL AND id = coalesce(NEW.id, (SELECT max(id) FROM" \
	" flow_rows)); INSERT INTO processes (pid, tid, uid, user, gid," \
	" grp, process, cmdline, vm_size, vm_peak) SELECT NEW.srv_pid," \
	" NEW.srv_tid, NEW.srv_uid, NEW.srv_user, NEW.srv_gid," \
	" NEW.srv_grp, NEW.srv_process, NEW.srv_cmdline, NEW.srv_vm_size," \
	" NEW.srv_vm_peak WHERE NEW.srv_pid IS NOT NULL; UPDATE flow_rows" \
	" SET srv_proc_id = last_insert_rowid() WHERE NEW.srv_pid IS NOT" \
	" NULL AND id = coalesce(NEW.id, (SELECT max(id) FROM" \
	" flow_rows)); INSERT INTO processes (pid, tid, uid, user, gid," \
	" grp, process, cmdline, vm_size, vm_peak) SELECT" \
	" NEW.srv_parent_pid, NULL, NEW.srv_parent_uid," \
	" NEW.srv_parent_user, NULL, NULL, NEW.srv_parent_process," \
	" NEW.srv_parent_cmdline, NULL, NULL WHERE NEW.srv_parent_pid IS" \
	" NOT NULL; UPDATE flow_rows SET srv_parent_id =" \
	" last_insert_rowid() WHERE NEW.srv_parent_pid IS NOT NULL AND id" \
	" = coalesce(NEW.id, (SELECT max(id) FROM flow_rows)); INSERT" \
	" INTO containers (kind, container_id, name, pod, namespace)" \
	" SELECT NEW.srv_container_kind, NEW.srv_container_id," \
	" NEW.srv_container_name, NEW.srv_pod, NEW.srv_namespace WHERE" \
	" coalesce(NEW.srv_container_kind, NEW.srv_container_id," \
	" NEW.srv_container_name, NEW.srv_pod, NEW.srv_namespace) IS NOT" \
	" NULL; UPDATE flow_rows SET srv_cont_id = last_insert_rowid()" \
	" WHERE coalesce(NEW.srv_container_kind, NEW.srv_container_id," \
	" NEW.srv_container_name, NEW.srv_pod, NEW.srv_namespace) IS NOT" \
	" NULL AND id = coalesce(NEW.id, (SELECT max(id) FROM" \
	" flow_rows)); END;"

/* Version 5's columns, in the view, the trigger's column list and its
 * values. */
#define FLOWS_V5_COLS \
	"f.community_id, f.app_proto, f.app_category, f.tls_sni, f.ja3," \
	" f.ja3s, f.ja4, f.http_host, f.dns_query"
#define FLOWS_V5_INSERT \
	"community_id, app_proto, app_category, tls_sni, ja3, ja3s, ja4," \
	" http_host, dns_query"
#define FLOWS_V5_VALUES \
	"NEW.community_id, NEW.app_proto, NEW.app_category, NEW.tls_sni," \
	" NEW.ja3, NEW.ja3s, NEW.ja4, NEW.http_host, NEW.dns_query"

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

	/*
	 * 3 -> 4: processes and containers are rows of their own, which
	 * the stored flow rows (flow_rows) refer to by id; `flows` becomes
	 * a view with exactly the columns the table had, insertable and
	 * deletable through triggers, so readers and SQL written for
	 * version 3 see no change.  A row of 82 columns, 40 of them a
	 * process twice over, cost the writer twice what one of 47 does.
	 * The old rows move: their distinct processes and containers
	 * first, then each row with its references (found through
	 * indexes on the contents that live only for the migration).
	 */
	"CREATE TABLE processes (id INTEGER PRIMARY KEY, pid INTEGER, tid"
	" INTEGER, uid INTEGER, user TEXT, gid INTEGER, grp TEXT, process"
	" TEXT, cmdline TEXT, vm_size INTEGER, vm_peak INTEGER);"
	"CREATE TABLE containers (id INTEGER PRIMARY KEY, kind TEXT,"
	" container_id TEXT, name TEXT, pod TEXT, namespace TEXT);"
	"CREATE TABLE flow_rows (id INTEGER PRIMARY KEY, iface_id INTEGER"
	" NOT NULL, first_seen REAL, last_seen REAL, ip_version INTEGER,"
	" protocol INTEGER, vlan INTEGER, cli_addr TEXT, cli_port INTEGER,"
	" srv_addr TEXT, srv_port INTEGER, source TEXT, last_event TEXT,"
	" tcp_state TEXT, sides_guessed INTEGER, events INTEGER, updates"
	" INTEGER, c2s_packets INTEGER, c2s_bytes INTEGER, s2c_packets"
	" INTEGER, s2c_bytes INTEGER, c2s_wire_bytes INTEGER,"
	" s2c_wire_bytes INTEGER, c2s_retrans INTEGER, s2c_retrans INTEGER,"
	" cli_tcp_flags INTEGER, srv_tcp_flags INTEGER, nw_latency_ms REAL,"
	" cli_latency_ms REAL, srv_latency_ms REAL, rtt_ms REAL, rtt_var_ms"
	" REAL, segs_in INTEGER, segs_out INTEGER, unack_segs INTEGER,"
	" lost_packets INTEGER, bytes_rcvd INTEGER, bytes_acked INTEGER,"
	" ifname TEXT, exporter TEXT, producer INTEGER, cli_proc_id"
	" INTEGER, cli_parent_id INTEGER, cli_cont_id INTEGER, srv_proc_id"
	" INTEGER, srv_parent_id INTEGER, srv_cont_id INTEGER, extra TEXT);"
	"INSERT INTO processes (pid, tid, uid, user, gid, grp, process,"
	" cmdline, vm_size, vm_peak) SELECT cli_pid, cli_tid, cli_uid,"
	" cli_user, cli_gid, cli_grp, cli_process, cli_cmdline,"
	" cli_vm_size, cli_vm_peak FROM flows WHERE cli_pid IS NOT NULL"
	" UNION SELECT cli_parent_pid, NULL, cli_parent_uid,"
	" cli_parent_user, NULL, NULL, cli_parent_process,"
	" cli_parent_cmdline, NULL, NULL FROM flows WHERE cli_parent_pid IS"
	" NOT NULL UNION SELECT srv_pid, srv_tid, srv_uid, srv_user,"
	" srv_gid, srv_grp, srv_process, srv_cmdline, srv_vm_size,"
	" srv_vm_peak FROM flows WHERE srv_pid IS NOT NULL UNION SELECT"
	" srv_parent_pid, NULL, srv_parent_uid, srv_parent_user, NULL,"
	" NULL, srv_parent_process, srv_parent_cmdline, NULL, NULL FROM"
	" flows WHERE srv_parent_pid IS NOT NULL;"
	"INSERT INTO containers (kind, container_id, name, pod, namespace)"
	" SELECT cli_container_kind, cli_container_id, cli_container_name,"
	" cli_pod, cli_namespace FROM flows WHERE"
	" coalesce(cli_container_kind, cli_container_id,"
	" cli_container_name, cli_pod, cli_namespace) IS NOT NULL UNION"
	" SELECT srv_container_kind, srv_container_id, srv_container_name,"
	" srv_pod, srv_namespace FROM flows WHERE"
	" coalesce(srv_container_kind, srv_container_id,"
	" srv_container_name, srv_pod, srv_namespace) IS NOT NULL;"
	"CREATE INDEX migrate_processes ON processes (pid, tid, uid, user,"
	" gid, grp, process, cmdline, vm_size, vm_peak);"
	"CREATE INDEX migrate_containers ON containers (kind, container_id,"
	" name, pod, namespace);"
	"INSERT INTO flow_rows SELECT f.id, f.iface_id, f.first_seen,"
	" f.last_seen, f.ip_version, f.protocol, f.vlan, f.cli_addr,"
	" f.cli_port, f.srv_addr, f.srv_port, f.source, f.last_event,"
	" f.tcp_state, f.sides_guessed, f.events, f.updates, f.c2s_packets,"
	" f.c2s_bytes, f.s2c_packets, f.s2c_bytes, f.c2s_wire_bytes,"
	" f.s2c_wire_bytes, f.c2s_retrans, f.s2c_retrans, f.cli_tcp_flags,"
	" f.srv_tcp_flags, f.nw_latency_ms, f.cli_latency_ms,"
	" f.srv_latency_ms, f.rtt_ms, f.rtt_var_ms, f.segs_in, f.segs_out,"
	" f.unack_segs, f.lost_packets, f.bytes_rcvd, f.bytes_acked,"
	" f.ifname, f.exporter, f.producer, (SELECT p.id FROM processes p"
	" WHERE p.pid IS f.cli_pid AND p.tid IS f.cli_tid AND p.uid IS"
	" f.cli_uid AND p.user IS f.cli_user AND p.gid IS f.cli_gid AND"
	" p.grp IS f.cli_grp AND p.process IS f.cli_process AND p.cmdline"
	" IS f.cli_cmdline AND p.vm_size IS f.cli_vm_size AND p.vm_peak IS"
	" f.cli_vm_peak LIMIT 1), (SELECT p.id FROM processes p WHERE p.pid"
	" IS f.cli_parent_pid AND p.tid IS NULL AND p.uid IS"
	" f.cli_parent_uid AND p.user IS f.cli_parent_user AND p.gid IS"
	" NULL AND p.grp IS NULL AND p.process IS f.cli_parent_process AND"
	" p.cmdline IS f.cli_parent_cmdline AND p.vm_size IS NULL AND"
	" p.vm_peak IS NULL LIMIT 1), (SELECT c.id FROM containers c WHERE"
	" c.kind IS f.cli_container_kind AND c.container_id IS"
	" f.cli_container_id AND c.name IS f.cli_container_name AND c.pod"
	" IS f.cli_pod AND c.namespace IS f.cli_namespace LIMIT 1), (SELECT"
	" p.id FROM processes p WHERE p.pid IS f.srv_pid AND p.tid IS"
	" f.srv_tid AND p.uid IS f.srv_uid AND p.user IS f.srv_user AND"
	" p.gid IS f.srv_gid AND p.grp IS f.srv_grp AND p.process IS"
	" f.srv_process AND p.cmdline IS f.srv_cmdline AND p.vm_size IS"
	" f.srv_vm_size AND p.vm_peak IS f.srv_vm_peak LIMIT 1), (SELECT"
	" p.id FROM processes p WHERE p.pid IS f.srv_parent_pid AND p.tid"
	" IS NULL AND p.uid IS f.srv_parent_uid AND p.user IS"
	" f.srv_parent_user AND p.gid IS NULL AND p.grp IS NULL AND"
	" p.process IS f.srv_parent_process AND p.cmdline IS"
	" f.srv_parent_cmdline AND p.vm_size IS NULL AND p.vm_peak IS NULL"
	" LIMIT 1), (SELECT c.id FROM containers c WHERE c.kind IS"
	" f.srv_container_kind AND c.container_id IS f.srv_container_id AND"
	" c.name IS f.srv_container_name AND c.pod IS f.srv_pod AND"
	" c.namespace IS f.srv_namespace LIMIT 1), f.extra FROM flows f;"
	"DROP INDEX migrate_processes;"
	"DROP INDEX migrate_containers;"
	"DROP VIEW flows_v;"
	"DROP VIEW iface_attribution;"
	"DROP TABLE flows;"
	"CREATE INDEX flows_last_seen ON flow_rows (last_seen);"
	"CREATE INDEX flows_iface_last_seen ON flow_rows (iface_id,"
	" last_seen);"
	"CREATE VIEW flows AS SELECT " FLOWS_VIEW_COLS FLOWS_VIEW_FROM ";"
	"CREATE VIEW flows_v AS SELECT f.*, i.name AS iface, i.kind AS"
	" iface_kind FROM flows f JOIN interfaces i ON i.id = f.iface_id;"
	"CREATE VIEW iface_attribution AS SELECT i.name AS iface, count(*)"
	" AS packet_flows, sum(f.cli_proc_id IS NOT NULL OR f.srv_proc_id"
	" IS NOT NULL) AS with_process, 1.0 * sum(f.cli_proc_id IS NOT NULL"
	" OR f.srv_proc_id IS NOT NULL) / count(*) AS ratio FROM flow_rows"
	" f JOIN interfaces i ON i.id = f.iface_id WHERE f.source IN"
	" ('packet', 'joined') GROUP BY i.name;"
	"CREATE TRIGGER flows_insert INSTEAD OF INSERT ON flows BEGIN"
	" INSERT INTO flow_rows (" FLOWS_INSERT_COLS ") VALUES ("
	FLOWS_INSERT_VALUES ");" FLOWS_INSERT_REFS
	"CREATE TRIGGER flows_delete INSTEAD OF DELETE ON flows BEGIN"
	" DELETE FROM flow_rows WHERE id = OLD.id; END;",
	/*
	 * 4 -> 5: what a flow is (issue 15).  The Community ID of every
	 * row (computed once, when the row is first written; the rows
	 * before this version get theirs here), indexed for joins with
	 * other tools; the application protocol and what the capture's
	 * DPI extracted; and the names the capture saw for addresses.
	 * `flows` gains the new columns at its end.
	 */
	"ALTER TABLE flow_rows ADD COLUMN community_id TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN app_proto TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN app_category TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN tls_sni TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN ja3 TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN ja3s TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN ja4 TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN http_host TEXT;"
	"ALTER TABLE flow_rows ADD COLUMN dns_query TEXT;"
	"UPDATE flow_rows SET community_id = evflow_community_id(protocol,"
	" cli_addr, cli_port, srv_addr, srv_port, CASE WHEN"
	" json_valid(extra) THEN json_extract(extra, '$.ICMP_TYPE') END,"
	" CASE WHEN json_valid(extra) THEN json_extract(extra,"
	" '$.ICMP_CODE') END);"
	/* The index holds 8 characters (48 bits) of the hash: a random
	 * key of 30 bytes cost the writer half its rows/s (every commit
	 * rewrote pages all over the index); 8 cost about a tenth.  A
	 * query names the same expression, then the whole ID. */
	"CREATE INDEX flows_community_id ON flow_rows (substr(community_id,"
	" 3, 8));"
	"CREATE TABLE host_names (addr TEXT NOT NULL, name TEXT NOT NULL,"
	" source TEXT, first_seen REAL, last_seen REAL,"
	" PRIMARY KEY (addr, name)) WITHOUT ROWID;"
	"CREATE INDEX host_names_name ON host_names (name);"
	"DROP VIEW flows_v;"
	"DROP VIEW flows;"
	"CREATE VIEW flows AS SELECT " FLOWS_VIEW_COLS ", " FLOWS_V5_COLS
	FLOWS_VIEW_FROM ";"
	"CREATE VIEW flows_v AS SELECT f.*, i.name AS iface, i.kind AS"
	" iface_kind FROM flows f JOIN interfaces i ON i.id = f.iface_id;"
	"CREATE TRIGGER flows_insert INSTEAD OF INSERT ON flows BEGIN"
	" INSERT INTO flow_rows (" FLOWS_INSERT_COLS ", " FLOWS_V5_INSERT
	") VALUES (" FLOWS_INSERT_VALUES ", " FLOWS_V5_VALUES ");"
	FLOWS_INSERT_REFS
	"CREATE TRIGGER flows_delete INSTEAD OF DELETE ON flows BEGIN"
	" DELETE FROM flow_rows WHERE id = OLD.id; END;",
	/*
	 * 5 -> 6: every daemon's counters are totals since the database
	 * began.  `base` is what the daemon's earlier runs counted (folded
	 * in when the store sees it restart); value = base + this run's.
	 */
	"ALTER TABLE daemon_counters ADD COLUMN base INTEGER NOT NULL"
	" DEFAULT 0;",
	/*
	 * 6 -> 7: the Community ID's index is an integer key, the row's
	 * id bucket first (common/community_id.h): the 8-character
	 * random key of version 5 made every commit rewrite pages all over
	 * the index (the store's largest cost per inserted row, growing
	 * with the database); keyed by bucket, a commit writes the newest
	 * bucket's pages only.  The trigger of `flows` fills the key too.
	 */
	"ALTER TABLE flow_rows ADD COLUMN community_key INTEGER;"
	"UPDATE flow_rows SET community_key = " COMMUNITY_KEY_SQL("id",
	"community_id") " WHERE community_id IS NOT NULL;"
	"DROP INDEX flows_community_id;"
	"CREATE INDEX flows_community_key ON flow_rows (community_key);"
	"DROP TRIGGER flows_insert;"
	"CREATE TRIGGER flows_insert INSTEAD OF INSERT ON flows BEGIN"
	" INSERT INTO flow_rows (" FLOWS_INSERT_COLS ", " FLOWS_V5_INSERT
	") VALUES (" FLOWS_INSERT_VALUES ", " FLOWS_V5_VALUES ");"
	" UPDATE flow_rows SET community_key = " COMMUNITY_KEY_SQL("id",
	"community_id") " WHERE NEW.community_id IS NOT NULL AND id ="
	" coalesce(NEW.id, (SELECT max(id) FROM flow_rows));"
	FLOWS_INSERT_REFS,
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

/* The one integer a statement returns; -1 if it fails (err set). */
static long long
query_ll(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sqlite3_db_filename(db, "main"),
		    sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		snprintf(err, errlen, "%s: %s", sqlite3_db_filename(db, "main"),
		    sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return v;
}

/*
 * Is this file ours?  Our databases carry SCHEMA_APPLICATION_ID in the
 * header and the schema version in user_version (from version 4 on;
 * older ones have only the schema_version table, and are adopted).  A
 * file with another application_id, or with tables but neither mark,
 * belongs to someone else: writing our tables into it would damage
 * their data and hide ours.  An empty file (or none) becomes ours.
 * Returns the schema version found, or -1 with err.
 */
int
schema_check(sqlite3 *db, char *err, size_t errlen)
{
	const char *path = sqlite3_db_filename(db, "main");
	long long app, uv, objs, has_version;
	int v;

	if ((app = query_ll(db, "PRAGMA application_id", err, errlen)) == -1 ||
	    (uv = query_ll(db, "PRAGMA user_version", err, errlen)) == -1 ||
	    (objs = query_ll(db, "SELECT count(*) FROM sqlite_master", err,
	    errlen)) == -1 ||
	    (has_version = query_ll(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name = 'schema_version'", err,
	    errlen)) == -1)
		return -1;
	if (app != 0 && app != SCHEMA_APPLICATION_ID) {
		snprintf(err, errlen, "%s belongs to another application "
		    "(SQLite application_id 0x%08llx, evflow's is 0x%08x); "
		    "refusing to write into it: point store `database` at "
		    "another file", path, (unsigned long long)app & 0xffffffffu,
		    SCHEMA_APPLICATION_ID);
		return -1;
	}
	if (app == 0 && objs > 0 && !has_version) {
		snprintf(err, errlen, "%s is not an evflow database (it has %lld "
		    "tables, views or indexes but no evflow schema_version and "
		    "no evflow application_id); refusing to write into it",
		    path, objs);
		return -1;
	}
	v = read_version(db);
	if (uv > v)
		v = (int)uv;
	if (v > SINK_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: database schema version %d is newer "
		    "than this evflow-store supports (%d); refusing to start",
		    path, v, SINK_SCHEMA_VERSION);
		return -1;
	}
	return v;
}

/*
 * Applies steps [from, to) in one transaction that also marks the file
 * as ours (application_id, user_version).  It runs at every start, even
 * with nothing to migrate: a database we cannot write (a read-only file,
 * directory or file system) fails here, before the store says it is
 * ready.  0 or -1 with err.
 */
static int
migrate(sqlite3 *db, int from, int to, char *err, size_t errlen)
{
	char *msg = NULL, sql[96];
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
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", (int)SCHEMA_APPLICATION_ID, v);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (from < to)
		log_info("database schema migrated from version %d to %d",
		    from, to);
	return 0;
fail:
	if (from == to)
		snprintf(err, errlen, "%s: cannot write the database: %s",
		    sqlite3_db_filename(db, "main"), msg ? msg :
		    sqlite3_errmsg(db));
	else
		snprintf(err, errlen, "schema migration %d -> %d: %s", v, v + 1,
		    msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
schema_upgrade(sqlite3 *db, int target, char *err, size_t errlen)
{
	int v;

	if ((v = schema_check(db, err, errlen)) == -1)
		return -1;
	if (sqlite3_db_readonly(db, "main") == 1) {
		snprintf(err, errlen, "%s: the database can only be opened "
		    "read-only (file, directory or file system); the store "
		    "must write it", sqlite3_db_filename(db, "main"));
		return -1;
	}
	if (target > SINK_SCHEMA_VERSION || target < 1)
		target = SINK_SCHEMA_VERSION;
	if (community_sql_register(db) == -1) {
		snprintf(err, errlen, "schema migration: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (migrate(db, v, v > target ? v : target, err, errlen) == -1)
		return -1;
	return v > target ? v : target;
}
