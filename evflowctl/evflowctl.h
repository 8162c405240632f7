/*
 * evflowctl: a small supervisor and control client for development and
 * the demo.
 *
 *   main.c        options, the data directory, start and stop (client side)
 *   supervise.c   the supervisor: spawning, readiness, restarts with
 *                 backoff, ordered and drained stop, its control socket
 *   plan.c        which daemons an instance runs, with which arguments
 *   adopt.c       what a killed supervisor leaves: adoption, leftovers
 *   status.c      status, ping and iface: talking to control sockets
 *   demo.c        the demo: the whole system with real traffic between a
 *                 network namespace and the host
 *
 * Everything of one instance lives under its data directory: the
 * database, ipc sockets, each daemon's log (<name>.log), the
 * supervisor's pidfile (evflowctl.pid, flock'ed while it runs), log,
 * control socket (evflowctl.ctl) and its daemons' pids and stages
 * (evflowctl.daemons: what a killed supervisor leaves for the next start
 * to adopt), and webd's port (webd.port).  Two instances with two data
 * directories never meet.
 */
#ifndef EVFLOW_EVFLOWCTL_H
#define EVFLOW_EVFLOWCTL_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"

#define CTL_TIMEOUT_MS		2000	/* one control request */
/* status and ping: the supervisor's list, then every daemon at once, so
 * the answer comes within a second even when a daemon is stopped */
#define CTL_SUP_TIMEOUT_MS	250
#define CTL_STATUS_TIMEOUT_MS	500
#define SUP_MAX_DAEMONS		(CONF_LIST_MAX + 3)
#define SUP_MAX_ARGS		(2 * CONF_LIST_MAX + 16)
#define SUP_ARGBUF		(CONF_LIST_MAX * CONF_STR_LEN + 4096) /* bytes */
#define SUP_STOP_TIMEOUT_MS	5000	/* TERM -> KILL, per stop stage */
#define SUP_BACKOFF_MIN_MS	500	/* first restart delay */
#define SUP_BACKOFF_MAX_MS	30000	/* restart delay cap */
#define SUP_STABLE_USEC		10000000 /* a run this long resets backoff */
#define SUP_READY_TIMEOUT_MS	30000	/* start: wait for the daemons (a store
					   may migrate or vacuum first) */
/* `-i probe`: the ZMQ interface a local evflow-probe feeds by default */
#define PROBE_DEFAULT_ZMQ	"tcp://127.0.0.1:5570c"

#define SUP_DRAIN_MS		2000	/* stop: wait for a stage to drain */
#define SUP_DRAIN_STILL_MS	150	/* ... counters standing still */

/* Stop order, upstream first, so nothing upstream is left writing to a
 * dead peer: probes (and webd, which only reads), collectors and
 * captures, the router, the store; each stage after the first is
 * drained before it is stopped. */
enum sup_stage { STAGE_PROBE = 0, STAGE_EDGE = 1, STAGE_ROUTER = 2,
	STAGE_STORE = 3, STAGE_MAX };

/* The settings of one instance, from options and the config file. */
struct ctl_opts {
	char		 datadir[PATH_MAX];
	char		 conf[PATH_MAX];	/* absolute, or "" */
	char		 self_dir[PATH_MAX];	/* where evflowctl lives */
	long long	 web_port;		/* -1 webd's default, 0 any */
	int		 foreground;
	int		 json;
	int		 verbose;
	char		 probe_mode[16];	/* -m: auto, bpf, diag, or "" */
	char		 role[16];		/* all, edge, central (--role) */
	struct conf_list iface;
};

struct daemon {
	char		 name[64];	/* instance name: store, collector0 ... */
	const char	*role;		/* store, router, collector, probe,
					   capture, webd */
	enum sup_stage	 stage;
	char		 path[PATH_MAX];
	char		*argv[SUP_MAX_ARGS];	/* NULL-terminated, into argbuf */
	unsigned	 argc;
	size_t		 arglen;
	char		 argbuf[SUP_ARGBUF];
	pid_t		 pid;		/* 0 when not running */
	uint64_t	 started_usec;	/* monotonic */
	uint64_t	 restart_usec;	/* monotonic: when to start again */
	unsigned	 backoff_ms;
	unsigned	 starts;
	unsigned	 restarts;
	int		 last_status;	/* wait status of the last exit */
	int		 adopted;	/* left running by a killed supervisor
					   and taken over: not our child */
	int		 pidfd;		/* adopted: readable once it exits */
	int		 ready;		/* answered its control socket */
	unsigned	 port_arg;	/* argv index of port_opt, or 0 */
	char		 port_opt[32];	/* webd -p 0: "webd.port=N" once known */
	int		 once;		/* a pcap file: a clean exit is the end */
	int		 finished;	/* ... and it ended (last_status says
					   whether with SUP_EXIT_FILE_ERROR) */
};

/* evflow-capture's CAPTURE_EXIT_FILE_ERROR: its pcap file ended in a read
 * error (cut short); what it read was sent; not restarted (a second read
 * would count it twice) but shown as finished with an error. */
#define SUP_EXIT_FILE_ERROR	3

/* One supervisor: its daemons and counters. */
struct sup {
	struct ctl_opts	*o;
	struct daemon	*d;
	unsigned	 n;
	struct ctl	*ctl;
	int		 lock_fd;
	int		 starting;	/* an exit now fails the start */
	int		 stopping;
	struct daemon	*failed;	/* the first to exit while starting */
	uint64_t	 starts, restarts, exits;
};

/* main.c */
/* Finds daemon binary `name`: next to evflowctl, then in PATH.
 * Returns 0 with the path, or -1. */
int	find_bin(const struct ctl_opts *, const char *, char *, size_t);
/* Paths under the data directory. */
void	datadir_path(char *, size_t, const struct ctl_opts *, const char *);
void	ctl_endpoint_of(char *, size_t, const struct ctl_opts *, const char *);
/* In a child before exec: stdin from /dev/null, stdout and stderr to
 * `fd` (left as they are when fd is -1); fd itself is closed unless it
 * is one of the three. */
void	child_stdio(int);
/* Starts the supervisor (background unless -F) and waits until it
 * reports ready.  Returns the exit status for the command. */
int	cmd_start_opts(struct ctl_opts *);
/* Stops the instance of `o` and waits until it is gone.  0 or 1. */
int	cmd_stop_opts(const struct ctl_opts *);

/* supervise.c */
/*
 * The ZMQ interface an interface declaration names.  "probe" is
 * PROBE_DEFAULT_ZMQ and "probe:ENDPOINT" is ENDPOINT, each fed by a
 * local evflow-probe; anything else names itself.  Writes the interface
 * name to `zmq` and returns 1 for a probe, 0 for anything else, -1 with
 * err for a probe endpoint a local probe cannot connect to (it must be
 * one the collector binds: a trailing 'c').
 */
int	probe_iface(const char *, char *, size_t, char *, size_t);
/* Runs the supervisor in this process until SIGTERM/SIGINT, then stops
 * every daemon in order.  `ready_fd` (or -1) gets one line, then is
 * closed: "ok" once every daemon answers, or the reason it could not
 * start (then nothing it started or adopted runs).  Returns the exit
 * status. */
int	supervise(struct ctl_opts *, int);
/* Stops every daemon of the supervisor, stage by stage, upstream first,
 * each stage after the first drained before it is stopped. */
void	stop_all(struct sup *);

/* plan.c */
/* Decides which daemons run.  Returns 0, or -1 with err. */
int	plan(struct sup *, char *, size_t);
/* After plan(): stop stages of probes and webd, webd's port argument. */
void	plan_finish(struct sup *);

/* adopt.c */
/* Writes <datadir>/evflowctl.daemons: "pid name stage" of each. */
void	write_pids(struct sup *);
/* 1 once adopted daemon `d` (not our child) has exited. */
int	adopted_gone(struct daemon *, const char *);
/* Adopts the daemons a killed supervisor left that run as planned,
 * stops the others.  Returns how many were adopted. */
unsigned adopt(struct sup *);
/* Stops daemons of this data directory that a killed supervisor left
 * running (from <datadir>/evflowctl.daemons), stage by stage.  Returns
 * how many. */
int	leftovers_stop(const struct ctl_opts *);

/* status.c */
struct cJSON;
/* The string member `key` of a JSON object, or "?" (never NULL). */
const char *json_str(const struct cJSON *, const char *);
/* 1 if the daemon entry from the supervisor says it finished (a pcap
 * file read to its end): not running, and not expected to. */
int	json_finished(const struct cJSON *);
/* The error a finished daemon ended with, or NULL if it ended cleanly. */
const char *json_finish_error(const struct cJSON *);
int	cmd_status(const struct ctl_opts *);
int	cmd_ping(const struct ctl_opts *);
int	cmd_iface(const struct ctl_opts *, int, char **);
/* The port webd reported in <datadir>/webd.port, or -1. */
int	web_port_of(const struct ctl_opts *);
/* Prints where things are: database, control endpoints, logs. */
void	print_places(const struct ctl_opts *);

/* demo.c */
int	cmd_demo(struct ctl_opts *);

/* demo_net.c: the demo's network namespace, servers and clients */
#define DEMO_HELPERS	4	/* web v4, web v6, echo, clients */
struct demo_net {
	char	 ns[32];		/* evfdemo-<pid>, "" on loopback */
	char	 host_if[16];		/* evfd<pid>h: captured */
	char	 ns_if[16];		/* evfd<pid>n */
	char	 v4_host[16], v4_ns[16];	/* the servers: v4_ns, v6_ns */
	char	 v6_host[48], v6_ns[48];
	int	 http_port, echo_port;
	int	 up;			/* the namespace exists */
	pid_t	 pid[DEMO_HELPERS];
};
/* Runs argv in the background, output appended to the log (NULL: none),
 * SIGTERM when evflowctl dies.  The pid or -1. */
pid_t	demo_spawn(char *const [], const char *);
/* Why a namespace network cannot be made here, or NULL if it can. */
const char *demo_net_unavailable(const struct ctl_opts *);
/* Removes namespaces and veths of demos that died.  Returns how many. */
int	demo_net_stale(const struct ctl_opts *, const char *);
/* Makes the namespace and the veth pair (addresses, links up).  0, or
 * -1 with nothing left behind. */
int	demo_net_up(const struct ctl_opts *, struct demo_net *, const char *);
/* Kills what runs in the namespace, removes it and the veth. */
void	demo_net_down(const struct ctl_opts *, struct demo_net *,
	    const char *);
/* Servers and clients on 127.0.0.1 and ::1 instead (no namespace). */
void	demo_net_loopback(struct demo_net *, int, int);
/* Starts the servers, then the clients.  0 or -1. */
int	demo_servers(const struct ctl_opts *, struct demo_net *, const char *);
int	demo_clients(const struct ctl_opts *, struct demo_net *, const char *);
/* SIGTERMs the servers and clients and waits for them. */
void	demo_stop_helpers(struct demo_net *);

#endif
