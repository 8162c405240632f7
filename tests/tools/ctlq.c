/*
 * evflow-ctlq: sends one control request to a daemon's control socket
 * (common/ctl.h) and prints the reply, for tests and scripts.
 *
 *   evflow-ctlq [-t MS] [-g KEY.PATH] ENDPOINT COMMAND [ARG...]
 *
 * ENDPOINT is ipc://..., tcp://..., or a path (taken as ipc://PATH).
 * With -g the reply is parsed as JSON and only the value at the dotted
 * path is printed (numbers as integers when they are).  Exit status: 0,
 * 1 for a refusal ("error: ..."), a missing key or no reply.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/ctl.h"

static void
usage(void)
{
	fprintf(stderr, "usage: evflow-ctlq [-t MS] [-g KEY.PATH] ENDPOINT "
	    "COMMAND [ARG...]\n");
	exit(2);
}

/* Prints the value at the dotted path of the JSON text; 0 or -1. */
static int
print_path(const char *text, char *path)
{
	cJSON *root, *v;
	char *tok, *save = NULL, *s;

	if ((root = cJSON_Parse(text)) == NULL) {
		fprintf(stderr, "evflow-ctlq: reply is not JSON\n");
		return -1;
	}
	v = root;
	for (tok = strtok_r(path, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, tok);
	if (v == NULL) {
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

int
main(int argc, char *argv[])
{
	struct buf cmd, reply;
	char ep[512], *path = NULL;
	int c, timeout = 2000, i, rc = 0;

	while ((c = getopt(argc, argv, "t:g:h")) != -1) {
		switch (c) {
		case 't': timeout = atoi(optarg); break;
		case 'g': path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind < 2)
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
