/*
 * Dropping privileges once what needs them is open, in two steps so
 * that no thread keeps any (capset(2), PR_CAPBSET_DROP and
 * PR_SET_NO_NEW_PRIVS change only the calling thread; threads made
 * later inherit them; nanomsg starts its workers with the first socket).
 *
 * privdrop_begin(), before any other thread exists (after the
 * privileged open): PR_SET_NO_NEW_PRIVS (no execve gains anything); as
 * root, the bounding set emptied (root keeps its effective set until
 * privdrop_finish); not as root (a systemd unit's AmbientCapabilities),
 * the ambient set cleared and the permitted, effective and inheritable
 * sets emptied: nothing is left to do later.
 *
 * privdrop_finish(), when the data directory and sockets are open: as
 * root, setgroups/setgid/setuid to `user` and its primary group (glibc
 * applies the ids to every thread; leaving uid 0 clears each thread's
 * permitted, effective and ambient sets).  Then the proof, for every
 * thread in /proc/self/task: CapPrm, CapEff, CapInh and CapAmb 0,
 * NoNewPrivs 1, CapBnd 0 if it was root; and setuid(0) and setgid(0)
 * fail.
 *
 * `user` NULL or "" means the default: "evflow" if that user exists,
 * else "nobody".  It is ignored when not started as root.  Both return
 * 0, or -1 with the reason in err (the caller exits: a half-done drop
 * is not a state to run in).  *who gets the user in effect.
 */
#ifndef EVFLOW_PRIVDROP_H
#define EVFLOW_PRIVDROP_H

#include <stddef.h>

#define PRIVDROP_DEFAULT_USER	"evflow"
#define PRIVDROP_FALLBACK_USER	"nobody"

int	privdrop_begin(char *, size_t);
int	privdrop_finish(const char *, const char **, char *, size_t);

#endif
