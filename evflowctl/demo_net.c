/*
 * The demo's network and traffic: a veth pair from the host into a
 * network namespace, real servers in the namespace (python3's
 * http.server on IPv4 and IPv6, a TCP and UDP echo) and real clients on
 * the host (curl, a long-lived TCP connection, UDP exchanges).
 *
 * Names carry the demo's pid (namespace evfdemo-<pid>, host end
 * evfd<pid>h, namespace end evfd<pid>n), so two demos never collide and
 * a later demo recognises what a dead one left (demo_net_stale()).
 * Addresses: a /30 of 198.18.0.0/15 (RFC 2544, for benchmarks: no real
 * network uses it) and a /64 of fd65:7666:6c6f::/48 (a ULA), both chosen
 * by the pid.  Every helper process gets SIGTERM when the demo dies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evflowctl.h"

#define DEMO_NS_PREFIX	"evfdemo-"
#define DEMO_HTTP_PORT	8080	/* the web servers in the namespace */
#define DEMO_ECHO_PORT	7007	/* TCP and UDP echo in the namespace */
#define DEMO_BLOB_BYTES	65536	/* what curl downloads */

/* The echo server: TCP and UDP on both addresses (argv: v4 v6 port). */
static const char echo_py[] =
"import socket, socketserver, sys, threading\n"
"class T(socketserver.ThreadingTCPServer):\n"
"    allow_reuse_address = True\n"
"    daemon_threads = True\n"
"class T6(T):\n"
"    address_family = socket.AF_INET6\n"
"class U(socketserver.UDPServer):\n"
"    allow_reuse_address = True\n"
"class U6(U):\n"
"    address_family = socket.AF_INET6\n"
"class Echo(socketserver.BaseRequestHandler):\n"
"    def handle(self):\n"
"        while True:\n"
"            d = self.request.recv(4096)\n"
"            if not d:\n"
"                return\n"
"            self.request.sendall(d)\n"
"class UEcho(socketserver.BaseRequestHandler):\n"
"    def handle(self):\n"
"        self.request[1].sendto(self.request[0], self.client_address)\n"
"p = int(sys.argv[3])\n"
"s = [T((sys.argv[1], p), Echo), T6((sys.argv[2], p), Echo),\n"
"     U((sys.argv[1], p), UEcho), U6((sys.argv[2], p), UEcho)]\n"
"for x in s[1:]:\n"
"    threading.Thread(target=x.serve_forever, daemon=True).start()\n"
"s[0].serve_forever()\n";

/*
 * The clients, one step a second (argv: v4 v6 http_port echo_port): a
 * TCP connection held open that sends a line each second; curl over
 * IPv4 and over IPv6 (short-lived connections); a UDP exchange on each
 * family (a new socket, so a new flow, each time).
 */
static const char client_py[] =
"import itertools, shutil, socket, subprocess, sys, time, urllib.request\n"
"v4, v6, hp, ep = sys.argv[1], sys.argv[2], int(sys.argv[3]), "
"int(sys.argv[4])\n"
"curl = shutil.which('curl')\n"
"def get(url):\n"
"    if curl:\n"
"        subprocess.run([curl, '-s', '-g', '-o', '/dev/null', '-m', '5', "
"url])\n"
"        return\n"
"    try:\n"
"        urllib.request.urlopen(url, timeout=5).read()\n"
"    except OSError:\n"
"        pass\n"
"def udp(fam, addr):\n"
"    with socket.socket(fam, socket.SOCK_DGRAM) as u:\n"
"        u.settimeout(2)\n"
"        try:\n"
"            u.sendto(b'evflow demo', (addr, ep))\n"
"            u.recv(64)\n"
"        except OSError:\n"
"            pass\n"
"held = None\n"
"for n in itertools.count():\n"
"    if held is None:\n"
"        try:\n"
"            held = socket.create_connection((v4, ep), 5)\n"
"        except OSError:\n"
"            pass\n"
"    if held is not None:\n"
"        try:\n"
"            held.sendall(b'tick\\n')\n"
"            held.recv(64)\n"
"        except OSError:\n"
"            held.close()\n"
"            held = None\n"
"    if n % 5 == 0:\n"
"        get('http://%s:%d/blob' % (v4, hp))\n"
"    if n % 5 == 2:\n"
"        get('http://[%s]:%d/blob' % (v6, hp))\n"
"    if n % 5 == 4:\n"
"        udp(socket.AF_INET, v4)\n"
"        udp(socket.AF_INET6, v6)\n"
"    time.sleep(1)\n";

/*
 * Runs argv in the background with stdout and stderr appended to
 * `logpath` (or /dev/null); it gets SIGTERM when the demo dies.
 * Returns the pid, or -1.
 */
pid_t
demo_spawn(char *const argv[], const char *logpath)
{
	pid_t parent = getpid(), pid;

	if ((pid = fork()) != 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(1);
	child_stdio(open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT |
	    O_APPEND, 0640));
	closefrom(3);
	execv(argv[0], argv);
	fprintf(stderr, "evflowctl: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Runs a command given as a printf format, split at spaces (no quoting:
 * every word here is a name, an address or a number), waits for it.
 * The program is found like a daemon binary.  Returns 0 if it exited 0.
 */
static int __attribute__((format(printf, 3, 4)))
run(const struct ctl_opts *o, const char *logpath, const char *fmt, ...)
{
	char line[512], bin[PATH_MAX], *argv[32], *p;
	unsigned n = 0;
	va_list ap;
	pid_t pid;
	int st;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = strtok(line, " "); p != NULL && n < 31; p = strtok(NULL, " "))
		argv[n++] = p;
	argv[n] = NULL;
	if (n == 0 || find_bin(o, argv[0], bin, sizeof(bin)) == -1)
		return -1;
	argv[0] = bin;
	if ((pid = demo_spawn(argv, logpath)) == -1)
		return -1;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Kills every process whose network namespace is the one bound at
 * `nspath` (/run/netns/NAME). */
static void
kill_ns_procs(const char *nspath)
{
	char p[64];
	struct stat ns, st;
	struct dirent *e;
	DIR *dir;
	pid_t pid;

	if (stat(nspath, &ns) == -1 || (dir = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		if ((pid = (pid_t)atoi(e->d_name)) <= 1)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
		if (stat(p, &st) == 0 && st.st_ino == ns.st_ino &&
		    st.st_dev == ns.st_dev)
			kill(pid, SIGKILL);
	}
	closedir(dir);
}

/* 1 if the demo of `pid` is gone. */
static int
demo_dead(long pid)
{
	return pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

int
demo_net_stale(const struct ctl_opts *o, const char *logpath)
{
	char path[PATH_MAX], *end;
	struct dirent *e;
	DIR *dir;
	long pid;
	int n = 0;

	if ((dir = opendir("/run/netns")) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			if (strncmp(e->d_name, DEMO_NS_PREFIX,
			    strlen(DEMO_NS_PREFIX)) != 0)
				continue;
			pid = strtol(e->d_name + strlen(DEMO_NS_PREFIX), &end,
			    10);
			if (*end != '\0' || !demo_dead(pid))
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s",
			    e->d_name);
			kill_ns_procs(path);
			if (run(o, logpath, "ip netns del %s", e->d_name) == 0)
				n++;
		}
		closedir(dir);
	}
	/* A host end whose namespace is gone goes with it; one left by a
	 * demo that died half-way through its set-up may not have. */
	if ((dir = opendir("/sys/class/net")) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			if (strncmp(e->d_name, "evfd", 4) != 0)
				continue;
			pid = strtol(e->d_name + 4, &end, 10);
			if (strcmp(end, "h") != 0 || !demo_dead(pid))
				continue;
			if (run(o, logpath, "ip link del %s", e->d_name) == 0)
				n++;
		}
		closedir(dir);
	}
	return n;
}

/* The names and addresses of this demo's network. */
static void
net_names(struct demo_net *n)
{
	unsigned pid = (unsigned)getpid(), sub = (pid % 32768) * 4;

	memset(n, 0, sizeof(*n));
	snprintf(n->ns, sizeof(n->ns), DEMO_NS_PREFIX "%u", pid);
	snprintf(n->host_if, sizeof(n->host_if), "evfd%uh", pid);
	snprintf(n->ns_if, sizeof(n->ns_if), "evfd%un", pid);
	snprintf(n->v4_host, sizeof(n->v4_host), "198.%u.%u.%u",
	    18 + (sub >> 16), (sub >> 8) & 255, (sub & 255) + 1);
	snprintf(n->v4_ns, sizeof(n->v4_ns), "198.%u.%u.%u",
	    18 + (sub >> 16), (sub >> 8) & 255, (sub & 255) + 2);
	snprintf(n->v6_host, sizeof(n->v6_host), "fd65:7666:6c6f:%x::1",
	    pid & 0xffff);
	snprintf(n->v6_ns, sizeof(n->v6_ns), "fd65:7666:6c6f:%x::2",
	    pid & 0xffff);
	n->http_port = DEMO_HTTP_PORT;
	n->echo_port = DEMO_ECHO_PORT;
}

const char *
demo_net_unavailable(const struct ctl_opts *o)
{
	char bin[PATH_MAX];

	if (geteuid() != 0)
		return "not root";
	if (find_bin(o, "ip", bin, sizeof(bin)) == -1)
		return "no 'ip' command (iproute2)";
	if (find_bin(o, "evflow-capture", bin, sizeof(bin)) == -1)
		return "evflow-capture not built";
	return NULL;
}

int
demo_net_up(const struct ctl_opts *o, struct demo_net *n, const char *log)
{
	net_names(n);
	if (run(o, log, "ip netns add %s", n->ns) == -1)
		return -1;
	n->up = 1;
	if (run(o, log, "ip link add %s type veth peer name %s netns %s",
	    n->host_if, n->ns_if, n->ns) == -1 ||
	    run(o, log, "ip addr add %s/30 dev %s", n->v4_host,
	    n->host_if) == -1 ||
	    run(o, log, "ip -6 addr add %s/64 dev %s nodad", n->v6_host,
	    n->host_if) == -1 ||
	    run(o, log, "ip link set %s up", n->host_if) == -1 ||
	    run(o, log, "ip -n %s link set lo up", n->ns) == -1 ||
	    run(o, log, "ip -n %s addr add %s/30 dev %s", n->ns, n->v4_ns,
	    n->ns_if) == -1 ||
	    run(o, log, "ip -n %s -6 addr add %s/64 dev %s nodad", n->ns,
	    n->v6_ns, n->ns_if) == -1 ||
	    run(o, log, "ip -n %s link set %s up", n->ns, n->ns_if) == -1) {
		demo_net_down(o, n, log);
		return -1;
	}
	return 0;
}

void
demo_net_down(const struct ctl_opts *o, struct demo_net *n, const char *log)
{
	char path[PATH_MAX];

	if (!n->up)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", n->ns);
	kill_ns_procs(path);
	run(o, log, "ip netns del %s", n->ns);
	snprintf(path, sizeof(path), "/sys/class/net/%s", n->host_if);
	if (access(path, F_OK) == 0)
		run(o, log, "ip link del %s", n->host_if);
	n->up = 0;
}

void
demo_net_loopback(struct demo_net *n, int http_port, int echo_port)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->v4_ns, sizeof(n->v4_ns), "127.0.0.1");
	snprintf(n->v6_ns, sizeof(n->v6_ns), "::1");
	n->http_port = http_port;
	n->echo_port = echo_port;
}

/* The files the web servers serve: an index and a blob for curl. */
static int
www_dir(const struct ctl_opts *o, char *dir, size_t len)
{
	static char zero[4096];
	char p[PATH_MAX + 16];
	FILE *fp;
	int k;

	datadir_path(dir, len, o, "demo-www");
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	snprintf(p, sizeof(p), "%s/blob", dir);
	if ((fp = fopen(p, "w")) == NULL)
		return -1;
	for (k = 0; k < DEMO_BLOB_BYTES / (int)sizeof(zero); k++)
		fwrite(zero, 1, sizeof(zero), fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* Runs argv in the namespace of `n` (or here, without one). */
static pid_t
spawn_in(const struct ctl_opts *o, const struct demo_net *n, char **argv,
    const char *log)
{
	char ip[PATH_MAX], *full[16];
	unsigned k = 0, j;

	if (n->ns[0] != '\0') {
		if (find_bin(o, "ip", ip, sizeof(ip)) == -1)
			return -1;
		full[k++] = ip;
		full[k++] = (char *)(uintptr_t)"netns";
		full[k++] = (char *)(uintptr_t)"exec";
		full[k++] = (char *)(uintptr_t)n->ns;
	}
	for (j = 0; argv[j] != NULL && k < 15; j++)
		full[k++] = argv[j];
	full[k] = NULL;
	return demo_spawn(full, log);
}

int
demo_servers(const struct ctl_opts *o, struct demo_net *n, const char *log)
{
	char py[PATH_MAX], www[PATH_MAX], port[16], eport[16];
	char *http4[] = { py, "-m", "http.server", port, "--bind", n->v4_ns,
	    "--directory", www, NULL };
	char *http6[] = { py, "-m", "http.server", port, "--bind", n->v6_ns,
	    "--directory", www, NULL };
	char *echo[] = { py, "-c", (char *)(uintptr_t)echo_py, n->v4_ns,
	    n->v6_ns, eport, NULL };

	if (find_bin(o, "python3", py, sizeof(py)) == -1 ||
	    www_dir(o, www, sizeof(www)) == -1)
		return -1;
	snprintf(port, sizeof(port), "%d", n->http_port);
	snprintf(eport, sizeof(eport), "%d", n->echo_port);
	n->pid[0] = spawn_in(o, n, http4, log);
	n->pid[1] = spawn_in(o, n, http6, log);
	n->pid[2] = spawn_in(o, n, echo, log);
	return n->pid[0] > 0 && n->pid[1] > 0 && n->pid[2] > 0 ? 0 : -1;
}

int
demo_clients(const struct ctl_opts *o, struct demo_net *n, const char *log)
{
	char py[PATH_MAX], port[16], eport[16];
	char *argv[] = { py, "-c", (char *)(uintptr_t)client_py, n->v4_ns,
	    n->v6_ns, port, eport, NULL };

	if (find_bin(o, "python3", py, sizeof(py)) == -1)
		return -1;
	snprintf(port, sizeof(port), "%d", n->http_port);
	snprintf(eport, sizeof(eport), "%d", n->echo_port);
	n->pid[3] = demo_spawn(argv, log);
	return n->pid[3] > 0 ? 0 : -1;
}

void
demo_stop_helpers(struct demo_net *n)
{
	unsigned k;

	for (k = 0; k < DEMO_HELPERS; k++)
		if (n->pid[k] > 0)
			kill(n->pid[k], SIGTERM);
	for (k = 0; k < DEMO_HELPERS; k++)
		if (n->pid[k] > 0) {
			waitpid(n->pid[k], NULL, 0);
			n->pid[k] = 0;
		}
}
