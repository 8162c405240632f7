/*
 * The sock_diag source: dumps this network namespace's TCP and UDP
 * sockets over NETLINK_SOCK_DIAG (with INET_DIAG_INFO: the kernel's
 * tcp_info) and finds their processes through /proc/<pid>/fd.
 *
 * Three jobs, each at its own interval (main.c's loop decides):
 *   DIAG_DO_EVENTS   the fallback without eBPF: a connection seen for the
 *                    first time is a CONNECT or ACCEPT (ACCEPT when its
 *                    local port is listening), a connected UDP socket a
 *                    SEND; a connection gone since the last poll is a
 *                    CLOSE with the counters of its last dump.  What
 *                    opens and closes between two polls is not seen.
 *   DIAG_DO_NETSTAT  a netstat update per open TCP connection
 *   DIAG_DO_LISTEN   a listening-ports snapshot
 *
 * Bounds: probe.max_sockets per dump (the rest counted), the known
 * connections table (same size), probe.max_fds fd entries per /proc scan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "probe.h"
#include "probe_event.h"

#define DIAG_RECV_BUF	(64 * 1024)	/* bytes per recv of a dump */
#define TCPF_ALL	0xfff
#define ST_ESTABLISHED	1
#define ST_SYN_RECV	3
#define ST_TIME_WAIT	6
#define ST_CLOSE	7
#define ST_LISTEN	10

/* A socket's process, from the /proc scan. */
struct owner_slot {
	uint32_t	 inode;		/* 0 = free */
	uint32_t	 pid;
	uint64_t	 start_ns;
};

/* A connection seen by the last dumps (events mode). */
struct conn_slot {
	uint64_t	 cookie;	/* 0 = free */
	uint64_t	 gen;		/* poll that last saw it */
	struct diag_sock s;
};

struct diag_src {
	struct probe	*p;
	int		 fd;
	int		 events;	/* emit CONNECT/ACCEPT/CLOSE */
	uint64_t	 gen;
	long		 ns_per_tick;
	unsigned	 max;		/* sockets per dump */
	unsigned	 n;		/* sockets in `socks` */
	struct diag_sock *socks;	/* the current dump, TCP then UDP */
	unsigned	 omask;
	struct owner_slot *owners;	/* inode -> process */
	unsigned	 cmask;
	struct conn_slot *conns;	/* cookie -> connection */
	uint8_t		 rbuf[DIAG_RECV_BUF];
};

static unsigned
pow2_at_least(unsigned v)
{
	unsigned n = 64;

	while (n < v && n < (1u << 28))
		n <<= 1;
	return n;
}

struct diag_src *
diag_src_new(struct probe *p, int events, char *err, size_t errlen)
{
	struct diag_src *d;
	long hz = sysconf(_SC_CLK_TCK);

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->p = p;
	d->events = events;
	d->max = (unsigned)p->conf.max_sockets;
	d->ns_per_tick = 1000000000L / (hz > 0 ? hz : 100);
	d->omask = pow2_at_least(d->max * 2) - 1;
	d->cmask = events ? pow2_at_least(d->max * 2) - 1 : 0;
	d->socks = calloc(d->max, sizeof(*d->socks));
	d->owners = calloc(d->omask + 1, sizeof(*d->owners));
	d->conns = events ? calloc(d->cmask + 1, sizeof(*d->conns)) : NULL;
	if (d->socks == NULL || d->owners == NULL || (events &&
	    d->conns == NULL)) {
		snprintf(err, errlen, "out of memory");
		diag_src_free(d);
		return NULL;
	}
	if ((d->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		diag_src_free(d);
		return NULL;
	}
	return d;
}

void
diag_src_free(struct diag_src *d)
{
	if (d == NULL)
		return;
	if (d->fd > 0)
		close(d->fd);
	free(d->socks);
	free(d->owners);
	free(d->conns);
	free(d);
}

/* One dump request; the replies are appended to d->socks. */
static int
dump(struct diag_src *d, uint8_t family, uint8_t proto, uint32_t states)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const uint8_t *p;
	ssize_t n;
	size_t left;
	uint32_t mlen;
	int rc;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = proto;
	req.r.idiag_states = states;
	if (proto == IPPROTO_TCP)
		req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (sendto(d->fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1)
		return -1;
	for (;;) {
		if ((n = recv(d->fd, d->rbuf, sizeof(d->rbuf), 0)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		for (p = d->rbuf, left = (size_t)n; left >= sizeof(uint32_t);) {
			memcpy(&mlen, p, sizeof(mlen));
			if (mlen < sizeof(struct nlmsghdr) || mlen > left) {
				d->p->ctr[PC_BAD_DIAG_MSGS]++;
				break;
			}
			if (d->n < d->max) {
				rc = diag_parse_msg(p, mlen, proto,
				    &d->socks[d->n]);
				if (rc == 0)
					return 0;
				if (rc == 1)
					d->n++;
				else
					d->p->ctr[PC_BAD_DIAG_MSGS]++;
			} else if (((const struct nlmsghdr *)(const void *)p)->
			    nlmsg_type == NLMSG_DONE)
				return 0;
			else
				d->p->ctr[PC_DROPPED_DIAG_LIMIT]++;
			mlen = NLMSG_ALIGN(mlen);
			if (mlen >= left)
				break;
			p += mlen;
			left -= mlen;
		}
	}
}

/* ---- inode -> process ---- */

static struct owner_slot *
owner_find(struct diag_src *d, uint32_t inode, int add)
{
	unsigned h = (unsigned)hash_bytes(&inode, sizeof(inode), 7), i;
	struct owner_slot *o;

	for (i = 0; i <= d->omask; i++) {
		o = &d->owners[(h + i) & d->omask];
		if (o->inode == inode)
			return o;
		if (o->inode == 0)
			return add ? o : NULL;
	}
	return NULL;
}

/* start time (ns since boot) of `pid` from /proc/<pid>/stat, or 0. */
static uint64_t
start_of(struct diag_src *d, const char *pid)
{
	char path[300], buf[1024];
	struct proc_stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || proc_parse_stat(buf, (size_t)n, &st) == -1)
		return 0;
	return st.start_ticks * (uint64_t)d->ns_per_tick;
}

/* Maps every socket inode of the dump to its process (the first one
 * found holding it). */
static void
scan_fds(struct diag_src *d)
{
	DIR *proc, *fds;
	struct dirent *pe, *fe;
	char path[600], link[64];
	unsigned long long seen = 0;
	unsigned long inode;
	struct owner_slot *o;
	uint64_t start;
	ssize_t n;
	unsigned k;
	int any;

	memset(d->owners, 0, (d->omask + 1) * sizeof(*d->owners));
	for (k = 0; k < d->n; k++)
		if (d->socks[k].inode != 0 &&
		    (o = owner_find(d, d->socks[k].inode, 1)) != NULL)
			o->inode = d->socks[k].inode;	/* wanted, pid 0 */
	if ((proc = opendir("/proc")) == NULL)
		return;
	while ((pe = readdir(proc)) != NULL) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		any = 0;
		start = 0;
		while ((fe = readdir(fds)) != NULL) {
			if (++seen > (unsigned long long)d->p->conf.max_fds) {
				d->p->ctr[PC_FD_SCAN_LIMIT]++;
				break;
			}
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    pe->d_name, fe->d_name);
			if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
				continue;
			link[n] = '\0';
			if (sscanf(link, "socket:[%lu]", &inode) != 1 ||
			    (o = owner_find(d, (uint32_t)inode, 0)) == NULL ||
			    o->pid != 0)
				continue;
			if (!any) {
				start = start_of(d, pe->d_name);
				any = 1;
			}
			o->pid = (uint32_t)strtoul(pe->d_name, NULL, 10);
			o->start_ns = start;
		}
		closedir(fds);
		if (seen > (unsigned long long)d->p->conf.max_fds)
			break;
	}
	closedir(proc);
}

/* ---- publishing ---- */

static void
flow_of(struct diag_src *d, const struct diag_sock *s, uint8_t type,
    struct probe_flow *f, uint64_t *start_ns)
{
	struct owner_slot *o = s->inode ? owner_find(d, s->inode, 0) : NULL;

	memset(f, 0, sizeof(*f));
	f->type = type;
	f->ipv = s->ipv;
	f->proto = s->proto;
	f->tcp_state = s->state;
	memcpy(f->laddr, s->laddr, 16);
	memcpy(f->raddr, s->raddr, 16);
	f->lport = s->lport;
	f->rport = s->rport;
	f->netns = d->p->self_netns;
	f->uid = s->uid;
	f->has_tcpinfo = s->has_info;
	f->bytes_acked = s->bytes_acked;
	f->bytes_received = s->bytes_received;
	f->segs_in = s->segs_in;
	f->segs_out = s->segs_out;
	f->retrans = s->retrans;
	f->lost = s->lost;
	f->unacked = s->unacked;
	f->srtt_us = s->rtt_us;
	f->rttvar_us = s->rttvar_us;
	*start_ns = 0;
	if (o != NULL && o->pid != 0) {
		f->pid = o->pid;
		*start_ns = o->start_ns;
	}
}

static void
publish(struct diag_src *d, const struct diag_sock *s, uint8_t type,
    int netstat)
{
	struct probe_flow f;
	uint64_t start;

	flow_of(d, s, type, &f, &start);
	probe_publish(d->p, &f, start, netstat);
}

/* 1 for a connection the events mode follows. */
static int
is_conn(const struct diag_sock *s)
{
	if (s->proto == IPPROTO_UDP)
		return s->state == ST_ESTABLISHED;
	return s->state != ST_LISTEN && s->state != ST_TIME_WAIT &&
	    s->state != ST_SYN_RECV && s->state != ST_CLOSE && s->inode != 0;
}

/* 1 if a TCP socket of the dump listens on `port` (same family). */
static int
listening_on(const struct diag_src *d, uint16_t port, uint8_t ipv)
{
	unsigned k;

	for (k = 0; k < d->n; k++)
		if (d->socks[k].proto == IPPROTO_TCP &&
		    d->socks[k].state == ST_LISTEN &&
		    d->socks[k].lport == port && (d->socks[k].ipv == ipv ||
		    d->socks[k].family == AF_INET6))
			return 1;
	return 0;
}

static struct conn_slot *
conn_find(struct diag_src *d, uint64_t cookie, int add)
{
	unsigned h = (unsigned)hash_bytes(&cookie, sizeof(cookie), 11), i;
	struct conn_slot *c;

	for (i = 0; i <= d->cmask; i++) {
		c = &d->conns[(h + i) & d->cmask];
		if (c->cookie == cookie)
			return c;
		if (c->cookie == 0)
			return add ? c : NULL;
	}
	return NULL;
}

/* Removes slot `c`, re-placing the entries of its probe chain. */
static void
conn_remove(struct diag_src *d, struct conn_slot *c)
{
	unsigned i = (unsigned)(c - d->conns), j;
	struct conn_slot tmp, *dst;

	c->cookie = 0;
	for (j = (i + 1) & d->cmask; d->conns[j].cookie != 0;
	    j = (j + 1) & d->cmask) {
		tmp = d->conns[j];
		d->conns[j].cookie = 0;
		if ((dst = conn_find(d, tmp.cookie, 1)) != NULL)
			*dst = tmp;
	}
}

/* New connections -> CONNECT/ACCEPT/SEND, gone ones -> CLOSE. */
static void
diff(struct diag_src *d)
{
	struct conn_slot *c;
	const struct diag_sock *s;
	unsigned k;

	d->gen++;
	for (k = 0; k < d->n; k++) {
		s = &d->socks[k];
		if (!is_conn(s) || s->cookie == 0)
			continue;
		if ((c = conn_find(d, s->cookie, 1)) == NULL) {
			d->p->ctr[PC_DROPPED_DIAG_LIMIT]++;
			continue;
		}
		if (c->cookie == 0) {
			c->cookie = s->cookie;
			d->p->ctr[PC_RECEIVED]++;
			if (s->proto == IPPROTO_UDP) {
				d->p->ctr[PC_EV_UDP_SEND]++;
				publish(d, s, PEV_UDP_SEND, 0);
			} else if (listening_on(d, s->lport, s->ipv)) {
				d->p->ctr[PC_EV_ACCEPT]++;
				publish(d, s, PEV_ACCEPT, 0);
			} else {
				d->p->ctr[PC_EV_CONNECT]++;
				publish(d, s, PEV_CONNECT, 0);
			}
		}
		c->s = *s;
		c->gen = d->gen;
	}
	for (k = 0; k <= d->cmask; k++) {
		c = &d->conns[k];
		while (c->cookie != 0 && c->gen != d->gen) {
			if (c->s.proto == IPPROTO_TCP) {
				d->p->ctr[PC_RECEIVED]++;
				d->p->ctr[PC_EV_CLOSE]++;
				c->s.state = ST_CLOSE;
				publish(d, &c->s, PEV_CLOSE, 0);
			}
			conn_remove(d, c);	/* may move another here */
		}
	}
}

/* {"listening-ports":{"tcp4":[...],...},"ip-addresses":[..],...} */
static void
listen_snapshot(struct diag_src *d)
{
	static const struct { const char *name; uint8_t proto, ipv; } fam[] = {
		{ "tcp4", IPPROTO_TCP, 4 }, { "udp4", IPPROTO_UDP, 4 },
		{ "tcp6", IPPROTO_TCP, 6 }, { "udp6", IPPROTO_UDP, 6 },
	};
	struct probe *p = d->p;
	const struct proc_entry *pe;
	const struct diag_sock *s;
	struct owner_slot *o;
	char host[256];
	unsigned i, k, n;

	buf_reset(&p->jb);
	buf_puts(&p->jb, "{\"listening-ports\":{");
	for (i = 0; i < 4; i++) {
		buf_printf(&p->jb, "%s\"%s\":[", i ? "," : "", fam[i].name);
		for (n = 0, k = 0; k < d->n; k++) {
			s = &d->socks[k];
			if (s->proto != fam[i].proto || s->ipv != fam[i].ipv ||
			    (s->proto == IPPROTO_TCP ? s->state != ST_LISTEN :
			    s->state != ST_CLOSE || s->rport != 0))
				continue;
			buf_printf(&p->jb, "%s{\"port\":%u", n++ ? "," : "",
			    s->lport);
			o = s->inode ? owner_find(d, s->inode, 0) : NULL;
			if (o != NULL && o->pid != 0) {
				buf_printf(&p->jb, ",\"pid\":%u", o->pid);
				pe = proc_cache_get(p->procs, o->pid,
				    o->start_ns, NULL);
				if (pe != NULL) {
					buf_puts(&p->jb, ",\"proc\":");
					buf_json_str(&p->jb, pe->proc.path);
				}
			}
			buf_puts(&p->jb, "}");
		}
		buf_puts(&p->jb, "]");
	}
	buf_puts(&p->jb, "},\"ip-addresses\":");
	netdev_addrs_json(p->addrs, &p->jb);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	buf_puts(&p->jb, ",\"instance-name\":");
	buf_json_str(&p->jb, host);
	buf_puts(&p->jb, "}");
	if (buf_ok(&p->jb) && zpub_add(p->pub, "listening-ports", p->jb.p,
	    p->jb.len) == 0)
		p->ctr[PC_LISTEN_SENT]++;
}

void
diag_src_poll(struct diag_src *d, unsigned what)
{
	static const uint8_t families[2] = { AF_INET, AF_INET6 };
	unsigned k;

	if (d == NULL)
		return;
	d->n = 0;
	for (k = 0; k < 2; k++)
		if (dump(d, families[k], IPPROTO_TCP, TCPF_ALL) == -1 ||
		    ((what & (DIAG_DO_EVENTS | DIAG_DO_LISTEN)) &&
		    dump(d, families[k], IPPROTO_UDP, TCPF_ALL) == -1))
			LOG_RATELIMITED(log_warnx, "sock_diag dump: %s",
			    strerror(errno));
	d->p->ctr[PC_DIAG_POLLS]++;
	d->p->ctr[PC_DIAG_SOCKETS] = d->n;
	scan_fds(d);
	if ((what & DIAG_DO_EVENTS) && d->events)
		diff(d);
	if (what & DIAG_DO_NETSTAT)
		for (k = 0; k < d->n; k++)
			if (d->socks[k].proto == IPPROTO_TCP &&
			    is_conn(&d->socks[k]))
				publish(d, &d->socks[k], 0, 1);
	if (what & DIAG_DO_LISTEN)
		listen_snapshot(d);
}
