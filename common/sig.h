/*
 * Signal flags for a daemon's loop.  Handlers only set these; the loop
 * acts on them.  SIGPIPE is ignored.
 */
#ifndef EVFLOW_SIG_H
#define EVFLOW_SIG_H

#include <signal.h>

extern volatile sig_atomic_t sig_quit;	/* SIGTERM, SIGINT */
extern volatile sig_atomic_t sig_hup;	/* SIGHUP: reopen, reload */

/* Installs the handlers; returns 0 or -1 (errno). */
int	sig_setup(void);

#endif
