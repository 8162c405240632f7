/*
 * Flow rows: the writer thread's part of the sink.  A row of flow_rows
 * is written by id (INSERT the first time, UPDATE after), and the
 * process and container rows it is the first to name go in just ahead
 * of it (see intern_row()).  Binding follows struct row: only the
 * parameters that changed since the last row are bound again.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/community_id.h"
#include "../common/log.h"
#include "sink.h"

/* Columns of flow_rows after id, in bind order (parameter 2 onwards). */
static const char *const flow_cols[] = {
	"iface_id", "first_seen", "last_seen", "ip_version", "protocol",
	"vlan", "cli_addr", "cli_port", "srv_addr", "srv_port", "source",
	"last_event", "tcp_state", "sides_guessed", "events", "updates",
	"c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes",
	"c2s_wire_bytes", "s2c_wire_bytes", "c2s_retrans", "s2c_retrans",
	"cli_tcp_flags", "srv_tcp_flags", "nw_latency_ms", "cli_latency_ms",
	"srv_latency_ms", "rtt_ms", "rtt_var_ms", "segs_in", "segs_out",
	"unack_segs", "lost_packets", "bytes_rcvd", "bytes_acked", "ifname",
	"exporter", "producer", "cli_proc_id", "cli_parent_id", "cli_cont_id",
	"srv_proc_id", "srv_parent_id", "srv_cont_id", "extra",
	/* the capture's DPI, in enum flow_app_field order */
	"app_proto", "app_category", "tls_sni", "ja3", "ja3s", "ja4",
	"http_host", "dns_query",
	"community_id", "community_key",
};
#define NFLOW_COLS	(sizeof(flow_cols) / sizeof(flow_cols[0]))
_Static_assert(NFLOW_COLS + 2 == ROW_PARAMS, "ROW_PARAMS: ?1, then flow_cols");

/* Parameters of the indexed columns iface_id and last_seen (flows_last_seen,
 * flows_iface_last_seen). */
#define P_IFACE_ID	2
#define P_LAST_SEEN	4
/* The Community ID: a function of the 5-tuple, which a row never
 * changes, so it is computed and bound once, by the INSERT (the
 * UPDATEs leave it, and its index, alone), with its index key (a
 * function of it and of the row's id: community_id_key()).  The last
 * two parameters. */
#define P_COMMUNITY_ID	((int)NFLOW_COLS)
#define P_COMMUNITY_KEY	((int)NFLOW_COLS + 1)

/* Rows the writer writes per hold of the mutex (about 0.2 ms). */
#define SINK_CHUNK	64

/* OR REPLACE: a row number is given out once per database (see
 * intern_row()), so a conflict would only be a row left by a write
 * that failed half way; the new value is the right one. */
static const char proc_insert[] = "INSERT OR REPLACE INTO processes (id,"
    " pid, tid, uid, user, gid, grp, process, cmdline, vm_size, vm_peak)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char cont_insert[] = "INSERT OR REPLACE INTO containers (id,"
    " kind, container_id, name, pod, namespace)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int
prepare(struct sink *k, const char *sql, sqlite3_stmt **s)
{
	return sqlite3_prepare_v3(k->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s,
	    NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * Builds the flow statements from flow_cols: the INSERT, the full UPDATE,
 * and the narrow UPDATE that leaves the indexed columns alone (for a row
 * whose last_seen did not move since it was written: SQLite then
 * maintains no index).  The narrow one matches only a row still in the
 * same interface (else the full UPDATE moves it).  All three number
 * their parameters alike (?4 is unused in the narrow one).
 */
int
flow_stmts_prepare(struct sink *k, char *err, size_t errlen)
{
	struct buf ins, upd, nar, insn;
	size_t i, j;
	int rc = -1, n = 0;

	buf_init(&ins);
	buf_init(&upd);
	buf_init(&nar);
	buf_init(&insn);
	buf_puts(&ins, "INSERT INTO flow_rows (id");
	buf_puts(&upd, "UPDATE flow_rows SET ");
	buf_puts(&nar, "UPDATE flow_rows SET ");
	for (i = 0; i < NFLOW_COLS; i++) {
		buf_printf(&ins, ", %s", flow_cols[i]);
		if (i + 2 == P_COMMUNITY_ID || i + 2 == P_COMMUNITY_KEY)
			continue;
		buf_printf(&upd, "%s%s = ?%zu", i ? ", " : "", flow_cols[i],
		    i + 2);
		if (i + 2 == P_IFACE_ID || i + 2 == P_LAST_SEEN)
			continue;
		buf_printf(&nar, "%s%s = ?%zu", n++ ? ", " : "", flow_cols[i],
		    i + 2);
	}
	buf_puts(&ins, ")");
	/* The multi-row INSERT: the same columns, INS_GROUP tuples, OR
	 * IGNORE (insert_group()). */
	buf_puts(&insn, "INSERT OR IGNORE");
	buf_add(&insn, ins.p + strlen("INSERT"), ins.len - strlen("INSERT"));
	buf_puts(&insn, " VALUES ");
	for (j = 0; j < INS_GROUP; j++) {
		size_t b = j * (ROW_PARAMS - 1);

		buf_printf(&insn, "%s(?%zu", j ? ", " : "", b + 1);
		for (i = 0; i < NFLOW_COLS; i++)
			buf_printf(&insn, ", ?%zu", b + i + 2);
		buf_puts(&insn, ")");
	}
	buf_puts(&ins, " VALUES (?1");
	for (i = 0; i < NFLOW_COLS; i++)
		buf_printf(&ins, ", ?%zu", i + 2);
	buf_puts(&ins, ")");
	buf_puts(&upd, " WHERE id = ?1");
	buf_puts(&nar, " WHERE id = ?1 AND iface_id = ?2");
	if (!buf_ok(&ins) || !buf_ok(&upd) || !buf_ok(&nar) || !buf_ok(&insn))
		snprintf(err, errlen, "out of memory");
	else if (prepare(k, ins.p, &k->rows.ins.s) == -1 ||
	    prepare(k, upd.p, &k->rows.upd.s) == -1 ||
	    prepare(k, nar.p, &k->rows.nar.s) == -1 ||
	    prepare(k, insn.p, &k->rows.insn[0].s) == -1 ||
	    prepare(k, proc_insert, &k->rows.proc) == -1 ||
	    prepare(k, cont_insert, &k->rows.cont) == -1)
		snprintf(err, errlen, "prepare flows: %s", sqlite3_errmsg(k->db));
	else {
		for (j = 1; j < INS_GROUP; j++) {
			k->rows.insn[j].s = k->rows.insn[0].s;
			k->rows.insn[j].base = (int)(j * (ROW_PARAMS - 1));
		}
		rc = 0;
	}
	buf_free(&ins);
	buf_free(&upd);
	buf_free(&nar);
	buf_free(&insn);
	return rc;
}

void
flow_stmts_finalize(struct sink *k)
{
	sqlite3_finalize(k->rows.insn[0].s);
	sqlite3_finalize(k->rows.ins.s);
	sqlite3_finalize(k->rows.upd.s);
	sqlite3_finalize(k->rows.nar.s);
	sqlite3_finalize(k->rows.proc);
	sqlite3_finalize(k->rows.cont);
}

static const char *
container_kind(uint32_t k)
{
	switch (k) {
	case EVP_CONT_DOCKER:
		return "docker";
	case EVP_CONT_K8S:
		return "k8s";
	case EVP_CONT_OTHER:
		return "other";
	default:
		return NULL;
	}
}

/* Row binders: bind parameter i of r->s unless it already holds the
 * value (see struct row). */
static void
row_null(struct row *r, int i)
{
	if (r->kind[i] != PV_NULL) {
		sqlite3_bind_null(r->s, r->base + i);
		r->kind[i] = PV_NULL;
	}
}

static void
row_int(struct row *r, int i, uint64_t u)
{
	int64_t v = (int64_t)u;

	if (r->kind[i] != PV_INT || r->v[i] != v) {
		sqlite3_bind_int64(r->s, r->base + i, v);
		r->kind[i] = PV_INT;
		r->v[i] = v;
	}
}

/* NULL for 0: "unknown" for values where 0 is not a measurement. */
static void
row_nz(struct row *r, int i, uint64_t v)
{
	if (v == 0)
		row_null(r, i);
	else
		row_int(r, i, v);
}

static void
row_double(struct row *r, int i, double d)
{
	int64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	if (r->kind[i] != PV_DOUBLE || r->v[i] != bits) {
		sqlite3_bind_double(r->s, r->base + i, d);
		r->kind[i] = PV_DOUBLE;
		r->v[i] = bits;
	}
}

static void
row_ms(struct row *r, int i, uint32_t us)
{
	if (us == 0)
		row_null(r, i);
	else
		row_double(r, i, us / 1000.0);
}

/* `n` bytes of text, borrowed until the step; NULL if n is 0. */
static void
row_text(struct row *r, int i, const char *p, size_t n)
{
	if (n == 0)
		row_null(r, i);
	else {
		sqlite3_bind_text(r->s, r->base + i, p, (int)n,
		    SQLITE_STATIC);
		r->kind[i] = PV_TEXT;
	}
}

/* A bounded string (or NULL); NULL if empty. */
static void
row_str(struct row *r, int i, const char *p, size_t n)
{
	row_text(r, i, p, p ? strnlen(p, n) : 0);
}

/* An address as text into buf (64 bytes): IPv4 formatted here, as
 * inet_ntop's sprintf was 8% of the store's instructions per row. */
static const char *
addr_text(const uint8_t a[16], char buf[64])
{
	char *p = buf;
	unsigned i, v;

	if (!evp_addr_is_v4(a))
		return evp_addr_str(a, buf, 64);
	for (i = 12; i < 16; i++) {
		v = a[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 15 ? '.' : '\0';
	}
	return buf;
}

/* Binds the three references of side `s` from parameter `i`. */
static int
bind_refs(struct row *r, int i, const struct flow_row *w, int s)
{
	int j;

	for (j = 0; j < REF_MAX; j++)
		row_nz(r, i + j, (uint64_t)w->ref[s][j]);
	return i + REF_MAX;
}

/* Binds every column of a flow row, and its Community ID if `cid` (the
 * INSERT); the address buffers and cid must outlive the step. */
static void
bind_flow(struct row *r, const struct flow_row *w, char abuf[3][64],
    char *cid)
{
	const struct flow *f = &w->f;
	const struct flow_meta *m = w->meta;
	const struct flow_tcpinfo *t = w->has_tcpi ? &w->tcpi : NULL;
	const char *src, *ev, *st, *a;
	int i = 1, c = f->cli, cnt = (f->flags & FL_COUNTERS) != 0;

	row_int(r, i++, f->id);
	row_int(r, i++, (uint64_t)w->iface_id);
	row_double(r, i++, usec_to_sec(f->first_usec));
	row_double(r, i++, usec_to_sec(f->last_usec));
	row_nz(r, i++, f->ip_version);
	row_int(r, i++, f->key.proto);
	row_int(r, i++, f->key.vlan);
	a = addr_text(f->key.addr[c], abuf[0]);
	row_text(r, i++, a, strlen(a));
	row_int(r, i++, f->key.port[c]);
	a = addr_text(f->key.addr[!c], abuf[1]);
	row_text(r, i++, a, strlen(a));
	row_int(r, i++, f->key.port[!c]);
	src = (f->flags & FL_JOINED) ? "joined" : evp_source_name(f->source);
	row_str(r, i++, src, 32);
	ev = evp_event_name(f->last_event);
	row_str(r, i++, ev, 32);
	st = evp_tcp_state_name(f->tcp_state);
	row_str(r, i++, st, 32);
	row_int(r, i++, f->orient == ORIENT_GUESSED);
	row_int(r, i++, f->events);
	row_int(r, i++, f->updates);
	if (cnt) {
		row_int(r, i++, f->pkts[0]);
		row_int(r, i++, f->bytes[0]);
		row_int(r, i++, f->pkts[1]);
		row_int(r, i++, f->bytes[1]);
	} else
		for (c = 0; c < 4; c++)
			row_null(r, i++);
	if (f->flags & FL_WIRE) {
		row_int(r, i++, f->wire[0]);
		row_int(r, i++, f->wire[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	if (f->flags & FL_RETRANS) {
		row_int(r, i++, f->retrans[0]);
		row_int(r, i++, f->retrans[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	if (f->flags & FL_TCPFLAGS) {
		row_int(r, i++, f->tcp_flags[0]);
		row_int(r, i++, f->tcp_flags[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	row_ms(r, i++, f->nw_lat_us);
	row_ms(r, i++, f->cli_lat_us);
	row_ms(r, i++, f->srv_lat_us);
	if (t != NULL) {
		row_ms(r, i++, t->rtt_us);
		row_ms(r, i++, t->rtt_var_us);
		row_int(r, i++, t->segs_in);
		row_int(r, i++, t->segs_out);
		row_int(r, i++, t->unack_segs);
		row_int(r, i++, t->lost_pkts);
		row_int(r, i++, t->rcvd_sum);
		row_int(r, i++, t->acked_sum);
	} else
		for (c = 0; c < 8; c++)
			row_null(r, i++);
	if (m != NULL) {
		row_str(r, i++, m->ifname, sizeof(m->ifname));
		if (nonzero16(m->exporter)) {
			a = addr_text(m->exporter, abuf[2]);
			row_text(r, i++, a, strlen(a));
		} else
			row_null(r, i++);
		row_nz(r, i++, m->producer);
	} else
		for (c = 0; c < 3; c++)
			row_null(r, i++);
	i = bind_refs(r, i, w, 0);
	i = bind_refs(r, i, w, 1);
	if (m != NULL && m->extra_len > 0)
		row_text(r, i++, m->extra, m->extra_len);
	else
		row_null(r, i++);
	for (c = 0; c < FAPP_MAX; c++) {
		size_t n;
		const char *p = flow_meta_app(m, (enum flow_app_field)c, &n);

		row_text(r, i++, p, n);
	}
	if (cid != NULL) {
		const char *id = flow_row_community_id(cid, f, m);
		int64_t key = id != NULL ? community_id_key(f->id, id) : -1;

		row_str(r, i++, id, COMMUNITY_ID_LEN);
		if (key == -1)
			row_null(r, i);
		else
			row_int(r, i, (uint64_t)key);
	}
}

/* Runs a statement bound for one row; 0 or -1 (counted and logged). */
static int
step_row(struct sink *k, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	sink_write_error(k);
	LOG_RATELIMITED(log_warnx, "sqlite insert %s: %s", what,
	    sqlite3_errmsg(k->db));
	return -1;
}

/* Inserts process row `id` (a flow's process or a parent). */
static int
write_proc(struct sink *k, int64_t id, const struct evp_proc *p)
{
	sqlite3_stmt *s = k->rows.proc;

	sqlite3_bind_int64(s, 1, id);
	bind_u64(s, 2, p->pid);
	bind_nz(s, 3, p->tid);
	bind_u64(s, 4, p->uid);
	bind_str(s, 5, p->uid_name, sizeof(p->uid_name));
	bind_u64(s, 6, p->gid);
	bind_str(s, 7, p->gid_name, sizeof(p->gid_name));
	bind_str(s, 8, p->path, sizeof(p->path));
	bind_str(s, 9, p->cmdline, sizeof(p->cmdline));
	bind_nz(s, 10, p->vm_size);
	bind_nz(s, 11, p->vm_peak);
	return step_row(k, s, "process");
}

static int
write_cont(struct sink *k, int64_t id, const struct evp_container *c)
{
	sqlite3_stmt *s = k->rows.cont;
	const char *kind = container_kind(c->kind);

	sqlite3_bind_int64(s, 1, id);
	bind_str(s, 2, kind, 16);
	bind_str(s, 3, c->id, sizeof(c->id));
	bind_str(s, 4, c->name, sizeof(c->name));
	bind_str(s, 5, c->pod, sizeof(c->pod));
	bind_str(s, 6, c->ns, sizeof(c->ns));
	return step_row(k, s, "container");
}

/* Inserts the process and container rows this flow row is the first
 * to refer to.  A failure is counted; the flow row is still written
 * (its reference then reads as no process). */
static void
write_fresh_refs(struct sink *k, const struct flow_row *w)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (w->fresh[s][REF_PROC])
			(void)write_proc(k, w->ref[s][REF_PROC], w->proc[s]);
		if (w->fresh[s][REF_PARENT])
			(void)write_proc(k, w->ref[s][REF_PARENT],
			    w->parent[s]);
		if (w->fresh[s][REF_CONT])
			(void)write_cont(k, w->ref[s][REF_CONT], w->cont[s]);
	}
}

/* Updates the row with statement r: 1 if a row changed, 0 if none
 * matched, -1 on error (counted and logged). */
static int
update_flow(struct sink *k, struct row *r, const struct flow_row *w)
{
	char abuf[3][64];
	int rc;

	bind_flow(r, w, abuf, NULL);
	rc = sqlite3_step(r->s);
	sqlite3_reset(r->s);
	if (rc == SQLITE_DONE) {
		if (sqlite3_changes(k->db) != 1)
			return 0;
		k->txn_rows++;
		k->pend.rows_updated++;
		k->pend.flows_written++;
		return 1;
	}
	sink_write_error(k);
	LOG_RATELIMITED(log_warnx, "sqlite update flow %llu: %s",
	    (unsigned long long)w->f.id, sqlite3_errmsg(k->db));
	return -1;
}

/* Inserts or updates one flow row (the mutex held). */
static int
write_flow(struct sink *k, const struct flow_row *w)
{
	char abuf[3][64], cid[COMMUNITY_ID_LEN];
	int rc;

	if (sink_txn(k) == -1)
		return -1;
	write_fresh_refs(k, w);
	if (w->f.flags & FL_WRITTEN) {
		/* last_seen as written: the indexes need no change. */
		rc = 0;
		if (!(w->f.flags & FL_MOVED))
			rc = update_flow(k, &k->rows.nar, w);
		/* Moved, or the row changed interface: the full row. */
		if (rc == 0)
			rc = update_flow(k, &k->rows.upd, w);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		/* The row went away (retention by size): insert again. */
	}
	bind_flow(&k->rows.ins, w, abuf, cid);
	rc = sqlite3_step(k->rows.ins.s);
	sqlite3_reset(k->rows.ins.s);
	if (rc != SQLITE_DONE) {
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "sqlite insert flow %llu: %s",
		    (unsigned long long)w->f.id, sqlite3_errmsg(k->db));
		return -1;
	}
	k->txn_rows++;
	k->pend.rows_inserted++;
	k->pend.flows_written++;
	return 0;
}

int
sink_write_flow(struct sink *k, const struct flow_row *w)
{
	int rc;

	sink_lock(k);
	/* The loop's row (the writer's queue had no room): a failed
	 * commit loses it, counted (sqlite_sink.c, commit_failed()). */
	if ((rc = write_flow(k, w)) == 0)
		k->txn_loop_flows++;
	return sink_unlocked(k, rc);
}

/* Rows from w (at most n) that are new flows, in a row, up to
 * INS_GROUP. */
static size_t
new_run(const struct flow_row *w, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < INS_GROUP; i++)
		if (w[i].f.flags & FL_WRITTEN)
			break;
	return i;
}

/*
 * Inserts INS_GROUP new flows with one statement (the mutex held), the
 * rows of their fresh references first, as write_flow() would; rows
 * that failed.  The statement is INSERT OR IGNORE: a row SQLite refuses
 * (an id already there) is left out and the others go in.  With the
 * default ABORT, SQLite must be able to undo a statement half way
 * through, so a multi-row INSERT wrote a statement journal: 17 times the
 * writes to the file system and more time than the grouping saved.  The
 * rows left out are counted here as write errors, as write_flow()
 * counts a refused row.
 */
static size_t
insert_group(struct sink *k, const struct flow_row *w)
{
	char abuf[INS_GROUP][3][64], cid[INS_GROUP][COMMUNITY_ID_LEN];
	sqlite3_stmt *s = k->rows.insn[0].s;
	size_t j, in;
	int rc;

	if (sink_txn(k) == -1)
		return INS_GROUP;
	for (j = 0; j < INS_GROUP; j++)
		write_fresh_refs(k, &w[j]);
	for (j = 0; j < INS_GROUP; j++)
		bind_flow(&k->rows.insn[j], &w[j], abuf[j], cid[j]);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sink_write_error(k);	/* one, and the group's others: */
		k->s.write_errors += INS_GROUP - 1;
		LOG_RATELIMITED(log_warnx, "sqlite insert flows %llu..: %s",
		    (unsigned long long)w[0].f.id, sqlite3_errmsg(k->db));
		return INS_GROUP;
	}
	in = (size_t)sqlite3_changes(k->db);
	k->txn_rows += in;
	k->pend.rows_inserted += in;
	k->pend.flows_written += in;
	if (in < INS_GROUP) {
		k->s.write_errors += INS_GROUP - in;
		LOG_RATELIMITED(log_warnx, "sqlite insert flows %llu..: %zu of"
		    " %d rows refused (their id is taken)",
		    (unsigned long long)w[0].f.id, INS_GROUP - in, INS_GROUP);
	}
	return INS_GROUP - in;
}

size_t
sink_write_flows(struct sink *k, const struct flow_row *w, size_t n)
{
	size_t i = 0, end, bad = 0;

	while (i < n) {
		sink_lock(k);
		for (end = i + SINK_CHUNK < n ? i + SINK_CHUNK : n; i < end;) {
			if (new_run(w + i, end - i) == INS_GROUP) {
				bad += insert_group(k, w + i);
				i += INS_GROUP;
			} else if (write_flow(k, &w[i++]) == -1)
				bad++;
		}
		sink_unlock(k);
		/* The loop waits for the connection: let it have it. */
		while (atomic_load(&k->waiting) > 0)
			sched_yield();
	}
	return bad;
}
