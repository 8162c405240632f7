/*
 * Where daemons meet: everything lives under one data directory so two
 * instances can run side by side.  An explicit endpoint or path from the
 * configuration wins; an empty one is derived from the data directory.
 *
 *   router input   ipc://<datadir>/router.ipc
 *   store input    ipc://<datadir>/store.ipc
 *   control        ipc://<datadir>/<daemon>.ctl
 *   database       <datadir>/evflow.db
 */
#ifndef EVFLOW_PATHS_H
#define EVFLOW_PATHS_H

#include <stddef.h>

#define PATHS_DEFAULT_DATADIR	"/var/lib/evflow"

/* Writes `configured` if set, else "ipc://<datadir>/<file>".
 * Returns 0, or -1 if it does not fit. */
int	paths_endpoint(char *, size_t, const char *, const char *,
	    const char *);
/* Writes `configured` if set, else "<datadir>/<file>".  0 or -1. */
int	paths_file(char *, size_t, const char *, const char *, const char *);
/* Creates the data directory (mode 0750) if missing.  0 or -1 (errno). */
int	paths_make_datadir(const char *);

#endif
