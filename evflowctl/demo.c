/*
 * evflowctl demo: the whole system on a default configuration with live
 * demo traffic, until Ctrl-C.
 *
 * A ZMQ interface on a free loopback port (the collector binds
 * tcp://127.0.0.1:PORT), evflow-testpub publishing a live stream of
 * libebpfflow-style events to it; as root with evflow-capture built,
 * also a capture of `lo` with a little curl traffic to the web UI.
 * Then it stops everything with the same path as `evflowctl stop`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "common/sig.h"
#include "evflowctl.h"

#define DEMO_CURL_SEC	5	/* seconds between curl requests */

/* A TCP port free on 127.0.0.1 right now, or 0. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Runs argv with output appended to `logpath`.  Returns the pid or -1. */
static pid_t
run_bg(char *const argv[], const char *logpath)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) != 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0640)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	closefrom(3);
	execv(argv[0], argv);
	fprintf(stderr, "evflowctl: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Gives the web UI a login for the demo: user "demo" with a random
 * password set through `evflow-webd --set-password` (the same path an
 * operator uses at install time), written to `pw`.  Returns 0 or -1.
 */
static int
demo_password(const struct ctl_opts *o, const char *webbin, char *pw,
    size_t pwlen)
{
	static const char abc[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char rnd[16];
	char *argv[] = { (char *)(uintptr_t)webbin, "-d",
	    (char *)(uintptr_t)o->datadir, "--set-password", "demo", NULL };
	int fds[2], status, fd;
	size_t i, n = pwlen - 1 < sizeof(rnd) ? pwlen - 1 : sizeof(rnd);
	pid_t pid;

	if ((fd = open("/dev/urandom", O_RDONLY)) == -1)
		return -1;
	if (read(fd, rnd, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < n; i++)
		pw[i] = abc[rnd[i] % (sizeof(abc) - 1)];
	pw[n] = '\0';
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	if (pid == -1 || write(fds[1], pw, n) != (ssize_t)n ||
	    write(fds[1], "\n", 1) != 1) {
		close(fds[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(fds[1]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

int
cmd_demo(struct ctl_opts *o)
{
	char zmq[64], pubbin[PATH_MAX], capbin[PATH_MAX], webbin[PATH_MAX];
	char curlbin[PATH_MAX], logp[PATH_MAX + 32], url[64], pw[17];
	char *pubargv[] = { pubbin, "-z", zmq, "--live", NULL };
	char *curlargv[] = { curlbin, "-s", "-o", "/dev/null", url, NULL };
	struct timespec nap = { 1, 0 };
	pid_t pub = -1, curl;
	unsigned tick = 0;
	int port, rc, lo = 0, web;

	if (o->iface.n == 0) {
		if ((port = free_port()) == 0) {
			fprintf(stderr, "evflowctl: no free loopback port\n");
			return 1;
		}
		snprintf(zmq, sizeof(zmq), "tcp://127.0.0.1:%dc", port);
		snprintf(o->iface.item[o->iface.n++], CONF_STR_LEN, "%s", zmq);
		if (geteuid() == 0 && find_bin(o, "evflow-capture", capbin,
		    sizeof(capbin)) == 0 && access("/sys/class/net/lo",
		    F_OK) == 0) {
			snprintf(o->iface.item[o->iface.n++], CONF_STR_LEN,
			    "lo");
			lo = 1;
		}
	} else
		snprintf(zmq, sizeof(zmq), "%.60s", o->iface.item[0]);
	web = find_bin(o, "evflow-webd", webbin, sizeof(webbin)) == 0;
	if (web && o->web_port < 0)
		o->web_port = 0;	/* any free port, read back below */
	if ((rc = cmd_start_opts(o)) != 0) {
		fprintf(stderr, "evflowctl: demo: start failed; stopping\n");
		cmd_stop_opts(o);
		return rc;
	}
	if (sig_setup() == -1)
		perror("evflowctl: signals");
	datadir_path(logp, sizeof(logp), o, "testpub.log");
	if (strstr(zmq, "://") == NULL)
		printf("no ZMQ interface: no demo traffic\n");
	else if (find_bin(o, "evflow-testpub", pubbin, sizeof(pubbin)) == -1)
		printf("evflow-testpub not built (make): no demo traffic\n");
	else if ((pub = run_bg(pubargv, logp)) == -1)
		perror("evflowctl: fork");
	else
		printf("demo traffic: evflow-testpub -z %s --live (log %s)\n",
		    zmq, logp);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", web_port_of(o));
	printf("\nhave a look:\n"
	    "  evflowctl status -d %s\n"
	    "  evflowctl iface list -d %s\n"
	    "  sqlite3 %s/evflow.db 'SELECT cli_addr, cli_port, srv_addr, "
	    "srv_port, cli_process, srv_process FROM flows ORDER BY "
	    "last_seen DESC LIMIT 10'\n", o->datadir, o->datadir, o->datadir);
	if (web && demo_password(o, webbin, pw, sizeof(pw)) == 0)
		printf("  web UI: %s  (user demo, password %s)\n", url, pw);
	else if (web)
		printf("  web UI: %s  (set a login: evflow-webd -d %s "
		    "--set-password USER)\n", url, o->datadir);
	printf("Ctrl-C stops everything.\n");
	fflush(stdout);
	lo = lo && web && find_bin(o, "curl", curlbin, sizeof(curlbin)) == 0;
	while (!sig_quit) {
		nanosleep(&nap, NULL);
		if (lo && ++tick % DEMO_CURL_SEC == 0 &&
		    (curl = run_bg(curlargv, "/dev/null")) > 0)
			waitpid(curl, NULL, 0);
		if (pub > 0 && waitpid(pub, NULL, WNOHANG) == pub) {
			printf("evflow-testpub exited (see %s)\n", logp);
			pub = -1;
		}
	}
	printf("\nstopping the demo\n");
	if (pub > 0) {
		kill(pub, SIGTERM);
		waitpid(pub, NULL, 0);
	}
	return cmd_stop_opts(o);
}
