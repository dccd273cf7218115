/*
 * daemon.c — registry_server_start/stop: storage and auth set-up, the
 * libmicrohttpd daemon (thread pool, poll, limits, TLS) and the graceful
 * stop.
 */
#include "registry/server/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
		      struct strata_error **err)
{
	cleanup_free char *host = NULL;
	const char *port;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "invalid address '%s': expected [HOST]:PORT", addr);
		host = xstrndup(addr + 1, (size_t)(end - addr - 1));
		port = end + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (!colon)
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "invalid address '%s': expected HOST:PORT", addr);
		host = xstrndup(addr, (size_t)(colon - addr));
		port = colon + 1;
	}
	uint64_t p;
	if (reg_parse_u64(port, &p) < 0 || p > 65535)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid address '%s': bad port", addr);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(*host ? host : "0.0.0.0", port, &hints, &res);
	if (rc != 0)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid address '%s': %s", addr,
					  gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void free_registry(struct registry *r)
{
	if (!r)
		return;
	reg_auth_free(r->auth);
	reg_meta_free(r->meta);
	reg_blobstore_free(r->bs);
	pthread_mutex_destroy(&r->lock);
	free(r->root);
	free(r->tls_cert_pem);
	free(r->tls_key_pem);
	free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	cleanup_free char *s = xvasprintf(fmt, ap);
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
	/* a request the client got wrong was answered 4xx and is the client's
	 * problem (typically a TLS hello sent to this plain-http port: clients
	 * probe https first); the server's own failures stay warnings */
	if (strstr(s, "Error processing request (HTTP response code is 4"))
		LOG_INFO("http: %s", s);
	else
		LOG_WARN("http: %s", s);
}

/* what (consumed) with OpenSSL's reason, when it has one. @return -1 */
static int tls_error(struct strata_error **err, char *what)
{
	char why[256];
	unsigned long e = ERR_peek_last_error();
	ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	int r = e ? strata_error_makec(err, STRATA_E_INVALID, 0, "%s: %s", what, why)
		  : strata_error_makec(err, STRATA_E_INVALID, 0, "%s", what);
	free(what);
	return r;
}

/* an encrypted key is refused, not prompted for on the terminal */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Check the certificate and key before libmicrohttpd sees them: its failure
 * comes back as a NULL daemon with a stale errno ("listen on ...: No such
 * file or directory").
 */
static int tls_check(const char *cert_path, const char *cert_pem, const char *key_path,
		     const char *key_pem, struct strata_error **err)
{
	int r = -1;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	if (!cb || !kb)
		strata_oom();
	if (!(x = PEM_read_bio_X509(cb, NULL, no_password, NULL)))
		tls_error(err, xasprintf("--tls-cert '%s': no PEM certificate", cert_path));
	else if (!(k = PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL)))
		tls_error(err, xasprintf("--tls-key '%s': no PEM private key", key_path));
	else if (X509_check_private_key(x, k) != 1)
		tls_error(err, xasprintf("--tls-cert '%s' and --tls-key '%s' do not match", cert_path,
					 key_path));
	else
		r = 0;
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return r;
}

int registry_server_start(const struct registry_server_config *cfg, struct registry_server **out,
			  struct strata_error **err)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	r->cfg = *cfg;
	pthread_mutex_init(&r->lock, NULL);
	r->root = xstrdup(cfg->root);
	if (!r->cfg.threads) {
		/*
		 * Over S3 every blob or manifest read blocks its worker on the
		 * network (a manifest GET is one S3 request): on 2 CPUs, 2
		 * workers served 490 manifest GET/s over loopback RGW, 32 served
		 * 671 (bench/RESULTS.md, run-s3-pg); a remote endpoint's
		 * latency widens that.
		 */
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		long min = r->cfg.storage ? 32 : 2;
		r->cfg.threads = n < min ? (unsigned)min : (unsigned)n;
	}
	if (!r->cfg.max_connections)
		r->cfg.max_connections = 512;
	if (!r->cfg.timeout)
		r->cfg.timeout = 60;
	if (!r->cfg.max_uploads)
		r->cfg.max_uploads = 128;

	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	if (cfg->storage_redirect && !cfg->storage) {
		strata_error_makec(err, STRATA_E_USAGE, 0, "--storage-redirect needs --storage s3://...");
		goto fail;
	}
	if (reg_storage_open(r->root, cfg->storage, cfg->metadata, true, &r->bs, &r->meta, err) < 0)
		goto fail;
	if (!cfg->read_only) {
		struct strata_error *e = NULL;
		if (reg_gc_recover(r->bs, r->meta, &e) < 0) {
			char *s = strata_error_string(e);
			LOG_WARN("restore blobs from an interrupted gc: %s", s);
			free(s);
			strata_error_free(e);
		}
	}
	if ((cfg->htpasswd || cfg->auth_config) &&
	    reg_auth_load(cfg->htpasswd, cfg->auth_config, &r->auth, err) < 0)
		goto fail;
	if (parse_addr(cfg->addr ? cfg->addr : "127.0.0.1:5000", &ss, &sslen, err) < 0)
		goto fail;

	/*
	 * poll, not epoll: libmicrohttpd 0.9.75's edge-triggered epoll loop
	 * misses a FIN that arrives with the last bytes of a cut request body,
	 * leaving the request (and its upload session) hanging until the
	 * connection timeout. Measured: same requests/s on loopback.
	 */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert || cfg->tls_key) {
		if (!cfg->tls_cert || !cfg->tls_key) {
			strata_error_makec(err, STRATA_E_USAGE, 0, "--tls-cert and --tls-key go together");
			goto fail;
		}
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			strata_error_make(err, 0, "libmicrohttpd was built without TLS support");
			goto fail;
		}
		struct strata_buf c = STRATA_BUF_INIT, k = STRATA_BUF_INIT;
		if (strata_read_file(cfg->tls_cert, &c, 1 << 20, err) < 0 ||
		    strata_read_file(cfg->tls_key, &k, 1 << 20, err) < 0) {
			strata_buf_release(&c);
			strata_buf_release(&k);
			goto fail;
		}
		r->tls_cert_pem = strata_buf_detach(&c, NULL);
		r->tls_key_pem = strata_buf_detach(&k, NULL);
		if (tls_check(cfg->tls_cert, r->tls_cert_pem, cfg->tls_key, r->tls_key_pem, err) < 0)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)r->cfg.threads, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)r->cfg.max_connections, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)r->cfg.timeout, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)reg_completed, r },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
		{ r->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, r->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, r->tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* the port only names the address in libmicrohttpd's messages (it said
	 * "Failed to bind to port 0"); the socket address decides */
	uint16_t port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	r->daemon = MHD_start_daemon(flags, port, NULL, NULL, reg_handler, r, MHD_OPTION_EXTERNAL_LOGGER,
				     mhd_log, NULL, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!r->daemon) {
		strata_error_make(err, errno, "listen on '%s'", cfg->addr ? cfg->addr : "127.0.0.1:5000");
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info ? info->port : 0;
	*out = (struct registry_server *)r;
	return 0;
fail:
	free_registry(r);
	return -1;
}

unsigned registry_server_port(const struct registry_server *s)
{
	return ((const struct registry *)s)->port;
}

void registry_server_stop(struct registry_server *s, unsigned grace_ms)
{
	struct registry *r = (struct registry *)s;
	if (!r)
		return;
	MHD_socket ls = MHD_quiesce_daemon(r->daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	/* wait for requests in flight; idle keep-alive connections are just closed */
	for (unsigned waited = 0; waited < grace_ms; waited += 20) {
		pthread_mutex_lock(&r->lock);
		unsigned n = r->inflight;
		pthread_mutex_unlock(&r->lock);
		if (n == 0)
			break;
		usleep(20 * 1000);
	}
	MHD_stop_daemon(r->daemon);
	free_registry(r);
}
