/*
 * accesslog.c — one line per request, written with a single write(2) so
 * lines from concurrent workers never interleave:
 *   text: 127.0.0.1 alice "GET /v2/x/manifests/1" 200 in=0 out=1234 1.25ms
 *   json: {"remote":"127.0.0.1","user":"alice","method":"GET","path":...,
 *          "status":200,"bytes_in":0,"bytes_out":1234,"duration_ms":1.25}
 */
#include "registry/server/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void remote_addr(struct reg_req *q, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '-';
	out[1] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)n);
}

void reg_access_log(struct reg_req *q)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - q->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - q->start.tv_nsec) / 1e6;
	char remote[INET6_ADDRSTRLEN + 1];
	remote_addr(q, remote, sizeof(remote));
	cleanup_free char *line = NULL;
	/* the path is decoded client bytes: newlines or quotes would forge lines */
	bool json = q->r->cfg.log_format == REGISTRY_LOG_JSON;
	cleanup_free char *path = reg_escape(q->url, !json);
	cleanup_free char *method = reg_escape(q->method, !json);
	if (json) {
		cleanup_json json_t *j = json_pack(
			"{s:s,s:s?,s:s,s:s,s:i,s:I,s:I,s:f}", "remote", remote, "user", q->user, "method",
			method, "path", path, "status", (int)q->status, "bytes_in",
			(json_int_t)q->bytes_in, "bytes_out", (json_int_t)q->bytes_out, "duration_ms",
			ms);
		if (!j)
			return;
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
		if (!s)
			return;
		line = xasprintf("%s\n", s);
		free(s);
	} else {
		line = xasprintf("%s %s \"%s %s\" %u in=%llu out=%llu %.3fms\n", remote,
				 q->user ? q->user : "-", method, path, q->status,
				 (unsigned long long)q->bytes_in, (unsigned long long)q->bytes_out, ms);
	}
	struct strata_error *err = NULL;
	if (strata_write_full(q->r->cfg.log_fd, line, strlen(line), "access log", &err) < 0)
		strata_error_free(err);
}
