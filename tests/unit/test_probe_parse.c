/*
 * The probe's parsers of outside text: cgroup paths -> containers,
 * /proc/<pid>/stat, status and cmdline, /proc/net/dev, and inet_diag
 * netlink messages (built here as the kernel lays them out).
 */
#include <stdio.h>
#include <string.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "probe/probe.h"
#include "proto/evflow.h"
#include "t.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "1b2c3d4e-1111-2222-3333-444455556666"

static void
test_cgroup(void)
{
	static const struct {
		const char *path;
		enum probe_cont_kind kind;
		const char *id, *pod;
	} cases[] = {
		{ "/system.slice/docker-" ID64 ".scope", PCONT_DOCKER, ID64, "" },
		{ "/docker/" ID64, PCONT_DOCKER, ID64, "" },
		{ "/machine.slice/libpod-" ID64 ".scope/container",
		  PCONT_PODMAN, ID64, "" },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/"
		  "libpod-" ID64 ".scope", PCONT_PODMAN, ID64, "" },
		{ "/machine.slice/libpod-conmon-" ID64 ".scope", PCONT_NONE, "",
		  "" },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
		  "pod1b2c3d4e_1111_2222_3333_444455556666.slice/"
		  "cri-containerd-" ID64 ".scope", PCONT_CONTAINERD, ID64, POD },
		{ "/kubepods/besteffort/pod" POD "/" ID64, PCONT_CONTAINERD,
		  ID64, POD },
		{ "/kubepods.slice/kubepods-pod1b2c3d4e_1111_2222_3333_"
		  "444455556666.slice/crio-" ID64 ".scope", PCONT_CRIO, ID64,
		  POD },
		{ "/kubepods/burstable/pod" POD, PCONT_K8S_POD, "", POD },
		{ "/user.slice/user-1000.slice/session-2.scope", PCONT_NONE, "",
		  "" },
		{ "/", PCONT_NONE, "", "" },
		{ "", PCONT_NONE, "", "" },
		{ "/docker/" ID64 "0", PCONT_NONE, "", "" },	/* 65 digits */
		{ "/system.slice/docker-xyz.scope", PCONT_NONE, "", "" },
	};
	struct probe_container k;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ_U(cgroup_container(cases[i].path, &k),
		    cases[i].kind != PCONT_NONE);
		CHECK_EQ_U(k.kind, cases[i].kind);
		CHECK_STR(k.id, cases[i].id);
		CHECK_STR(k.pod, cases[i].pod);
	}
}

static void
test_cgroup_proc(void)
{
	const char *v2 = "0::/system.slice/docker-" ID64 ".scope\n";
	const char *v1 = "12:pids:/docker/" ID64 "\n"
	    "1:name=systemd:/docker/" ID64 "\n";
	const char *none = "garbage without colons\n";
	char path[CONF_STR_LEN];

	CHECK(cgroup_proc_path(v2, strlen(v2), path, sizeof(path)) == 0);
	CHECK_STR(path, "/system.slice/docker-" ID64 ".scope");
	CHECK(cgroup_proc_path(v1, strlen(v1), path, sizeof(path)) == 0);
	CHECK_STR(path, "/docker/" ID64);
	CHECK(cgroup_proc_path(none, strlen(none), path, sizeof(path)) == -1);
	CHECK(cgroup_proc_path(v2, strlen(v2), path, 8) == -1);
}

static void
test_stat(void)
{
	const char *s = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 "
	    "100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
	const char *cut = "4242 (x) S 17 4242 4242 0 -1";
	struct proc_stat st;

	CHECK(proc_parse_stat(s, strlen(s), &st) == 0);
	CHECK_STR(st.comm, "my (odd) name");
	CHECK_EQ_U(st.ppid, 17);
	CHECK_EQ_U(st.start_ticks, 987654);
	CHECK_EQ_U(st.state, 'S');
	CHECK(proc_parse_stat(cut, strlen(cut), &st) == -1);
	CHECK(proc_parse_stat("no parens", 9, &st) == -1);
	/* only the first 20 bytes given: never read past len */
	CHECK(proc_parse_stat(s, 20, &st) == -1);
}

static void
test_status(void)
{
	const char *s = "Name:\tcurl\nUmask:\t0022\nState:\tS\nTgid:\t9\n"
	    "Uid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n";
	uint32_t uid = 0, gid = 0;
	char out[16];

	CHECK(proc_parse_status(s, strlen(s), &uid, &gid) == 0);
	CHECK_EQ_U(uid, 1000);
	CHECK_EQ_U(gid, 100);
	CHECK(proc_parse_status("Uid:\tx\n", 7, &uid, &gid) == -1);
	CHECK(proc_parse_status("Uid:\t99999999999\nGid:\t1\n", 24, &uid,
	    &gid) == -1);
	CHECK_EQ_U(proc_join_cmdline("curl\0-s\0http://x/\0", 19, out,
	    sizeof(out)), 15);
	CHECK_STR(out, "curl -s http://");
	CHECK_EQ_U(proc_join_cmdline("a\0b\0", 4, out, 2), 1);
	CHECK_STR(out, "a");
	CHECK_EQ_U(proc_join_cmdline("", 0, out, sizeof(out)), 0);
}

static unsigned nifs;
static struct netdev_stats last_if;

static void
on_if(void *arg, const struct netdev_stats *s)
{
	(void)arg;
	nifs++;
	last_if = *s;
}

static void
test_netdev(void)
{
	const char *t =
	    "Inter-|   Receive                                                |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	    "    lo:  5555      55    0    0    0     0          0         0     5555      55    0    0    0     0       0          0\n"
	    "  eth0: 123456789 234567    3    0    0     0          0         0 98765432 123456    1    0    0     0       0          0\n"
	    "  bad: 1 2 3\n";
	unsigned bad = 0;

	CHECK(netdev_parse(t, strlen(t), on_if, NULL, &bad) == 2);
	CHECK_EQ_U(nifs, 2);
	CHECK_EQ_U(bad, 1);
	CHECK_STR(last_if.name, "eth0");
	CHECK_EQ_U(last_if.rx_bytes, 123456789);
	CHECK_EQ_U(last_if.rx_packets, 234567);
	CHECK_EQ_U(last_if.rx_errs, 3);
	CHECK_EQ_U(last_if.tx_bytes, 98765432);
	CHECK_EQ_U(last_if.tx_packets, 123456);
	CHECK_EQ_U(last_if.tx_errs, 1);
	CHECK(netdev_parse("nonsense", 8, on_if, NULL, &bad) == -1);
}

/* A dump message as the kernel builds it: header, inet_diag_msg, then
 * an INET_DIAG_INFO attribute of `info_len` bytes of tcp_info. */
static size_t
diag_msg(uint8_t *buf, int v6, size_t info_len)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(void *)buf;
	struct inet_diag_msg *m = NLMSG_DATA(nh);
	struct rtattr *ra;
	struct tcp_info ti;
	size_t len = NLMSG_LENGTH(sizeof(*m));

	memset(buf, 0, 1024);
	nh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m->idiag_family = v6 ? AF_INET6 : AF_INET;
	m->idiag_state = 1;
	m->id.idiag_sport = htons(40000);
	m->id.idiag_dport = htons(443);
	if (v6) {
		inet_pton(AF_INET6, "2001:db8::1", m->id.idiag_src);
		inet_pton(AF_INET6, "2001:db8::2", m->id.idiag_dst);
	} else {
		inet_pton(AF_INET, "10.0.0.1", m->id.idiag_src);
		inet_pton(AF_INET, "10.0.0.2", m->id.idiag_dst);
	}
	m->id.idiag_cookie[0] = 7;
	m->idiag_uid = 1000;
	m->idiag_inode = 31337;
	if (info_len > 0) {
		ra = (struct rtattr *)(void *)(buf + NLMSG_ALIGN(len));
		ra->rta_type = INET_DIAG_INFO;
		ra->rta_len = (unsigned short)RTA_LENGTH(info_len);
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_rtt = 250;
		ti.tcpi_total_retrans = 2;
		ti.tcpi_bytes_acked = 5000;
		ti.tcpi_bytes_received = 7000;
		ti.tcpi_segs_in = 11;
		ti.tcpi_segs_out = 12;
		memcpy(RTA_DATA(ra), &ti, info_len < sizeof(ti) ? info_len :
		    sizeof(ti));
		len = NLMSG_ALIGN(len) + RTA_ALIGN(ra->rta_len);
	}
	nh->nlmsg_len = (uint32_t)len;
	return len;
}

static void
test_diag(void)
{
	uint8_t buf[1024];
	struct diag_sock s;
	char a[64];
	size_t n;

	n = diag_msg(buf, 0, sizeof(struct tcp_info));
	CHECK(diag_parse_msg(buf, n, IPPROTO_TCP, &s) == 1);
	CHECK_EQ_U(s.ipv, 4);
	CHECK_STR(evp_addr_str(s.laddr, a, sizeof(a)), "10.0.0.1");
	CHECK_STR(evp_addr_str(s.raddr, a, sizeof(a)), "10.0.0.2");
	CHECK_EQ_U(s.lport, 40000);
	CHECK_EQ_U(s.rport, 443);
	CHECK_EQ_U(s.uid, 1000);
	CHECK_EQ_U(s.inode, 31337);
	CHECK_EQ_U(s.cookie, 7);
	CHECK_EQ_U(s.has_info, 1);
	CHECK_EQ_U(s.rtt_us, 250);
	CHECK_EQ_U(s.retrans, 2);
	CHECK_EQ_U(s.bytes_acked, 5000);
	CHECK_EQ_U(s.bytes_received, 7000);
	CHECK_EQ_U(s.segs_in, 11);
	CHECK_EQ_U(s.segs_out, 12);
	/* an old kernel's short tcp_info: the fields it lacks stay 0 */
	n = diag_msg(buf, 1, 104);
	CHECK(diag_parse_msg(buf, n, IPPROTO_TCP, &s) == 1);
	CHECK_EQ_U(s.ipv, 6);
	CHECK_STR(evp_addr_str(s.laddr, a, sizeof(a)), "2001:db8::1");
	CHECK_EQ_U(s.rtt_us, 250);
	CHECK_EQ_U(s.bytes_acked, 0);
	/* lengths that lie */
	n = diag_msg(buf, 0, sizeof(struct tcp_info));
	CHECK(diag_parse_msg(buf, n - 1, IPPROTO_TCP, &s) == -1);
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = 8;
	CHECK(diag_parse_msg(buf, n, IPPROTO_TCP, &s) == -1);
	n = diag_msg(buf, 0, 16);
	((struct rtattr *)(void *)(buf + NLMSG_ALIGN(NLMSG_LENGTH(
	    sizeof(struct inet_diag_msg)))))->rta_len = 500;
	CHECK(diag_parse_msg(buf, n, IPPROTO_TCP, &s) == -1);
	((struct nlmsghdr *)(void *)buf)->nlmsg_type = NLMSG_DONE;
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = NLMSG_LENGTH(4);
	CHECK(diag_parse_msg(buf, NLMSG_LENGTH(4), IPPROTO_TCP, &s) == 0);
	CHECK(diag_parse_msg(buf, 3, IPPROTO_TCP, &s) == -1);
}

int
main(void)
{
	test_cgroup();
	test_cgroup_proc();
	test_stat();
	test_status();
	test_netdev();
	test_diag();
	return t_done("test_probe_parse");
}
