/*
 * evflow-ctlq: sends one control request to a daemon's control socket
 * (common/ctl.h) and prints the reply, for tests and scripts.
 *
 *   evflow-ctlq [-t MS] [-g KEY.PATH] ENDPOINT COMMAND [ARG...]
 *
 *   evflow-ctlq -u N [-q MS] [-t MS] -g KEY.PATH ENDPOINT COMMAND...
 *
 * ENDPOINT is ipc://..., tcp://..., or a path (taken as ipc://PATH).
 * With -g the reply is parsed as JSON and only the value at the dotted
 * path is printed (numbers as integers when they are).  Exit status: 0,
 * 1 for a refusal ("error: ..."), a missing key or no reply.
 *
 * With -u the request is repeated every 10 ms until the value at -g is
 * at least N (exit 0, the value printed), or has not changed for -q
 * milliseconds (default 1000: exit 3, the value printed): one process
 * polling instead of a shell loop forking one per poll, whose shell
 * alone took ~8 % of a core (perf stat), and its children more, from
 * the pipeline tests/bench/e2e.sh measures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/ctl.h"

static void
usage(void)
{
	fprintf(stderr, "usage: evflow-ctlq [-t MS] [-g KEY.PATH] ENDPOINT "
	    "COMMAND [ARG...]\n"
	    "       evflow-ctlq -u N [-q MS] [-t MS] -g KEY.PATH ENDPOINT "
	    "COMMAND [ARG...]\n");
	exit(2);
}

/* The value at the dotted path of parsed JSON, or NULL. */
static cJSON *
find_path(cJSON *root, const char *dotted)
{
	char path[256], *tok, *save = NULL;
	cJSON *v = root;

	snprintf(path, sizeof(path), "%s", dotted);
	for (tok = strtok_r(path, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, tok);
	return v;
}

/* Prints the value at the dotted path of the JSON text; 0 or -1. */
static int
print_path(const char *text, const char *dotted)
{
	cJSON *root, *v;
	char *s;

	if ((root = cJSON_Parse(text)) == NULL) {
		fprintf(stderr, "evflow-ctlq: reply is not JSON\n");
		return -1;
	}
	if ((v = find_path(root, dotted)) == NULL) {
		cJSON_Delete(root);
		return -1;
	}
	if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
	    fabs(v->valuedouble) < 9.2e18)
		printf("%lld\n", (long long)v->valuedouble);
	else if (cJSON_IsString(v))
		printf("%s\n", v->valuestring);
	else if ((s = cJSON_PrintUnformatted(v)) != NULL) {
		printf("%s\n", s);
		free(s);
	}
	cJSON_Delete(root);
	return 0;
}

/* The number at the dotted path of the JSON text, or NAN. */
static double
number_at(const char *text, const char *dotted)
{
	cJSON *root, *v;
	double n = NAN;

	if ((root = cJSON_Parse(text)) == NULL)
		return NAN;
	if ((v = find_path(root, dotted)) != NULL && cJSON_IsNumber(v))
		n = v->valuedouble;
	cJSON_Delete(root);
	return n;
}

/* -u: polls until the value reaches `until` or stays still for
 * `quiet` ms.  Exit status as main()'s, 3 when still. */
static int
poll_until(const char *ep, const char *cmd, const char *path, int timeout,
    double until, int quiet)
{
	struct buf reply;
	struct timespec now, since, pause = { 0, 10 * 1000 * 1000 };
	double v, last = NAN;
	int rc = 1;

	buf_init(&reply);
	clock_gettime(CLOCK_MONOTONIC, &since);
	for (;;) {
		buf_reset(&reply);
		if (ctl_request(ep, cmd, &reply, timeout) == -1) {
			fprintf(stderr, "evflow-ctlq: request failed\n");
			break;
		}
		buf_add(&reply, "", 1);
		if (isnan(v = number_at(reply.p, path))) {
			fprintf(stderr, "evflow-ctlq: no number at %s\n", path);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (v >= until) {
			rc = 0;
			break;
		}
		if (v != last) {
			last = v;
			since = now;
		} else if ((now.tv_sec - since.tv_sec) * 1000 +
		    (now.tv_nsec - since.tv_nsec) / 1000000 >= quiet) {
			rc = 3;
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (rc != 1)
		printf("%.0f\n", v);
	buf_free(&reply);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct buf cmd, reply;
	char ep[512], *path = NULL;
	double until = NAN;
	int c, timeout = 2000, quiet = 1000, i, rc = 0;

	while ((c = getopt(argc, argv, "t:g:u:q:h")) != -1) {
		switch (c) {
		case 't': timeout = atoi(optarg); break;
		case 'g': path = optarg; break;
		case 'u': until = strtod(optarg, NULL); break;
		case 'q': quiet = atoi(optarg); break;
		default: usage();
		}
	}
	if (argc - optind < 2 || (!isnan(until) && path == NULL))
		usage();
	snprintf(ep, sizeof(ep), "%s%s", strstr(argv[optind], "://") ?
	    "" : "ipc://", argv[optind]);
	buf_init(&cmd);
	buf_init(&reply);
	for (i = optind + 1; i < argc; i++) {
		if (i > optind + 1)
			buf_puts(&cmd, " ");
		buf_puts(&cmd, argv[i]);
	}
	if (buf_ok(&cmd) && !isnan(until)) {
		rc = poll_until(ep, cmd.p, path, timeout, until, quiet);
		buf_free(&cmd);
		return rc;
	}
	if (!buf_ok(&cmd) || ctl_request(ep, cmd.p, &reply, timeout) == -1) {
		fprintf(stderr, "evflow-ctlq: %s\n", reply.len ? reply.p :
		    "request failed");
		rc = 1;
	} else {
		buf_add(&reply, "", 1);	/* NUL-terminate */
		if (strncmp(reply.p, "error: ", 7) == 0) {
			fprintf(stderr, "%s\n", reply.p);
			rc = 1;
		} else if (path != NULL)
			rc = print_path(reply.p, path) == 0 ? 0 : 1;
		else
			printf("%s\n", reply.p);
	}
	buf_free(&cmd);
	buf_free(&reply);
	return rc;
}
