/* SPDX-License-Identifier: MIT */
/*
 * respond.c: responses made by the proxy itself (policy denials, errors,
 * /health), written into the exchange's response-head buffer with the
 * request id and trace headers every response carries. Does not send
 * anything: conn.c writes the buffer.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sockguard/log.h"
#include "sockguard/runtime.h"

static const struct {
	int code;
	const char *text;
} respond_texts[] = {
	{100, "Continue"}, {200, "OK"}, {400, "Bad Request"},
	{403, "Forbidden"}, {404, "Not Found"}, {408, "Request Timeout"},
	{413, "Content Too Large"}, {414, "URI Too Long"},
	{417, "Expectation Failed"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"}, {501, "Not Implemented"},
	{502, "Bad Gateway"}, {503, "Service Unavailable"},
	{504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
};

const char *
sg_status_text(int status)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(respond_texts); i++)
		if (respond_texts[i].code == status)
			return respond_texts[i].text;
	return "Unknown";
}

static bool
respond_is_head(const struct sg_xfer *x)
{
	return x->req.method.len == 4 &&
	    memcmp(x->in + x->req.method.off, "HEAD", 4) == 0;
}

void
sg_respond_json(struct sg_conn *c, int status, const char *body, size_t blen,
    bool close)
{
	struct sg_xfer *x = c->x;
	size_t o = x->h_len, cap = sizeof(x->hb), n = 0;
	const char *text = sg_status_text(status);
	char num[24], len[24];
	size_t bl = blen;
	bool ok;

	/*
	 * A body the answer leaves unread is skipped to keep the connection
	 * in sync; a client that waits for 100-continue may never send it,
	 * and its next request would be taken for that body: close instead.
	 * Draining for a shutdown closes too, and says so.
	 */
	if ((x->req.expect_continue && !x->req_done) || c->srv->draining)
		close = true;
	if (x->trace_id[0] == '\0')
		sg_trace_begin(x, NULL, 0);
	num[0] = (char)('0' + status / 100 % 10);
	num[1] = (char)('0' + status / 10 % 10);
	num[2] = (char)('0' + status % 10);
	num[3] = ' ';
	do {
		len[sizeof(len) - 1 - n++] = (char)('0' + bl % 10);
		bl /= 10;
	} while (bl != 0);
	/* built by hand: this is the deny path, which must stay cheap */
	ok = SG_PUT_LIT(x->hb, &o, cap, "HTTP/1.1 ") &&
	    sg_put(x->hb, &o, cap, num, 4) &&
	    sg_put(x->hb, &o, cap, text, strlen(text)) &&
	    SG_PUT_LIT(x->hb, &o, cap, "\r\nContent-Type: application/json"
	    "\r\nX-Content-Type-Options: nosniff\r\n") &&
	    sg_trace_headers(x->hb, &o, cap, x) &&
	    SG_PUT_LIT(x->hb, &o, cap, "Content-Length: ") &&
	    sg_put(x->hb, &o, cap, len + sizeof(len) - n, n) &&
	    SG_PUT_LIT(x->hb, &o, cap, "\r\n") &&
	    (!close || SG_PUT_LIT(x->hb, &o, cap, "Connection: close\r\n")) &&
	    SG_PUT_LIT(x->hb, &o, cap, "\r\n");
	if (!ok) {
		/* cannot happen with the fixed fields; never send half a head */
		o = x->h_len;
		close = true;
	}
	if (!respond_is_head(x)) {
		if (blen > cap - o)
			blen = cap - o;
		memcpy(x->hb + o, body, blen);
		o += blen;
	}
	x->h_len = (uint32_t)o;
	x->resp_bytes = respond_is_head(x) ? 0 : blen;
	x->status = status;
	x->local = true;
	if (close)
		x->close_after = true;
	c->st = SG_CS_LOCAL;
}

void
sg_respond_error(struct sg_conn *c, int status, const char *message,
    bool close)
{
	char body[1024], esc[768];

	if (c->x->reqid[0] == '\0')
		sg_reqid_new(c->x->reqid);
	sg_log_escape(esc, sizeof(esc), message, strlen(message), false);
	snprintf(body, sizeof(body), "{\"message\":\"%s\"}\n", esc);
	if (c->x->reason_code == NULL || c->x->reason_code[0] == '\0')
		c->x->reason_code = status == 502 ?
		    "upstream_socket_unreachable" : "bad_request";
	if (c->x->reason == NULL || c->x->reason[0] == '\0')
		c->x->reason = message;
	sg_respond_json(c, status, body, strlen(body), close);
}

void
sg_respond_deny(struct sg_conn *c, const char *method, size_t mlen)
{
	struct sg_xfer *x = c->x;
	const struct sg_ir *ir = x->conf->ir;
	static const char minimal[] =
	    "{\"message\":\"request denied by sockguard policy\"}\n";
	char body[4096];

	/* the body a denied request announced is skipped (sg_respond_json
	 * closes instead when the client waits for 100-continue) */
	if (ir->deny_verbosity == SG_DENY_VERBOSE) {
		char m[64], p[2048], r[1024];
		const char *np = x->np + x->np_off;
		const char *path = x->in + x->dpath_off;
		size_t plen = x->dpath_len;
		char red[256];

		sg_log_escape(m, sizeof(m), method, mlen, false);
		/* never echo secret ids */
		if (x->np_len >= 9 && memcmp(np, "/secrets/", 9) == 0) {
			snprintf(red, sizeof(red), "%.*s/secrets/<redacted>",
			    (int)x->np_off, x->np);
			path = red;
			plen = strlen(red);
		} else if (x->np_len == 16 &&
		    memcmp(np, "/swarm/unlockkey", 16) == 0) {
			snprintf(red, sizeof(red), "%.*s/swarm/<redacted>",
			    (int)x->np_off, x->np);
			path = red;
			plen = strlen(red);
		}
		sg_log_escape(p, sizeof(p), path, plen, false);
		sg_log_escape(r, sizeof(r), x->reason, strlen(x->reason),
		    false);
		snprintf(body, sizeof(body),
		    "{\"message\":\"request denied by sockguard policy\","
		    "\"method\":\"%s\",\"path\":\"%s\"%s%s%s}\n", m, p,
		    r[0] ? ",\"reason\":\"" : "", r, r[0] ? "\"" : "");
		sg_respond_json(c, 403, body, strlen(body), false);
		return;
	}
	sg_respond_json(c, 403, minimal, sizeof(minimal) - 1, false);
}

void
sg_respond_health(struct sg_conn *c)
{
	struct sg_server *srv = c->srv;
	char body[4096];
	const char *prev;
	size_t o = 0, i;
	bool up = sg_upstream_check(srv), lst_ok = true;
	long long uptime = (long long)((sg_ev_now(srv->ev) - srv->started_ns) /
	    SG_NS_PER_SEC);

	for (i = 0; i < srv->nlst; i++)
		if (srv->lst[i].state != SG_LST_SERVING &&
		    srv->lst[i].state != SG_LST_DRAINING)
			lst_ok = false;
	o += (size_t)snprintf(body + o, sizeof(body) - o,
	    "{\"status\":\"%s\",\"upstream\":\"%s\",",
	    up && lst_ok ? "healthy" : "unhealthy",
	    up ? "connected" : "unreachable");
	if (!up)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "\"error\":\"upstream unreachable\",");
	else if (!lst_ok)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "\"error\":\"listener not serving\",");
	o += (size_t)snprintf(body + o, sizeof(body) - o,
	    "\"version\":\"%s\",\"uptime_seconds\":%lld,"
	    "\"generation\":%llu,\"loaded_at\":%lld,"
	    "\"config_sha256\":\"%s\",\"reloads\":{\"applied\":%llu,"
	    "\"unchanged\":%llu,\"rejected_invalid\":%llu,"
	    "\"rejected_immutable\":%llu,\"rejected_unreadable\":%llu},"
	    "\"listeners\":[", sg_version, uptime,
	    (unsigned long long)srv->conf->generation,
	    (long long)srv->conf->loaded_at, srv->conf->sha256,
	    (unsigned long long)srv->reloads[0],
	    (unsigned long long)srv->reloads[1],
	    (unsigned long long)srv->reloads[2],
	    (unsigned long long)srv->reloads[3],
	    (unsigned long long)srv->reloads[4]);
	/* sorted by name (SPEC 2.10.1): each round takes the next name up;
	 * names are unique, and there are a few listeners at most */
	for (i = 0, prev = NULL; i < srv->nlst && o < sizeof(body) - 256;
	    i++) {
		const struct sg_listener *l = NULL;
		char name[128];
		size_t j;

		for (j = 0; j < srv->nlst; j++) {
			const char *nm = srv->lst[j].ir->name;

			if ((prev == NULL || strcmp(nm, prev) > 0) &&
			    (l == NULL || strcmp(nm, l->ir->name) < 0))
				l = &srv->lst[j];
		}
		if (l == NULL)
			break;
		prev = l->ir->name;
		sg_log_escape(name, sizeof(name), l->ir->name,
		    strlen(l->ir->name), false);
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "%s{\"name\":\"%s\",\"role\":\"main\",\"network\":\"%s\","
		    "\"state\":\"%s\"}", i ? "," : "", name,
		    l->is_unix ? "unix" : "tcp",
		    sg_listen_state_name(l->state));
	}
	o += (size_t)snprintf(body + o, sizeof(body) - o, "],\"upstreams\":[");
	for (i = 0; i < srv->nep && o < sizeof(body) - 512; i++) {
		char lab[300];
		const char *h = srv->ep[i].health == SG_EP_HEALTHY ? "healthy" :
		    srv->ep[i].health == SG_EP_UNHEALTHY ? "unhealthy" :
		    "unknown";

		sg_log_escape(lab, sizeof(lab), srv->ep[i].label,
		    strlen(srv->ep[i].label), false);
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "%s{\"address\":\"%s\",\"health\":\"%s\",\"active\":%s}",
		    i ? "," : "", lab, h,
		    i == srv->active_ep ? "true" : "false");
	}
	o += (size_t)snprintf(body + o, sizeof(body) - o, "]}\n");
	if (!up)
		sg_errx("health check failed: upstream unreachable");
	c->x->decision = "";
	sg_respond_json(c, up && lst_ok ? 200 : 503, body, o, false);
}
