#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "paths.h"

int
paths_endpoint(char *out, size_t len, const char *configured,
    const char *datadir, const char *file)
{
	int n;

	if (configured != NULL && configured[0] != '\0')
		n = snprintf(out, len, "%s", configured);
	else
		n = snprintf(out, len, "ipc://%s/%s", datadir, file);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
paths_file(char *out, size_t len, const char *configured, const char *datadir,
    const char *file)
{
	int n;

	if (configured != NULL && configured[0] != '\0')
		n = snprintf(out, len, "%s", configured);
	else
		n = snprintf(out, len, "%s/%s", datadir, file);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
paths_make_datadir(const char *dir)
{
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return -1;
	return 0;
}
