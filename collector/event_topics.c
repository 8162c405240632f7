/*
 * The topics besides `flow`: `counter` (interface counters, absolute),
 * `listening-ports` (one record per listening socket) and `event` (a
 * producer's own statistics, kept as its health).  See event_json.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "collector.h"
#include "event_json.h"

/* ---- counter topic ---- */

/*
 * ifAdminStatus / ifOperStatus: the IF-MIB number, or its name as some
 * producers send it ("Up", "down", "lowerLayerDown"; any case).
 */
static void
set_if_status(struct ej *ej, uint32_t *dst, const cJSON *v)
{
	static const char *const names[] = { "up", "down", "testing",
	    "unknown", "dormant", "notPresent", "lowerLayerDown" };
	unsigned i;

	if (!cJSON_IsString(v) || (v->valuestring[0] >= '0' &&
	    v->valuestring[0] <= '9')) {
		ej_set_u32(ej, dst, v);
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(v->valuestring, names[i]) == 0) {
			*dst = i + 1;
			return;
		}
	ej->ctr[C_FIELDS_WRONG_TYPE]++;
}

int
ej_counter(struct ej *ej, const cJSON *o)
{
	struct evp_ifcounter *ic = &ej->ifc;
	const cJSON *c;
	uint64_t ts = 0;
	int have_if = 0;

	memset(ic, 0, sizeof(*ic));
	ic->producer = ej->producer;
	for (c = o->child; c != NULL; c = c->next) {
		switch (ej_key(c->string, S_CTR)) {
		case K_TIMESTAMP:
			if (jt_ts(c, &ts) == -1)
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			break;
		case K_DEVICE_IP:
			if (!cJSON_IsString(c) ||
			    evp_addr_parse(c->valuestring, ic->device) < 0) {
				memset(ic->device, 0, sizeof(ic->device));
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			}
			break;
		case K_IF_INDEX:
			ej_set_u32(ej, &ic->if_index, c);
			have_if = 1;
			break;
		case K_IFC_NAME:
			ej_set_str(ej, ic->if_name, sizeof(ic->if_name), c, NULL);
			have_if = 1;
			break;
		case K_IF_TYPE: ej_set_u32(ej, &ic->if_type, c); break;
		case K_IF_SPEED: ej_set_u64(ej, &ic->if_speed, c); break;
		case K_IF_DIRECTION: ej_set_u32(ej, &ic->if_direction, c); break;
		case K_IF_ADMIN: set_if_status(ej, &ic->admin_status, c); break;
		case K_IF_OPER: set_if_status(ej, &ic->oper_status, c); break;
		case K_IN_OCTETS: ej_set_u64(ej, &ic->in_octets, c); break;
		case K_IN_PACKETS: ej_set_u64(ej, &ic->in_pkts, c); break;
		case K_IN_ERRORS: ej_set_u64(ej, &ic->in_errors, c); break;
		case K_OUT_OCTETS: ej_set_u64(ej, &ic->out_octets, c); break;
		case K_OUT_PACKETS: ej_set_u64(ej, &ic->out_pkts, c); break;
		case K_OUT_ERRORS: ej_set_u64(ej, &ic->out_errors, c); break;
		case K_PROMISC: ej_set_u32(ej, &ic->promisc, c); break;
		case K_SAMPLES: ej_set_u64(ej, &ic->samples, c); break;
		default:
			break;	/* counters have no `extra` */
		}
	}
	if (!have_if)
		return ej_drop(ej, C_DROP_EV_MISSING_FIELD,
		    "counter without ifIndex or ifName");
	ic->ts_usec = ts != 0 ? ts : ej->now_usec;
	if (ej_emit(ej, EVP_IFCOUNTER, ic, sizeof(*ic)) == -1)
		return -1;
	ej->ctr[C_RECORDS_IFCOUNTER]++;
	return 0;
}

/* ---- listening-ports topic ---- */

int
ej_listening(struct ej *ej, const cJSON *o)
{
	static const struct {
		const char *name;
		uint8_t ipv, proto;
	} fam[] = {
		{ "tcp4", 4, 6 }, { "udp4", 4, 17 },
		{ "tcp6", 6, 6 }, { "udp6", 6, 17 },
	};
	struct evp_listen *l = &ej->listen;
	const cJSON *lp, *host, *arr, *e, *c;
	uint64_t u;
	unsigned i;
	int bad = 0;

	lp = cJSON_GetObjectItemCaseSensitive(o, "listening-ports");
	if (!cJSON_IsObject(lp))
		return ej_drop(ej, lp == NULL ? C_DROP_EV_MISSING_FIELD :
		    C_DROP_EV_WRONG_TYPE, "no listening-ports object");
	host = cJSON_GetObjectItemCaseSensitive(o, "instance-name");
	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		arr = cJSON_GetObjectItemCaseSensitive(lp, fam[i].name);
		if (arr == NULL)
			continue;
		if (!cJSON_IsArray(arr)) {
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
			continue;
		}
		for (e = arr->child; e != NULL; e = e->next) {
			memset(l, 0, sizeof(*l));
			c = cJSON_GetObjectItemCaseSensitive(e, "port");
			if (!cJSON_IsObject(e) || c == NULL ||
			    jt_uint(c, 65535, &u) == -1) {
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
				continue;
			}
			l->ts_usec = ej->now_usec;
			l->producer = ej->producer;
			l->ip_version = fam[i].ipv;
			l->proto = fam[i].proto;
			l->port = (uint16_t)u;
			/* The socket's address if given, else its family's
			 * wildcard (0.0.0.0 is ::ffff:0.0.0.0, not ::). */
			c = cJSON_GetObjectItemCaseSensitive(e, "addr");
			if (c == NULL)
				c = cJSON_GetObjectItemCaseSensitive(e, "ip");
			if (c == NULL || !cJSON_IsString(c) ||
			    evp_addr_parse(c->valuestring, l->addr) !=
			    fam[i].ipv) {
				if (c != NULL)
					ej->ctr[C_FIELDS_WRONG_TYPE]++;
				(void)evp_addr_parse(fam[i].ipv == 4 ?
				    "0.0.0.0" : "::", l->addr);
			}
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "proc")) != NULL)
				ej_set_str(ej, l->proc, sizeof(l->proc), c, NULL);
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "pkg")) != NULL)
				ej_set_str(ej, l->pkg, sizeof(l->pkg), c, NULL);
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "pid")) != NULL)
				ej_set_u32(ej, &l->pid, c);
			if (host != NULL)
				ej_set_str(ej, l->host, sizeof(l->host), host,
				    NULL);
			if (ej->emit(ej->emit_arg, EVP_LISTEN, l,
			    sizeof(*l)) == -1)
				bad = 1;
			else
				ej->ctr[C_RECORDS_LISTEN]++;
		}
	}
	if (bad)
		return ej_drop(ej, C_DROP_EV_SEND, "output link refused it");
	return 0;
}

/* ---- event topic: the producer's health ---- */

/* Sums numeric members of `v` (a number, or an object of numbers). */
static uint64_t
sum_drops(const cJSON *v)
{
	const cJSON *c;
	uint64_t s = 0, u;

	if (cJSON_IsObject(v)) {
		for (c = v->child; c != NULL; c = c->next)
			if (cJSON_IsNumber(c) && jt_uint(c, UINT64_MAX, &u) == 0)
				s += u;
		return s;
	}
	if (cJSON_IsNumber(v) && jt_uint(v, UINT64_MAX, &u) == 0)
		return u;
	return 0;
}

int
ej_health(struct ej *ej, const cJSON *o)
{
	struct ej_health *h = &ej->health;
	struct jt_writer w = { h->info, sizeof(h->info) - 1, 0, 0, 0 };
	const cJSON *c;
	int cut = 0;

	h->probe_drops = 0;
	for (c = o->child; c != NULL; c = c->next) {
		if (strcasestr(c->string, "drop") != NULL)
			h->probe_drops += sum_drops(c);
		if (jt_member(&w, c) == -1)
			cut = 1;
	}
	jt_close(&w);
	if (w.len == 0)
		memcpy(h->info, "{}", 3);
	if (cut)
		ej->ctr[C_STRINGS_TRUNCATED]++;
	h->seen = 1;
	ej->ctr[C_PRODUCER_EVENTS]++;
	return 0;
}
