/*
 * The API's parameter and sort tables, one pair per endpoint (see
 * query.h).  Kept apart from the handlers so that the fuzz target links
 * them with query.c alone.  Column names follow docs/schema.md.
 */
#include <stddef.h>

#include "../common/community_id.h"
#include "query.h"
#include "webd.h"

/* A flow is "live" if seen in the last 120 s (the store's default
 * store.flow_idle). */
#define NOW_SQL	"((julianday('now') - 2440587.5) * 86400.0)"
#define LIVE_SQL "f.last_seen >= " NOW_SQL " - 120"

static const char *const tcp_states[] = {
	"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"RESET", NULL
};
static const char *const sources[] = {
	"event", "netstat", "netflow", "packet", "joined", NULL
};

const struct qp_def flow_params[] = {
	{ "iface", QP_TEXT, 0, 255, NULL,
	  "f.iface_id = (SELECT id FROM interfaces WHERE name = ?)", NULL, NULL,
	  "interface name, as declared" },
	{ "proto", QP_PROTO, 0, 0, NULL, "f.protocol = ?", NULL, NULL,
	  "tcp, udp, icmp, icmpv6, sctp, gre, esp or a number" },
	{ "addr", QP_ADDR, 0, 0, NULL, "(f.cli_addr = ? OR f.srv_addr = ?)",
	  NULL, "(cidr_match(f.cli_addr, ?) OR cidr_match(f.srv_addr, ?))",
	  "address or CIDR on either side" },
	{ "cli_addr", QP_ADDR, 0, 0, NULL, "f.cli_addr = ?", NULL,
	  "cidr_match(f.cli_addr, ?)", "client address or CIDR" },
	{ "srv_addr", QP_ADDR, 0, 0, NULL, "f.srv_addr = ?", NULL,
	  "cidr_match(f.srv_addr, ?)", "server address or CIDR" },
	{ "port", QP_INT, 0, 65535, NULL, "(f.cli_port = ? OR f.srv_port = ?)",
	  NULL, NULL, "port on either side" },
	{ "srv_port", QP_INT, 0, 65535, NULL, "f.srv_port = ?", NULL, NULL,
	  "server port" },
	{ "process", QP_TEXT, 0, 255, NULL,
	  "(proc_match(f.cli_process, ?) OR proc_match(f.srv_process, ?))",
	  NULL, NULL, "process path, or executable name, either side" },
	{ "pid", QP_INT, 0, 4294967295LL, NULL,
	  "(f.cli_pid = ? OR f.srv_pid = ?)", NULL, NULL, "pid, either side" },
	{ "user", QP_TEXT, 0, 63, NULL, "(f.cli_user = ? OR f.srv_user = ?)",
	  NULL, NULL, "user name, either side" },
	{ "uid", QP_INT, 0, 4294967295LL, NULL,
	  "(f.cli_uid = ? OR f.srv_uid = ?)", NULL, NULL, "uid, either side" },
	{ "container", QP_TEXT, 0, 72, NULL,
	  "(? IN (f.cli_container_name, f.srv_container_name)"
	  " OR substr(f.cli_container_id, 1, length(?)) = ?"
	  " OR substr(f.srv_container_id, 1, length(?)) = ?)", NULL, NULL,
	  "container name or id prefix, either side" },
	{ "pod", QP_TEXT, 0, 63, NULL, "? IN (f.cli_pod, f.srv_pod)", NULL,
	  NULL, "Kubernetes pod, either side" },
	{ "namespace", QP_TEXT, 0, 63, NULL,
	  "? IN (f.cli_namespace, f.srv_namespace)", NULL, NULL,
	  "Kubernetes namespace, either side" },
	/* The store writes SYN-SENT, the API's words are SYN_SENT. */
	{ "state", QP_WORD, 0, 0, tcp_states,
	  "replace(replace(f.tcp_state, '-', '_'), 'WAIT_', 'WAIT') = ?", NULL,
	  NULL, "TCP state" },
	{ "source", QP_WORD, 0, 0, sources, "f.source = ?", NULL, NULL,
	  "event, netstat, netflow, packet or joined" },
	{ "ip_version", QP_INT, 4, 6, NULL, "f.ip_version = ?", NULL, NULL,
	  "4 or 6" },
	{ "vlan", QP_INT, 0, 4095, NULL, "f.vlan = ?", NULL, NULL, "VLAN id" },
	{ "community_id", QP_COMMUNITY_ID, 0, 0, NULL,
	  "f.id IN " COMMUNITY_ROWS_SQL("?"),
	  NULL, NULL, "Community ID (1:...), the same as other tools'" },
	/* What the capture's nDPI said (schema.md, version 5). */
	{ "app", QP_TEXT, 0, 47, NULL,
	  "instr('.' || lower(f.app_proto) || '.', '.' || lower(?) || '.') > 0",
	  NULL, NULL, "application protocol, or one part of it: TLS.YouTube,"
	  " TLS or YouTube" },
	{ "category", QP_TEXT, 0, 31, NULL, "lower(f.app_category) = lower(?)",
	  NULL, NULL, "nDPI category (Web, Media...)" },
	{ "sni", QP_TEXT, 0, 255, NULL, "name_match(f.tls_sni, ?)", NULL, NULL,
	  "TLS server name, or a domain it is in" },
	{ "http_host", QP_TEXT, 0, 255, NULL, "name_match(f.http_host, ?)",
	  NULL, NULL, "HTTP Host, or a domain it is in" },
	{ "dns", QP_TEXT, 0, 255, NULL, "name_match(f.dns_query, ?)", NULL,
	  NULL, "DNS query name, or a domain it is in" },
	{ "host", QP_TEXT, 0, 255, NULL,
	  "(name_match(f.tls_sni, ?) OR name_match(f.http_host, ?)"
	  " OR name_match(f.dns_query, ?) OR f.cli_addr IN (SELECT addr FROM"
	  " host_names WHERE name_match(name, ?)) OR f.srv_addr IN (SELECT"
	  " addr FROM host_names WHERE name_match(name, ?)))", NULL, NULL,
	  "a name (or a domain) of either address, the SNI, HTTP host or DNS"
	  " query" },
	{ "ja3", QP_TEXT, 0, 39, NULL, "f.ja3 = lower(?)", NULL, NULL,
	  "JA3 client fingerprint" },
	{ "ja4", QP_TEXT, 0, 39, NULL, "f.ja4 = ?", NULL, NULL,
	  "JA4 client fingerprint" },
	{ "from", QP_TIME, 0, 0, NULL, "f.last_seen >= ?", NULL, NULL,
	  "seen at or after (unix seconds, or -N: N seconds ago)" },
	{ "to", QP_TIME, 0, 0, NULL,
	  "coalesce(f.first_seen, f.last_seen) <= ?", NULL, NULL,
	  "started at or before (unix seconds, or -N)" },
	{ "attributed", QP_BOOL, 0, 0, NULL,
	  "(f.cli_pid IS NOT NULL OR f.srv_pid IS NOT NULL"
	  " OR f.cli_process IS NOT NULL OR f.srv_process IS NOT NULL)",
	  "(f.cli_pid IS NULL AND f.srv_pid IS NULL"
	  " AND f.cli_process IS NULL AND f.srv_process IS NULL)", NULL,
	  "yes: a process on some side; no: none" },
	{ "live", QP_BOOL, 0, 0, NULL, LIVE_SQL, "NOT (" LIVE_SQL ")", NULL,
	  "yes: seen in the last 120 s" },
	{ "sort", QP_SORT, 0, 0, NULL, NULL, NULL, NULL, "sort column" },
	{ "order", QP_ORDER, 0, 0, NULL, NULL, NULL, NULL, "asc or desc" },
	{ "limit", QP_LIMIT, 0, WEBD_PAGE_MAX, NULL, NULL, NULL, NULL,
	  "rows per page (default 100)" },
	{ "cursor", QP_CURSOR, 0, 0, NULL, NULL, NULL, NULL,
	  "the `next` value of the previous page" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

#define BYTES_SQL "(coalesce(f.c2s_bytes, 0) + coalesce(f.s2c_bytes, 0))"
#define PKTS_SQL "(coalesce(f.c2s_packets, 0) + coalesce(f.s2c_packets, 0))"

const struct qp_sort flow_sorts[] = {
	{ "last_seen", "f.last_seen", QS_REAL },	/* the default */
	{ "id", "f.id", QS_INT },
	{ "first_seen", "coalesce(f.first_seen, 0)", QS_REAL },
	{ "iface", "f.iface_id", QS_INT },
	{ "ip_version", "coalesce(f.ip_version, 0)", QS_INT },
	{ "proto", "coalesce(f.protocol, 0)", QS_INT },
	{ "cli_addr", "coalesce(f.cli_addr, '')", QS_TEXT },
	{ "cli_port", "coalesce(f.cli_port, 0)", QS_INT },
	{ "srv_addr", "coalesce(f.srv_addr, '')", QS_TEXT },
	{ "srv_port", "coalesce(f.srv_port, 0)", QS_INT },
	{ "bytes", BYTES_SQL, QS_INT },
	{ "c2s_bytes", "coalesce(f.c2s_bytes, 0)", QS_INT },
	{ "s2c_bytes", "coalesce(f.s2c_bytes, 0)", QS_INT },
	{ "packets", PKTS_SQL, QS_INT },
	{ "retrans", "(coalesce(f.c2s_retrans, 0) + coalesce(f.s2c_retrans, 0))",
	  QS_INT },
	{ "cli_process", "coalesce(f.cli_process, '')", QS_TEXT },
	{ "srv_process", "coalesce(f.srv_process, '')", QS_TEXT },
	{ "cli_pid", "coalesce(f.cli_pid, -1)", QS_INT },
	{ "srv_pid", "coalesce(f.srv_pid, -1)", QS_INT },
	{ "cli_user", "coalesce(f.cli_user, '')", QS_TEXT },
	{ "srv_user", "coalesce(f.srv_user, '')", QS_TEXT },
	{ "container", "coalesce(f.cli_container_name, f.srv_container_name,"
	  " '')", QS_TEXT },
	{ "pod", "coalesce(f.cli_pod, f.srv_pod, '')", QS_TEXT },
	{ "state", "coalesce(f.tcp_state, '')", QS_TEXT },
	{ "source", "coalesce(f.source, '')", QS_TEXT },
	{ "event", "coalesce(f.last_event, '')", QS_TEXT },
	{ "events", "coalesce(f.events, 0)", QS_INT },
	{ "rtt", "coalesce(f.rtt_ms, f.cli_latency_ms, -1)", QS_REAL },
	{ "duration", "(f.last_seen - coalesce(f.first_seen, f.last_seen))",
	  QS_REAL },
	{ "app", "coalesce(f.app_proto, '')", QS_TEXT },
	{ "sni", "coalesce(f.tls_sni, '')", QS_TEXT },
	{ NULL, NULL, QS_INT }
};

/* ---- /api/v1/processes, /api/v1/containers: aggregates over flows */

static const char *const group_by[] = {
	"exe", "pid", "container", "pod", NULL
};

const struct qp_def group_params[] = {
	{ "by", QP_WORD, 0, 0, group_by, NULL, NULL, NULL,
	  "processes: exe or pid; containers: container or pod" },
	{ "iface", QP_TEXT, 0, 255, NULL,
	  "f.iface_id = (SELECT id FROM interfaces WHERE name = ?)", NULL, NULL,
	  "interface name" },
	{ "proto", QP_PROTO, 0, 0, NULL, "f.protocol = ?", NULL, NULL,
	  "IP protocol" },
	{ "addr", QP_ADDR, 0, 0, NULL, "(f.cli_addr = ? OR f.srv_addr = ?)",
	  NULL, "(cidr_match(f.cli_addr, ?) OR cidr_match(f.srv_addr, ?))",
	  "address or CIDR on either side" },
	{ "port", QP_INT, 0, 65535, NULL, "(f.cli_port = ? OR f.srv_port = ?)",
	  NULL, NULL, "port on either side" },
	{ "user", QP_TEXT, 0, 63, NULL, "(f.cli_user = ? OR f.srv_user = ?)",
	  NULL, NULL, "user name" },
	{ "process", QP_TEXT, 0, 255, NULL,
	  "(proc_match(f.cli_process, ?) OR proc_match(f.srv_process, ?))",
	  NULL, NULL, "process path or name" },
	{ "from", QP_TIME, 0, 0, NULL, "f.last_seen >= ?", NULL, NULL,
	  "seen at or after (unix seconds, or -N)" },
	{ "to", QP_TIME, 0, 0, NULL,
	  "coalesce(f.first_seen, f.last_seen) <= ?", NULL, NULL,
	  "started at or before" },
	{ "sort", QP_SORT, 0, 0, NULL, NULL, NULL, NULL, "sort column" },
	{ "order", QP_ORDER, 0, 0, NULL, NULL, NULL, NULL, "asc or desc" },
	{ "limit", QP_LIMIT, 0, WEBD_PAGE_MAX, NULL, NULL, NULL, NULL,
	  "rows (default 50)" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct qp_sort process_sorts[] = {
	{ "bytes", "bytes", QS_INT },
	{ "flows", "flows", QS_INT },
	{ "peers", "peers", QS_INT },
	{ "pids", "pids", QS_INT },
	{ "process", "process", QS_TEXT },
	{ "last_seen", "last_seen", QS_REAL },
	{ NULL, NULL, QS_INT }
};

const struct qp_sort container_sorts[] = {
	{ "bytes", "bytes", QS_INT },
	{ "flows", "flows", QS_INT },
	{ "peers", "peers", QS_INT },
	{ "name", "name", QS_TEXT },
	{ "last_seen", "last_seen", QS_REAL },
	{ NULL, NULL, QS_INT }
};

/* ---- /api/v1/listening */

const struct qp_def listen_params[] = {
	{ "iface", QP_TEXT, 0, 255, NULL,
	  "l.iface_id = (SELECT id FROM interfaces WHERE name = ?)", NULL, NULL,
	  "interface name" },
	{ "host", QP_TEXT, 0, 255, NULL, "l.host = ?", NULL, NULL,
	  "exporting host" },
	{ "proto", QP_PROTO, 0, 0, NULL, "l.protocol = ?", NULL, NULL,
	  "tcp or udp" },
	{ "addr", QP_ADDR, 0, 0, NULL, "l.addr = ?", NULL,
	  "cidr_match(l.addr, ?)", "bound address or CIDR" },
	{ "port", QP_INT, 0, 65535, NULL, "l.port = ?", NULL, NULL, "port" },
	{ "pid", QP_INT, 0, 4294967295LL, NULL, "l.pid = ?", NULL, NULL, "pid" },
	{ "process", QP_TEXT, 0, 255, NULL, "proc_match(l.process, ?)", NULL,
	  NULL, "process path or name" },
	{ "current", QP_BOOL, 0, 0, NULL,
	  "l.last_seen >= " NOW_SQL " - 120", "l.last_seen < " NOW_SQL " - 120",
	  NULL, "yes: seen in the last 120 s; no: history only" },
	{ "from", QP_TIME, 0, 0, NULL, "l.last_seen >= ?", NULL, NULL,
	  "seen at or after" },
	{ "to", QP_TIME, 0, 0, NULL, "l.first_seen <= ?", NULL, NULL,
	  "first seen at or before" },
	{ "sort", QP_SORT, 0, 0, NULL, NULL, NULL, NULL, "sort column" },
	{ "order", QP_ORDER, 0, 0, NULL, NULL, NULL, NULL, "asc or desc" },
	{ "limit", QP_LIMIT, 0, WEBD_PAGE_MAX, NULL, NULL, NULL, NULL,
	  "rows per page (default 100)" },
	{ "cursor", QP_CURSOR, 0, 0, NULL, NULL, NULL, NULL,
	  "the `next` value of the previous page" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct qp_sort listen_sorts[] = {
	{ "last_seen", "l.last_seen", QS_REAL },
	{ "first_seen", "coalesce(l.first_seen, 0)", QS_REAL },
	{ "port", "coalesce(l.port, 0)", QS_INT },
	{ "addr", "coalesce(l.addr, '')", QS_TEXT },
	{ "host", "coalesce(l.host, '')", QS_TEXT },
	{ "process", "coalesce(l.process, '')", QS_TEXT },
	{ "pid", "coalesce(l.pid, -1)", QS_INT },
	{ "id", "l.id", QS_INT },
	{ NULL, NULL, QS_INT }
};

/* ---- /api/v1/ifcounters */

const struct qp_def ifcounter_params[] = {
	{ "iface", QP_TEXT, 0, 255, NULL,
	  "c.iface_id = (SELECT id FROM interfaces WHERE name = ?)", NULL, NULL,
	  "evflow interface name" },
	{ "device", QP_ADDR, 0, 0, NULL, "c.device = ?", NULL,
	  "cidr_match(c.device, ?)", "exporting device address" },
	{ "if_name", QP_TEXT, 0, 63, NULL, "c.if_name = ?", NULL, NULL,
	  "the device's interface name" },
	{ "from", QP_TIME, 0, 0, NULL, "c.ts >= ?", NULL, NULL,
	  "samples at or after (default -3600)" },
	{ "to", QP_TIME, 0, 0, NULL, "c.ts <= ?", NULL, NULL,
	  "samples at or before" },
	{ "limit", QP_LIMIT, 0, 20000, NULL, NULL, NULL, NULL,
	  "samples (default 5000)" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

/* ---- /api/v1/summary (the dashboard) */

const struct qp_def summary_params[] = {
	{ "window", QP_INT, 60, 7 * 86400, NULL, NULL, NULL, NULL,
	  "seconds of history for the charts and tops (default 900)" },
	{ "from", QP_TIME, 0, 0, NULL, NULL, NULL, NULL,
	  "a custom range's start (unix seconds, or -N); not with window" },
	{ "to", QP_TIME, 0, 0, NULL, NULL, NULL, NULL,
	  "a custom range's end (default now); needs from" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct qp_def none_params[] = {
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

/* ---- /api/v1/hosts/{addr}, /api/v1/search, /api/v1/processes/tree
 * (api_hosts.c, which adds the time condition of the first two itself) */

const struct qp_def host_params[] = {
	{ "from", QP_TIME, 0, 0, NULL, NULL, NULL, NULL,
	  "seen at or after (default -86400)" },
	{ "to", QP_TIME, 0, 0, NULL, NULL, NULL, NULL,
	  "seen at or before (default now)" },
	{ "iface", QP_TEXT, 0, 255, NULL, NULL, NULL, NULL,
	  "interface name" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct qp_def search_params[] = {
	{ "q", QP_TEXT, 0, SEARCH_TEXT_MAX, NULL, NULL, NULL, NULL,
	  "what to look for" },
	{ "from", QP_TIME, 0, 0, NULL, NULL, NULL, NULL,
	  "addresses seen at or after (default -86400)" },
	{ "limit", QP_LIMIT, 0, SEARCH_LIMIT_MAX, NULL, NULL, NULL, NULL,
	  "results per kind (default 8)" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct qp_def tree_params[] = {
	{ "iface", QP_TEXT, 0, 255, NULL,
	  "f.iface_id = (SELECT id FROM interfaces WHERE name = ?)", NULL, NULL,
	  "interface name" },
	{ "addr", QP_ADDR, 0, 0, NULL, "(f.cli_addr = ? OR f.srv_addr = ?)",
	  NULL, "(cidr_match(f.cli_addr, ?) OR cidr_match(f.srv_addr, ?))",
	  "address or CIDR on either side" },
	/* The tree reads flow_rows, whose processes are ids. */
	{ "user", QP_TEXT, 0, 63, NULL,
	  "(? IN ((SELECT user FROM processes WHERE id = f.cli_proc_id),"
	  " (SELECT user FROM processes WHERE id = f.srv_proc_id)))",
	  NULL, NULL, "user name" },
	{ "from", QP_TIME, 0, 0, NULL, "f.last_seen >= ?", NULL, NULL,
	  "seen at or after (default -86400)" },
	{ "to", QP_TIME, 0, 0, NULL, "f.last_seen <= ?", NULL, NULL,
	  "seen at or before" },
	{ "limit", QP_LIMIT, 0, TREE_LIMIT_MAX, NULL, NULL, NULL, NULL,
	  "processes (default 500)" },
	{ NULL, QP_INT, 0, 0, NULL, NULL, NULL, NULL, NULL }
};
