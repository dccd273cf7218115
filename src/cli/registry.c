/*
 * registry.c — `strata registry serve|gc|migrate|retention`: the built-in OCI registry.
 */
#include "cli/cli.h"
#include "cli/retention_policy.h"
#include "registry/server/server.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char serve_usage[] =
	"Usage: strata registry serve [OPTIONS]\n"
	"\n"
	"Serve an OCI distribution registry (spec v1.1) that stores every blob once.\n"
	"\n"
	"Options:\n"
	"      --root DIR             storage (default: <strata root>/registry)\n"
	"      --storage URL          blobs in an S3 bucket instead of ROOT:\n"
	"                             s3://BUCKET?endpoint=URL&region=R[&prefix=P]\n"
	"                             (path-style; credentials from AWS_ACCESS_KEY_ID,\n"
	"                             AWS_SECRET_ACCESS_KEY [, AWS_SESSION_TOKEN] or the\n"
	"                             profile AWS_PROFILE (default) of ~/.aws/credentials\n"
	"                             or AWS_SHARED_CREDENTIALS_FILE)\n"
	"      --storage-redirect     answer blob GETs with 307 to a presigned S3 URL\n"
	"      --metadata URL         metadata in PostgreSQL (postgres://USER@HOST:PORT/DB)\n"
	"                             instead of SQLite in ROOT/meta.db; instances that\n"
	"                             share it and the storage serve the same registry\n"
	"      --addr HOST:PORT       listen address (default 127.0.0.1:5000)\n"
	"      --htpasswd FILE        require Basic auth against a bcrypt htpasswd file\n"
	"      --auth-config FILE     per-repository permissions (USER pull|push|pull,push GLOB)\n"
	"      --tls-cert FILE        serve HTTPS with this PEM certificate ...\n"
	"      --tls-key FILE         ... and this PEM key\n"
	"      --read-only            refuse pushes and deletes\n"
	"      --log-format FORMAT    access log: text (default), json or none\n"
	"      --threads N            worker threads (default: CPUs, at least 2; with\n"
	"                             --storage at least 32: S3 requests block a worker)\n"
	"      --max-connections N    concurrent connections (default 512)\n"
	"      --max-uploads N        concurrent uploads before 429 (default 128)\n"
	"      --timeout SECONDS      idle connection timeout (default 60)\n"
	"      --retention-policy FILE  apply this retention policy (YAML or JSON, see\n"
	"                             `strata registry retention --help`) at start and\n"
	"                             on a schedule; the file is read again each time\n"
	"      --retention-interval AGE  how often (default 1h; 90s, 15m, 12h, 1d)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"SIGTERM or SIGINT stop the server gracefully: no new connections, requests\n"
	"in flight get up to 10 seconds to finish. With --retention-policy, SIGHUP\n"
	"applies the policy now; a policy that no longer reads is logged with its\n"
	"FILE:LINE and not applied (the server keeps serving).\n";

static const char gc_usage[] =
	"Usage: strata registry gc [OPTIONS]\n"
	"\n"
	"Remove untagged manifests and the blobs nothing references. Safe while the\n"
	"registry serves pushes: anything younger than the grace period is kept.\n"
	"\n"
	"Options:\n"
	"      --root DIR             storage (default: <strata root>/registry)\n"
	"      --storage URL          blobs in an S3 bucket (s3://..., as for serve)\n"
	"      --metadata URL         metadata in PostgreSQL (as for serve)\n"
	"  -n, --dry-run              list what would be removed, remove nothing\n"
	"      --grace SECONDS        keep anything younger than this (default 3600)\n"
	"      --upload-ttl SECONDS   remove upload sessions idle longer (default 86400)\n"
	"  -h, --help                 show this help\n";

static const char group_usage[] =
	"Usage: strata registry COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  serve    serve an OCI registry\n"
	"  gc       garbage-collect a registry's storage\n"
	"  migrate  apply pending schema migrations to PostgreSQL metadata\n"
	"  retention  delete all but the newest matching tags\n";

static const char retention_usage[] =
	"Usage: strata registry retention --repository GLOB --match REGEX --keep-last N [OPTIONS]\n"
	"       strata registry retention --policy FILE [OPTIONS]\n"
	"\n"
	"In every repository matching GLOB, keep the N most recently pushed tags whose\n"
	"name matches REGEX (POSIX extended) and delete the other matching tags. The\n"
	"manifests and blobs only they referenced go at the next `strata registry gc`.\n"
	"\n"
	"Options:\n"
	"      --root DIR             storage (default: <strata root>/registry)\n"
	"      --storage URL          blobs in an S3 bucket (s3://..., as for serve)\n"
	"      --metadata URL         metadata in PostgreSQL (as for serve)\n"
	"      --older-than AGE       delete only tags set longer ago (e.g. 3600, 90m, 12h, 30d)\n"
	"      --policy FILE          apply the rules of a policy file instead, in order\n"
	"  -n, --dry-run              list what would be deleted, delete nothing\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Each matching tag is printed as 'keep' or 'delete' (or 'would delete').\n"
	"\n"
	"A policy file (YAML or JSON) is a list of rules with the same fields;\n"
	"repository, match and keep-last are required:\n"
	"\n"
	"  - repository: \"ci/*\"\n"
	"    match: \"^pr-[0-9]+$\"\n"
	"    keep-last: 10\n"
	"    older-than: 7d\n"
	"  - repository: \"*\"\n"
	"    match: \"^nightly-\"\n"
	"    keep-last: 3\n"
	"\n"
	"`strata registry serve --retention-policy FILE` applies it on a schedule.\n";

static const char migrate_usage[] =
	"Usage: strata registry migrate --metadata postgres://USER@HOST:PORT/DB\n"
	"\n"
	"Apply the pending schema migrations (serve and gc also apply them when they\n"
	"start) and print the schema version.\n";

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

/* One line to stderr in one write (the access log shares the fd). */
static void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void serve_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *line = xvasprintf(fmt, ap);
	va_end(ap);
	(void)strata_write_full(2, line, strlen(line), "stderr", NULL);
}

struct serve_retention {
	const char *file;       /* NULL: no policy */
	struct registry_retention_options where; /* root, storage, metadata */
	int64_t interval;       /* seconds */
};

static void serve_retention_report(void *ud, size_t rule, const char *repo, const char *tag, const char *digest,
				   bool removed)
{
	const struct serve_retention *r = ud;
	if (removed)
		serve_log("strata registry: retention: %s rule %zu: deleted %s:%s (%s)\n", r->file, rule + 1, repo,
			  tag, digest);
}

static int64_t monotonic_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Read the policy again and apply it; everything is logged, nothing stops
 * the server: a policy that no longer reads is not applied at all (the last
 * good one could delete what an edit meant to keep).
 */
static void serve_retention_run(const struct serve_retention *r)
{
	struct strata_error *err = NULL;
	struct registry_retention_policy *p = NULL;
	int64_t t0 = monotonic_ms();
	if (cli_retention_policy_load(r->file, &p, &err) < 0) {
		cleanup_free char *m = strata_error_string(err);
		strata_error_free(err);
		serve_log("strata registry: retention: policy not applied: %s\n", m);
		return;
	}
	uint64_t removed = 0;
	if (cli_retention_policy_apply(p, &r->where, serve_retention_report, (void *)r, &removed, &err) < 0) {
		cleanup_free char *m = strata_error_string(err);
		strata_error_free(err);
		serve_log("strata registry: retention: failed after deleting %llu tags: %s\n",
			  (unsigned long long)removed, m);
	} else {
		serve_log("strata registry: retention: %s applied (%zu rules): deleted %llu tags in %lld ms\n",
			  r->file, p->nrules, (unsigned long long)removed, (long long)(monotonic_ms() - t0));
	}
	registry_retention_policy_free(p);
}

/*
 * Wait for SIGTERM/SIGINT (the return value); with a policy, apply it now
 * and then every interval, and at once on SIGHUP.
 */
static int serve_wait(const sigset_t *set, const struct serve_retention *r)
{
	int sig = 0;
	if (!r->file) {
		sigwait(set, &sig);
		return sig;
	}
	for (;;) {
		serve_retention_run(r);
		int64_t next = monotonic_ms() + r->interval * 1000;
		for (;;) {
			int64_t left = next - monotonic_ms();
			if (left <= 0)
				break;
			struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
			sig = sigtimedwait(set, NULL, &ts);
			if (sig == SIGHUP) {
				serve_log("strata registry: SIGHUP, applying the retention policy\n");
				break;
			}
			if (sig > 0)
				return sig;
			if (errno == EAGAIN)
				break;
		}
	}
}

/* --root, --storage and --metadata: where serve, gc and retention find the registry */
enum { O_ROOT = 256, O_META, O_STORAGE, O_WHERE_END };
#define WHERE_OPTIONS                                              \
	{ "root", required_argument, NULL, O_ROOT },               \
	{ "storage", required_argument, NULL, O_STORAGE },         \
	{ "metadata", required_argument, NULL, O_META }

/* @return true when c was one of WHERE_OPTIONS (then taken) */
static bool where_option(int c, char **root, const char **storage, const char **metadata)
{
	switch (c) {
	case O_ROOT:
		free(*root);
		*root = xstrdup(optarg);
		return true;
	case O_STORAGE:
		*storage = optarg;
		return true;
	case O_META:
		*metadata = optarg;
		return true;
	default:
		return false;
	}
}

static int cmd_serve(int argc, char **argv)
{
	enum { O_ADDR = O_WHERE_END, O_HTPASSWD, O_AUTH, O_CERT, O_KEY, O_RO, O_LOG, O_THREADS, O_MAXCONN,
	       O_MAXUP, O_TIMEOUT, O_RPOLICY, O_RINTERVAL, O_REDIRECT };
	static const struct option opts[] = {
		WHERE_OPTIONS,
		{ "storage-redirect", no_argument, NULL, O_REDIRECT },
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
		{ "retention-policy", required_argument, NULL, O_RPOLICY },
		{ "retention-interval", required_argument, NULL, O_RINTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct registry_server_config cfg = { .addr = "127.0.0.1:5000", .log_fd = 2 };
	struct serve_retention ret = { .interval = 3600 };
	bool have_interval = false;
	cleanup_free char *root = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (where_option(c, &root, &cfg.storage, &cfg.metadata))
			continue;
		switch (c) {
		case 'h':
			fputs(serve_usage, stdout);
			return EXIT_OK;
		case O_REDIRECT:
			cfg.storage_redirect = true;
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
		case O_RPOLICY:
			ret.file = optarg;
			break;
		case O_RINTERVAL:
			if (registry_age_parse(optarg, &ret.interval) < 0 || ret.interval == 0)
				return cli_usage_error("registry serve",
						       "--retention-interval '%s': expected SECONDS or a number with s, m, h or d, above 0",
						       optarg);
			have_interval = true;
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
	if (have_interval && !ret.file)
		return cli_usage_error("registry serve", "--retention-interval needs --retention-policy");
	if (cfg.storage_redirect && !cfg.storage)
		return cli_usage_error("registry serve", "--storage-redirect needs --storage s3://...");
	if (!root)
		root = default_root();
	cfg.root = root;
	ret.where.root = root;
	ret.where.storage = cfg.storage;
	ret.where.metadata = cfg.metadata;
	struct strata_error *err = NULL;
	if (ret.file) {
		/* a policy that does not read is an error before anything is served */
		struct registry_retention_policy *p = NULL;
		if (cli_retention_policy_load(ret.file, &p, &err) < 0)
			return cli_fail(err);
		registry_retention_policy_free(p);
	}

	/* every thread inherits the blocked signals; only sigwait below sees them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (ret.file)
		sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct registry_server *srv = NULL;
	if (registry_server_start(&cfg, &srv, &err) < 0)
		return cli_fail(err);
	const char *colon = strrchr(cfg.addr, ':');
	fprintf(stderr, "strata registry: serving %s on %s://%.*s:%u\n", cfg.storage ? cfg.storage : root,
		cfg.tls_cert ? "https" : "http", (int)(colon - cfg.addr), cfg.addr,
		registry_server_port(srv));
	int sig = serve_wait(&set, &ret);
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
	enum { O_GRACE = O_WHERE_END, O_TTL };
	static const struct option opts[] = {
		WHERE_OPTIONS,
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
		if (where_option(c, &root, &o.storage, &o.metadata))
			continue;
		switch (c) {
		case 'h':
			fputs(gc_usage, stdout);
			return EXIT_OK;
		case 'n':
			o.dry_run = true;
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

static int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *metadata = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(migrate_usage, stdout);
			return EXIT_OK;
		}
		if (c != 'm')
			return cli_usage_error("registry migrate", "unknown option '%s'", argv[optind - 1]);
		metadata = optarg;
	}
	if (optind < argc)
		return cli_usage_error("registry migrate", "unexpected argument '%s'", argv[optind]);
	if (!metadata)
		return cli_usage_error("registry migrate", "--metadata postgres://... is required");
	struct strata_error *err = NULL;
	int version = 0;
	if (registry_migrate(metadata, &version, &err) < 0)
		return cli_fail(err);
	printf("schema version %d\n", version);
	return EXIT_OK;
}

struct ret_print {
	bool dry_run;
};

static void ret_report(void *ud, const char *repo, const char *tag, const char *digest, int64_t updated,
		       bool removed)
{
	struct ret_print *p = ud;
	(void)updated;
	printf("%s %s:%s %s\n", !removed ? "keep" : p->dry_run ? "would delete" : "delete", repo, tag, digest);
}

static void policy_report(void *ud, size_t rule, const char *repo, const char *tag, const char *digest, bool removed)
{
	(void)rule;
	ret_report(ud, repo, tag, digest, 0, removed);
}

static int cmd_retention(int argc, char **argv)
{
	enum { O_REPO = O_WHERE_END, O_MATCH, O_KEEP, O_OLDER, O_POLICY };
	static const struct option opts[] = {
		WHERE_OPTIONS,
		{ "repository", required_argument, NULL, O_REPO },
		{ "match", required_argument, NULL, O_MATCH },
		{ "keep-last", required_argument, NULL, O_KEEP },
		{ "older-than", required_argument, NULL, O_OLDER },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct registry_retention_options o = { 0 };
	bool have_keep = false;
	const char *policy = NULL;
	cleanup_free char *root = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hn", opts, NULL)) != -1) {
		if (where_option(c, &root, &o.storage, &o.metadata))
			continue;
		switch (c) {
		case 'h':
			fputs(retention_usage, stdout);
			return EXIT_OK;
		case 'n':
			o.dry_run = true;
			break;
		case O_REPO:
			o.repository = optarg;
			break;
		case O_MATCH:
			o.match = optarg;
			break;
		case O_KEEP: {
			char *end = NULL;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v > 1000000)
				return cli_usage_error("registry retention", "--keep-last needs a number, not '%s'",
						       optarg);
			o.keep_last = (unsigned)v;
			have_keep = true;
			break;
		}
		case O_POLICY:
			policy = optarg;
			break;
		case O_OLDER:
			if (registry_age_parse(optarg, &o.older_than) < 0)
				return cli_usage_error("registry retention",
						       "--older-than '%s': expected SECONDS or a number with s, m, h or d",
						       optarg);
			break;
		default:
			return cli_usage_error("registry retention", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("registry retention", "unexpected argument '%s'", argv[optind]);
	if (policy && (o.repository || o.match || have_keep || o.older_than))
		return cli_usage_error("registry retention",
				       "--policy goes without --repository, --match, --keep-last and --older-than");
	if (!policy && (!o.repository || !o.match || !have_keep))
		return cli_usage_error("registry retention",
				       "--repository, --match and --keep-last are required (or --policy FILE)");
	if (!root)
		root = default_root();
	o.root = root;
	struct ret_print p = { o.dry_run };
	uint64_t removed = 0;
	struct strata_error *err = NULL;
	if (policy) {
		struct registry_retention_policy *pol = NULL;
		if (cli_retention_policy_load(policy, &pol, &err) < 0)
			return cli_fail(err);
		int rc = cli_retention_policy_apply(pol, &o, policy_report, &p, &removed, &err);
		registry_retention_policy_free(pol);
		if (rc < 0)
			return cli_fail(err);
	} else if (registry_retention(&o, ret_report, &p, &removed, &err) < 0) {
		return cli_fail(err);
	}
	printf("%s %llu tags\n", o.dry_run ? "would delete" : "deleted", (unsigned long long)removed);
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
	if (!strcmp(argv[1], "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "retention"))
		return cmd_retention(argc - 1, argv + 1);
	return cli_usage_error("registry", "unknown command '%s' (serve, gc, migrate, retention)", argv[1]);
}
STRATA_COMMAND(registry, "registry", "Serve an OCI registry, or garbage-collect its storage", cmd_registry);
