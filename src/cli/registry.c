/*
 * registry.c — `strata registry serve|gc`: the built-in OCI registry.
 */
#include "cli/cli.h"
#include "registry/server/server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] =
	"Usage: strata registry serve [OPTIONS]\n"
	"\n"
	"Serve an OCI distribution registry (spec v1.1) that stores every blob once.\n"
	"\n"
	"Options:\n"
	"      --root DIR             storage (default: <strata root>/registry)\n"
	"      --addr HOST:PORT       listen address (default 127.0.0.1:5000)\n"
	"      --htpasswd FILE        require Basic auth against a bcrypt htpasswd file\n"
	"      --auth-config FILE     per-repository permissions (USER pull|push|pull,push GLOB)\n"
	"      --tls-cert FILE        serve HTTPS with this PEM certificate ...\n"
	"      --tls-key FILE         ... and this PEM key\n"
	"      --read-only            refuse pushes and deletes\n"
	"      --log-format FORMAT    access log: text (default), json or none\n"
	"      --threads N            worker threads (default: CPUs, at least 2)\n"
	"      --max-connections N    concurrent connections (default 512)\n"
	"      --max-uploads N        concurrent uploads before 429 (default 128)\n"
	"      --timeout SECONDS      idle connection timeout (default 60)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"SIGTERM or SIGINT stop the server gracefully: no new connections, requests\n"
	"in flight get up to 10 seconds to finish.\n";

static const char gc_usage[] =
	"Usage: strata registry gc [OPTIONS]\n"
	"\n"
	"Remove untagged manifests and the blobs nothing references. Safe while the\n"
	"registry serves pushes: anything younger than the grace period is kept.\n"
	"\n"
	"Options:\n"
	"      --root DIR             storage (default: <strata root>/registry)\n"
	"  -n, --dry-run              list what would be removed, remove nothing\n"
	"      --grace SECONDS        keep anything younger than this (default 3600)\n"
	"      --upload-ttl SECONDS   remove upload sessions idle longer (default 86400)\n"
	"  -h, --help                 show this help\n";

static const char group_usage[] =
	"Usage: strata registry COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  serve    serve an OCI registry\n"
	"  gc       garbage-collect a registry's storage\n";

static char *default_root(void)
{
	char *store = cli_store_root();
	char *r = xasprintf("%s/registry", store);
	free(store);
	return r;
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	enum { O_ROOT = 256, O_ADDR, O_HTPASSWD, O_AUTH, O_CERT, O_KEY, O_RO, O_LOG, O_THREADS,
	       O_MAXCONN, O_MAXUP, O_TIMEOUT };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "htpasswd", required_argument, NULL, O_HTPASSWD },
		{ "auth-config", required_argument, NULL, O_AUTH },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "read-only", no_argument, NULL, O_RO },
		{ "log-format", required_argument, NULL, O_LOG },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "max-uploads", required_argument, NULL, O_MAXUP },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct registry_server_config cfg = { .addr = "127.0.0.1:5000", .log_fd = 2 };
	cleanup_free char *root = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(serve_usage, stdout);
			return EXIT_OK;
		case O_ROOT:
			free(root);
			root = xstrdup(optarg);
			break;
		case O_ADDR:
			cfg.addr = optarg;
			break;
		case O_HTPASSWD:
			cfg.htpasswd = optarg;
			break;
		case O_AUTH:
			cfg.auth_config = optarg;
			break;
		case O_CERT:
			cfg.tls_cert = optarg;
			break;
		case O_KEY:
			cfg.tls_key = optarg;
			break;
		case O_RO:
			cfg.read_only = true;
			break;
		case O_LOG:
			if (!strcmp(optarg, "text"))
				cfg.log_format = REGISTRY_LOG_TEXT;
			else if (!strcmp(optarg, "json"))
				cfg.log_format = REGISTRY_LOG_JSON;
			else if (!strcmp(optarg, "none"))
				cfg.log_format = REGISTRY_LOG_NONE;
			else
				return cli_usage_error("registry serve", "--log-format must be text, json or none");
			break;
		case O_THREADS:
		case O_MAXCONN:
		case O_MAXUP:
		case O_TIMEOUT: {
			unsigned v;
			if (parse_uint(optarg, &v) < 0 || v == 0)
				return cli_usage_error("registry serve", "'%s' needs a positive number",
						       argv[optind - 1]);
			if (c == O_THREADS)
				cfg.threads = v;
			else if (c == O_MAXCONN)
				cfg.max_connections = v;
			else if (c == O_MAXUP)
				cfg.max_uploads = v;
			else
				cfg.timeout = v;
			break;
		}
		default:
			return cli_option_error("registry serve", argv, "+h", opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("registry serve", "unexpected argument '%s'", argv[optind]);
	if (!cfg.tls_cert != !cfg.tls_key)
		return cli_usage_error("registry serve", "--tls-cert and --tls-key go together");
	if (cfg.auth_config && !cfg.htpasswd)
		return cli_usage_error("registry serve", "--auth-config needs --htpasswd");
	if (!root)
		root = default_root();
	cfg.root = root;

	/* every thread inherits the blocked signals; only sigwait below sees them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct strata_error *err = NULL;
	struct registry_server *srv = NULL;
	if (registry_server_start(&cfg, &srv, &err) < 0)
		return cli_fail(err);
	const char *colon = strrchr(cfg.addr, ':');
	fprintf(stderr, "strata registry: serving %s on %s://%.*s:%u\n", root,
		cfg.tls_cert ? "https" : "http", (int)(colon - cfg.addr), cfg.addr,
		registry_server_port(srv));
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "strata registry: %s, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	registry_server_stop(srv, 10000);
	return EXIT_OK;
}

struct gc_print {
	bool dry_run;
};

static void gc_report(void *ud, const char *kind, const char *repo, const char *what, int64_t size)
{
	struct gc_print *p = ud;
	printf("%s %s %s%s%s", p->dry_run ? "would remove" : "removed", kind, repo ? repo : "",
	       repo ? "@" : "", what);
	if (size >= 0)
		printf(" (%lld bytes)", (long long)size);
	printf("\n");
}

static int cmd_gc(int argc, char **argv)
{
	enum { O_ROOT = 256, O_GRACE, O_TTL };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "upload-ttl", required_argument, NULL, O_TTL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct registry_gc_options o = { .grace_seconds = 3600, .upload_ttl = 86400 };
	cleanup_free char *root = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hn", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(gc_usage, stdout);
			return EXIT_OK;
		case 'n':
			o.dry_run = true;
			break;
		case O_ROOT:
			free(root);
			root = xstrdup(optarg);
			break;
		case O_GRACE:
		case O_TTL: {
			char *end = NULL;
			long long v = strtoll(optarg, &end, 10);
			if (!*optarg || *end || v < 0)
				return cli_usage_error("registry gc", "'%s' needs a number of seconds",
						       argv[optind - 1]);
			if (c == O_GRACE)
				o.grace_seconds = v;
			else
				o.upload_ttl = v;
			break;
		}
		default:
			return cli_option_error("registry gc", argv, "+hn", opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("registry gc", "unexpected argument '%s'", argv[optind]);
	if (!root)
		root = default_root();
	o.root = root;
	struct gc_print p = { o.dry_run };
	struct registry_gc_stats st;
	struct strata_error *err = NULL;
	if (registry_gc(&o, gc_report, &p, &st, &err) < 0)
		return cli_fail(err);
	printf("%s %llu manifests, %llu links, %llu blobs (%llu bytes), %llu uploads\n",
	       o.dry_run ? "would remove" : "removed", (unsigned long long)st.manifests,
	       (unsigned long long)st.links, (unsigned long long)st.blobs, (unsigned long long)st.bytes,
	       (unsigned long long)st.uploads);
	return EXIT_OK;
}

static int cmd_registry(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(group_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gc"))
		return cmd_gc(argc - 1, argv + 1);
	return cli_usage_error("registry", "unknown command '%s' (serve, gc)", argv[1]);
}
STRATA_COMMAND(registry, "registry", "Serve an OCI registry, or garbage-collect its storage", cmd_registry);
