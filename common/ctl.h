/*
 * The control socket every daemon answers: a nanomsg REP socket at
 * ipc://<datadir>/<daemon>.ctl (or a tcp:// endpoint).  A request is one
 * line of words ("stats", "ping", "iface set eth0 mirrored yes"); the
 * reply is text, JSON for "stats".  A reply starting with "error: "
 * is a refusal.  `ping` is answered here; everything else goes to the
 * daemon's handler.
 */
#ifndef EVFLOW_CTL_H
#define EVFLOW_CTL_H

#include <stddef.h>

#include "buf.h"

#define CTL_MAX_REQUEST	4096	/* bytes */
/* Receive bounds of the sockets: a request and REQ/REP's own header
 * (nanomsg drops the connection of a larger one); a reply. */
#define CTL_MAX_WIRE	(CTL_MAX_REQUEST + 64)	/* bytes */
#define CTL_MAX_REPLY	(64 * 1024 * 1024)	/* bytes */
#define CTL_MAX_ARGS	16

/* Fills `reply`.  argv[0] is the command. */
typedef void (*ctl_handler)(void *, int, char **, struct buf *);

struct ctl {
	int		 sock;
	ctl_handler	 fn;
	void		*arg;
	unsigned long long requests;
	unsigned long long bad_requests;
};

/* Binds `endpoint` (refused: a tcp:// one that is not loopback).
 * NULL with err on failure. */
struct ctl *ctl_new(const char *, ctl_handler, void *, char *, size_t);
void	ctl_free(struct ctl *);
int	ctl_fd(const struct ctl *);
/* Connections nanomsg dropped: a request over CTL_MAX_WIRE, or broken. */
unsigned long long ctl_refused(const struct ctl *);
/* Answers every pending request without blocking. */
void	ctl_poll(struct ctl *);

/* Client: sends `cmd` and waits up to timeout_ms for the reply.
 * Returns 0 or -1 with a reason in reply. */
int	ctl_request(const char *, const char *, struct buf *, int);
/*
 * Client: sends `cmd` to n endpoints at once and waits for their replies,
 * all within timeout_ms in total, so a peer that does not answer (stopped,
 * busy) costs the others nothing.  replies[k] gets endpoint k's reply, or
 * the reason there is none; rc[k] is 0 or -1.  Returns how many answered.
 */
unsigned ctl_request_all(const char *const *, unsigned, const char *,
	    struct buf *, int *, int);

#endif
