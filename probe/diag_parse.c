/*
 * One message of a NETLINK_SOCK_DIAG inet_diag dump -> struct diag_sock.
 *
 * The kernel's messages are trusted no further than their lengths say:
 * the netlink length must fit the buffer, the inet_diag_msg must fit the
 * netlink payload, each attribute must fit what is left, and tcp_info is
 * read only as far as the attribute carries it (older kernels send a
 * shorter struct; missing fields stay 0).  Pure: fuzzed.
 */
#include <string.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "proto/evflow.h"
#include "probe.h"

/* Copies field `f` of tcp_info if the attribute's `len` covers it. */
#define TI_GET(dst, ti, len, f) do {					\
	if ((len) >= offsetof(struct tcp_info, f) + sizeof((ti)->f))	\
		(dst) = (ti)->f;					\
} while (0)

static void
addr_of(uint8_t dst[16], uint8_t family, const __be32 *w)
{
	if (family == AF_INET)
		evp_addr_from_v4(dst, w[0]);
	else
		memcpy(dst, w, 16);
}

static void
tcp_info_of(struct diag_sock *s, const void *data, size_t len)
{
	struct tcp_info ti;
	size_t n = len < sizeof(ti) ? len : sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, data, n);
	s->has_info = 1;
	TI_GET(s->rtt_us, &ti, n, tcpi_rtt);
	TI_GET(s->rttvar_us, &ti, n, tcpi_rttvar);
	TI_GET(s->unacked, &ti, n, tcpi_unacked);
	TI_GET(s->lost, &ti, n, tcpi_lost);
	TI_GET(s->retrans, &ti, n, tcpi_total_retrans);
	TI_GET(s->bytes_acked, &ti, n, tcpi_bytes_acked);
	TI_GET(s->bytes_received, &ti, n, tcpi_bytes_received);
	TI_GET(s->segs_out, &ti, n, tcpi_segs_out);
	TI_GET(s->segs_in, &ti, n, tcpi_segs_in);
}

int
diag_parse_msg(const void *buf, size_t len, uint8_t proto, struct diag_sock *s)
{
	const struct nlmsghdr *nh = buf;
	struct nlmsghdr h;
	struct inet_diag_msg m;
	struct rtattr ra;
	const uint8_t *p, *end;
	size_t off;

	memset(s, 0, sizeof(*s));
	if (len < sizeof(h))
		return -1;
	memcpy(&h, nh, sizeof(h));
	if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
		return -1;
	if (h.nlmsg_type == NLMSG_DONE)
		return 0;
	if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    h.nlmsg_len < NLMSG_LENGTH(sizeof(m)))
		return -1;
	memcpy(&m, (const uint8_t *)buf + NLMSG_LENGTH(0), sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return -1;
	s->family = m.idiag_family;
	s->ipv = m.idiag_family == AF_INET ? 4 : 6;
	s->state = m.idiag_state;
	s->proto = proto;
	addr_of(s->laddr, m.idiag_family, m.id.idiag_src);
	addr_of(s->raddr, m.idiag_family, m.id.idiag_dst);
	s->lport = ntohs(m.id.idiag_sport);
	s->rport = ntohs(m.id.idiag_dport);
	s->uid = m.idiag_uid;
	s->inode = m.idiag_inode;
	s->cookie = (uint64_t)m.id.idiag_cookie[1] << 32 |
	    m.id.idiag_cookie[0];
	/* A v4-mapped IPv6 socket is an IPv4 flow on the wire. */
	if (s->ipv == 6 && evp_addr_is_v4(s->laddr) &&
	    (evp_addr_is_v4(s->raddr) || s->rport == 0))
		s->ipv = 4;
	p = (const uint8_t *)buf + NLMSG_LENGTH(sizeof(m));
	end = (const uint8_t *)buf + h.nlmsg_len;
	while ((size_t)(end - p) >= sizeof(ra)) {
		memcpy(&ra, p, sizeof(ra));
		if (ra.rta_len < sizeof(ra) || ra.rta_len > (size_t)(end - p))
			return -1;
		if (ra.rta_type == INET_DIAG_INFO && proto == IPPROTO_TCP)
			tcp_info_of(s, p + RTA_LENGTH(0),
			    ra.rta_len - RTA_LENGTH(0));
		off = RTA_ALIGN(ra.rta_len);
		if (off >= (size_t)(end - p))
			break;
		p += off;
	}
	return 1;
}
