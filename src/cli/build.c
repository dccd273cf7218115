/*
 * build.c — `strata build`: build an image from a Dockerfile.
 */
#include "build/sandbox.h"
#include "cli/cli.h"
#include "build/build.h"
#include "ci/ci.h"
#include "cli/buildctx.h"
#include "cli/cli_store.h"
#include "cli/buildout.h"
#include "cli/buildremote.h"
#include "cli/regopts.h"
#include "cli/report.h"
#include "oci/reference.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: strata build [OPTIONS] CONTEXT\n"
		"\n"
		"Build an image from the Dockerfile in CONTEXT, reusing cached layers.\n"
		"CONTEXT is a directory; - (a tar, or a Dockerfile alone, on stdin); a git\n"
		"repository URL[#ref[:subdir]] (git://, git@, ssh://, github.com/, or http(s)/file\n"
		"ending in .git); or an http(s) URL of a tarball or of a Dockerfile.\n"
		"\n"
		"Options:\n"
		"  -t, --tag REF            name the image REF (repeatable)\n"
		"  -f, --file PATH          the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)\n"
		"      --build-arg K[=V]    set a build argument (K alone takes it from the environment)\n"
		"      --target STAGE       build up to this stage\n"
		"      --no-cache           run every step (results are still cached)\n"
		"      --label K=V          add a label to the image (repeatable)\n"
		"      --network MODE       RUN network: host (default) or none\n"
		"      --security insecure  allow RUN --security=insecure (every capability, no seccomp)\n"
		"      --secret id=ID,src=FILE  expose FILE to RUN --mount=type=secret,id=ID\n"
		"      --secret id=ID,env=NAME  ... or the value of the environment variable NAME\n"
		"      --progress MODE      auto (default), plain or tty\n"
		"      --pull[=BOOL]        always pull base images (default, or false: only when missing)\n"
		"      --platform P[,P...]  the target platform(s), os/arch[/variant] (default: the host's);\n"
		"                           base images are pulled for it, RUN of a foreign platform runs\n"
		"                           through qemu-user-static in binfmt_misc (registered when missing,\n"
		"                           as root; never with STRATA_BINFMT_REGISTER=0); several: one build\n"
		"                           each, tagged as one OCI index\n"
		"      --push               push every -t tag after the build\n"
		"      --cache-from REF     import cache metadata from REF (repeatable; never fatal)\n"
		"      --cache-to REF[,mode=min|max]  export the build cache to REF (mode=max: with the\n"
		"                           RUN cache mounts' contents; cache-mounts=all|none|ID[+ID...],\n"
		"                           max-mount-size=SIZE)\n" CLI_REGOPTS_HELP
		"                           (registries and ADD <url> downloads alike)\n"
		"      --source-date-epoch N  reproducible output: layer mtimes clamped to N, config `created`\n"
		"                           and history times set to it (default: $SOURCE_DATE_EPOCH, or\n"
		"                           --build-arg SOURCE_DATE_EPOCH=N)\n"
		"  -o, --output SPEC        also export the image (buildx): type=oci|docker|tar|local,dest=PATH\n"
		"                           (- is stdout), type=image|registry,name=REF[,push=true];\n"
		"                           DIR alone is type=local, - a tar of the filesystem on stdout\n"
		"      --load               accepted: the image is always in the local store\n"
		"      --metadata-file F    write buildx's metadata (containerimage.digest, ...) as JSON\n"
		"      --no-cache-filter STAGE  run every step of STAGE (repeatable, or a,b)\n"
		"      --annotation K=V     an annotation on the image manifest (repeatable; manifest:K=V)\n"
		"      --add-host NAME:IP   an /etc/hosts line for RUN (repeatable)\n"
		"      --ssh ID[=SOCKET]    an ssh agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK)\n"
		"      --shm-size SIZE      size of RUN's /dev/shm (default 64MiB)\n"
		"      --ulimit NAME=SOFT[:HARD]  a resource limit for RUN (nofile, nproc, core, ...)\n"
		"      --build-context NAME=docker-image://REF|oci-layout://PATH[:TAG|@DIGEST]|DIR\n"
		"                           use that image for the image NAME, or DIR\n"
		"                           for COPY --from=NAME and RUN --mount from=NAME (repeatable)\n"
		"  -q, --quiet              print only the image id\n"
		"      --iidfile FILE       write the image id to FILE\n"
		"      --report FILE        write a report of the build to FILE.html (a page: steps on a\n"
		"                           timeline, cached or run, why each missed, bytes moved) or FILE.json\n"
		"  -h, --help               show this help\n");
}

/*
 * id=ID,src=FILE, or id=ID,env=NAME: the variable's value goes into a
 * memory file (no copy on disk), exposed as /proc/<our pid>/fd/N, which the
 * executor reads before the command starts (the fd is close-on-exec).
 * @return 0, -1 (malformed), -2 (the variable is not set).
 */
static int parse_secret(const char *spec, struct build_secret *s, int *memfd)
{
	cleanup_free char *copy = xstrdup(spec);
	cleanup_free char *env = NULL;
	char *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "id=", 3)) {
			free((char *)s->id);
			s->id = xstrdup(kv + 3);
		} else if (!strncmp(kv, "src=", 4) || !strncmp(kv, "source=", 7)) {
			free((char *)s->path);
			s->path = xstrdup(strchr(kv, '=') + 1);
		} else if (!strncmp(kv, "env=", 4)) {
			free(env);
			env = xstrdup(kv + 4);
		} else if (strcmp(kv, "type=file") != 0 && strcmp(kv, "type=env") != 0) {
			return -1;
		}
	}
	if (!s->id || !*s->id || !!s->path == !!env || (env && !*env))
		return -1;
	if (!env)
		return 0;
	const char *v = getenv(env);
	if (!v)
		return -2;
	int fd = memfd_create("strata-secret", MFD_CLOEXEC);
	if (fd < 0 || strata_write_full(fd, v, strlen(v), "secret", NULL) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*memfd = fd;
	s->path = xasprintf("/proc/%d/fd/%d", (int)getpid(), fd);
	return 0;
}

/* --ulimit NAME=SOFT[:HARD] (docker's names; -1 is unlimited) */
static int parse_ulimit(const char *spec, struct exec_rlimit *out)
{
	static const struct {
		const char *name;
		int res;
	} names[] = {
		{ "core", RLIMIT_CORE },       { "cpu", RLIMIT_CPU },         { "data", RLIMIT_DATA },
		{ "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },     { "memlock", RLIMIT_MEMLOCK },
		{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },     { "nofile", RLIMIT_NOFILE },
		{ "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },         { "rtprio", RLIMIT_RTPRIO },
		{ "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
	};
	const char *eq = strchr(spec, '=');
	if (!eq)
		return -1;
	out->resource = -1;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == (size_t)(eq - spec) && !strncmp(spec, names[i].name, (size_t)(eq - spec)))
			out->resource = names[i].res;
	if (out->resource < 0)
		return -1;
	char *end;
	errno = 0;
	long long soft = strtoll(eq + 1, &end, 10), hard = soft;
	if (errno || end == eq + 1 || (*end && *end != ':'))
		return -1;
	if (*end == ':') {
		const char *h = end + 1;
		hard = strtoll(h, &end, 10);
		if (errno || end == h || *end)
			return -1;
	}
	if (soft < -1 || hard < -1 || (hard >= 0 && (soft < 0 || soft > hard)))
		return -1;
	out->soft = soft < 0 ? (uint64_t)RLIM_INFINITY : (uint64_t)soft;
	out->hard = hard < 0 ? (uint64_t)RLIM_INFINITY : (uint64_t)hard;
	return 0;
}

/* --platform A[,B...]: each parsed (usage errors name the bad one), duplicates refused */
static int parse_platforms(const char *arg, struct dockerfile_platform **v, size_t *n)
{
	cleanup_free char *copy = xstrdup(arg);
	char *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		struct dockerfile_platform pl;
		if (!strchr(p, '/') || dockerfile_platform_parse(p, &pl, NULL) < 0)
			return cli_usage_error("build", "invalid --platform '%s': expected os/arch[/variant]", p);
		for (size_t i = 0; i < *n; i++)
			if (build_platform_equal(&(*v)[i], &pl))
				return cli_usage_error("build", "--platform: '%s' is given twice", p);
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = pl;
	}
	if (*n == 0)
		return cli_usage_error("build", "invalid --platform '%s': expected os/arch[/variant]", arg);
	return 0;
}

/*
 * One build per platform, each image stored untagged, then an OCI index of
 * them tagged with the -t tags (buildx's multi-platform build). *res: the
 * index's digest as the image id, the steps of every build summed.
 */
static int build_platforms(struct build_options *o, const struct dockerfile_platform *plats, size_t n, bool quiet,
			   struct build_result *res, struct strata_error **err)
{
	if (n <= 1) {
		o->platform = n ? &plats[0] : NULL;
		return build_run(o, res, err);
	}
	struct build_result *v = xcalloc(n, sizeof(*v));
	const char *const *tags = o->tags;
	size_t ntags = o->ntags;
	o->tags = NULL;
	o->ntags = 0;
	int rc = 0;
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < n && rc == 0; i++) {
		char p[128];
		dockerfile_platform_format(&plats[i], p, sizeof(p));
		if (!quiet)
			fprintf(stderr, "strata: building for %s (%zu/%zu)\n", p, i + 1, n);
		o->platform = &plats[i];
		rc = build_run(o, &v[i], err);
		if (rc < 0)
			strata_error_wrap(err, "platform %s", p);
		res->steps_cached += v[i].steps_cached;
		res->steps_run += v[i].steps_run;
	}
	o->tags = tags;
	o->ntags = ntags;
	o->platform = NULL;
	if (rc == 0)
		rc = build_index_write(o->root, v, plats, n, tags, ntags, &res->manifest_digest, err);
	res->image_id = res->manifest_digest;
	res->index = true;
	free(v);
	return rc;
}

static int cmd_build(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	enum { O_BUILDARG = 256, O_TARGET, O_NOCACHE, O_LABEL, O_NETWORK, O_SECRET, O_PROGRESS, O_IIDFILE, O_PULL,
	       O_PUSH, O_PLATFORM, O_CACHE_FROM, O_CACHE_TO, O_SDE, O_LOAD, O_METADATA, O_NCFILTER, O_ANNOTATION,
	       O_ADDHOST, O_UNSUPPORTED, O_SSH, O_SHM, O_ULIMIT, O_BCTX, O_REPORT, O_SECURITY };
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },          { "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, O_BUILDARG }, { "target", required_argument, NULL, O_TARGET },
		{ "no-cache", no_argument, NULL, O_NOCACHE },      { "label", required_argument, NULL, O_LABEL },
		{ "network", required_argument, NULL, O_NETWORK }, { "secret", required_argument, NULL, O_SECRET },
		{ "progress", required_argument, NULL, O_PROGRESS }, { "quiet", no_argument, NULL, 'q' },
		{ "iidfile", required_argument, NULL, O_IIDFILE }, { "pull", optional_argument, NULL, O_PULL },
		{ "output", required_argument, NULL, 'o' },        { "load", no_argument, NULL, O_LOAD },
		{ "metadata-file", required_argument, NULL, O_METADATA },
		{ "no-cache-filter", required_argument, NULL, O_NCFILTER },
		{ "annotation", required_argument, NULL, O_ANNOTATION },
		{ "add-host", required_argument, NULL, O_ADDHOST },
		{ "ssh", required_argument, NULL, O_SSH },         { "shm-size", required_argument, NULL, O_SHM },
		{ "ulimit", required_argument, NULL, O_ULIMIT },
		{ "build-context", required_argument, NULL, O_BCTX },
		{ "push", no_argument, NULL, O_PUSH },             { "platform", required_argument, NULL, O_PLATFORM },
		{ "cache-from", required_argument, NULL, O_CACHE_FROM },
		{ "cache-to", required_argument, NULL, O_CACHE_TO },
		{ "source-date-epoch", required_argument, NULL, O_SDE }, { "report", required_argument, NULL, O_REPORT },
		{ "security", required_argument, NULL, O_SECURITY },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct build_options o = { .out = stderr };
	struct dockerfile_buildargs ba = { 0 };
	const char **tags = xcalloc((size_t)argc + 1, sizeof(char *));
	const char **labels = xcalloc((size_t)argc + 1, sizeof(char *));
	struct build_secret *secrets = xcalloc((size_t)argc + 1, sizeof(*secrets));
	int *memfds = xcalloc((size_t)argc + 1, sizeof(*memfds));
	const char **cache_from = xcalloc((size_t)argc + 1, sizeof(char *));
	struct regclient_opts ro = { 0 };
	struct cli_build_remote_opts rop = { .reg = &ro, .cache_from = cache_from };
	struct cli_build_remote *remote = NULL;
	size_t nt = 0, nl = 0, ns = 0;
	const char *iidfile = NULL, *sde = NULL, *metadata = NULL, *report_path = NULL;
	struct cli_report report = { 0 };
	struct cli_build_output out = { 0 };
	struct cli_build_context bctx = { 0 };
	cleanup_free char *dfpath = NULL;
	const char **ncfilter = xcalloc((size_t)argc + 1, sizeof(char *));
	const char **annotations = xcalloc((size_t)argc + 1, sizeof(char *));
	struct strata_buf hosts = STRATA_BUF_INIT;
	struct build_secret *ssh = xcalloc((size_t)argc + 1, sizeof(*ssh));
	struct exec_rlimit *rlimits = xcalloc((size_t)argc + 1, sizeof(*rlimits));
	size_t nssh = 0, nrl = 0, nbc = 0;
	struct build_secret *bcs = xcalloc((size_t)argc + 1, sizeof(*bcs));
	char **ncparts = NULL;
	size_t nnc = 0, nan = 0;
	bool quiet = false;
	char *root = NULL;
	struct dockerfile_platform *plats = NULL;
	size_t nplats = 0;
	int rc = EXIT_FAIL, c;
	struct strata_error *err = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:f:qo:", opts, NULL)) != -1) {
		if (cli_regopts_handle(&ro, c, optarg))
			continue;
		switch (c) {
		case O_PULL:
			if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false")) {
				rc = cli_usage_error("build", "--pull takes true or false, not '%s'", optarg);
				goto out;
			}
			rop.pull_always = !optarg || !strcmp(optarg, "true");
			break;
		case 'o':
			cli_build_output_release(&out);
			if (cli_build_output_parse(optarg, &out, &err) < 0) {
				cleanup_free char *m = strata_error_string(err);
				strata_error_free(err);
				rc = cli_usage_error("build", "%s", m);
				goto out;
			}
			break;
		case O_LOAD: break; /* the image is in the local store whatever */
		case O_METADATA: metadata = optarg; break;
		case O_NCFILTER: {
			char *copy = xstrdup(optarg), *save = NULL;
			ncparts = xreallocarray(ncparts, nnc + 2, sizeof(*ncparts));
			ncparts[nnc + 1] = NULL;
			ncparts[nnc] = copy; /* owns the parts below */
			for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
				ncfilter[o.nno_cache_stages++] = p;
			nnc++;
			break;
		}
		case O_ANNOTATION: {
			const char *a = optarg, *colon = strchr(a, ':'), *eq = strchr(a, '=');
			if (!strncmp(a, "manifest:", 9))
				a += 9;
			else if (colon && eq && colon < eq) {
				rc = cli_usage_error("build", "--annotation '%s': only manifest annotations (on every "
							      "platform's manifest; not on the index)", optarg);
				goto out;
			}
			if (!strchr(a, '=') || a[0] == '=') {
				rc = cli_usage_error("build", "--annotation needs K=V, got '%s'", optarg);
				goto out;
			}
			annotations[nan++] = a;
			break;
		}
		case O_ADDHOST: {
			const char *sep = strpbrk(optarg, ":=");
			if (!sep || sep == optarg || !sep[1] || strpbrk(optarg, " \t\n")) {
				rc = cli_usage_error("build", "--add-host needs NAME:IP, got '%s'", optarg);
				goto out;
			}
			const char *ip = sep + 1;
			strata_buf_addf(&hosts, "%s\t%.*s\n", !strcmp(ip, "host-gateway") ? "127.0.0.1" : ip,
					(int)(sep - optarg), optarg);
			break;
		}
		case O_SSH: {
			/* default | ID | ID=SOCKET[,SOCKET...]: the first socket; none: $SSH_AUTH_SOCK */
			const char *eq = strchr(optarg, '=');
			cleanup_free char *id = eq ? xstrndup(optarg, (size_t)(eq - optarg)) : xstrdup(optarg);
			cleanup_free char *path = eq ? xstrndup(eq + 1, strcspn(eq + 1, ",")) : NULL;
			if (!path && getenv("SSH_AUTH_SOCK") && *getenv("SSH_AUTH_SOCK"))
				path = xstrdup(getenv("SSH_AUTH_SOCK"));
			if (!*id || !path || !*path) {
				rc = cli_usage_error("build", "--ssh %s: no socket (give ID=SOCKET or set SSH_AUTH_SOCK)", optarg);
				goto out;
			}
			ssh[nssh].id = STRATA_STEAL(id);
			ssh[nssh++].path = STRATA_STEAL(path);
			break;
		}
		case O_SHM: {
			int64_t v;
			if (build_prune_parse_size(optarg, &v, &err) < 0 || v <= 0) {
				strata_error_free(err);
				err = NULL;
				rc = cli_usage_error("build", "--shm-size: invalid size '%s'", optarg);
				goto out;
			}
			o.shm_size = (uint64_t)v;
			break;
		}
		case O_ULIMIT:
			if (parse_ulimit(optarg, &rlimits[nrl]) < 0) {
				rc = cli_usage_error("build", "--ulimit needs NAME=SOFT[:HARD] (nofile, nproc, core, ...), got '%s'",
						     optarg);
				goto out;
			}
			nrl++;
			break;
		case O_BCTX: {
			/* NAME=docker-image://REF, NAME=oci-layout://PATH[:TAG|@DIGEST] or NAME=DIR */
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1]) {
				rc = cli_usage_error("build", "--build-context needs NAME=VALUE, got '%s'", optarg);
				goto out;
			}
			const char *v = eq + 1;
			char *val = NULL;
			if (!strncmp(v, "docker-image://", 15)) {
				cleanup_ref struct oci_ref ref = OCI_REF_INIT;
				if (oci_ref_parse(v + 15, &ref, NULL) < 0) {
					rc = cli_usage_error("build", "--build-context %s: not an image reference", optarg);
					goto out;
				}
				val = xstrdup(v);
			} else if (!strncmp(v, "oci-layout://", 13)) {
				val = xstrdup(v); /* imported into the store once the options are read */
			} else if (strstr(v, "://")) {
				rc = cli_usage_error("build", "--build-context %s: only docker-image://, oci-layout:// and "
						     "directories are supported", optarg);
				goto out;
			} else if (!(val = realpath(v, NULL))) {
				rc = cli_usage_error("build", "--build-context %s: no directory '%s'", optarg, v);
				goto out;
			}
			bcs[nbc].id = xstrndup(optarg, (size_t)(eq - optarg));
			bcs[nbc++].path = val;
			break;
		}
		case O_UNSUPPORTED:
			rc = cli_usage_error("build", "%s is not supported by strata yet", argv[optind - 1]);
			goto out;
		case O_REPORT: report_path = optarg; break;
		case O_PUSH: rop.push = true; break;
		case O_PLATFORM:
			free(plats);
			plats = NULL;
			nplats = 0;
			if ((rc = parse_platforms(optarg, &plats, &nplats)) != 0)
				goto out;
			rc = EXIT_FAIL;
			/* one platform: base images and cache sources for it; several: per build */
			rop.platform = nplats == 1 ? optarg : NULL;
			rop.cache_platforms = nplats > 1 ? optarg : NULL;
			break;
		case O_CACHE_FROM: cache_from[rop.ncache_from++] = optarg; break;
		case O_CACHE_TO: rop.cache_to = optarg; break;
		case 't': tags[nt++] = optarg; break;
		case 'f': o.dockerfile = optarg; break;
		case O_BUILDARG:
			if (dockerfile_buildargs_add(&ba, optarg, &err) < 0) {
				cleanup_free char *m = strata_error_string(err);
				strata_error_free(err);
				rc = cli_usage_error("build", "%s", m);
				goto out;
			}
			break;
		case O_TARGET: o.target = optarg; break;
		case O_NOCACHE: o.no_cache = true; break;
		case O_LABEL:
			if (!strchr(optarg, '=')) {
				rc = cli_usage_error("build", "--label needs K=V, got '%s'", optarg);
				goto out;
			}
			labels[nl++] = optarg;
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "none"))
				o.network = EXEC_NET_NONE;
			else if (strcmp(optarg, "host") && strcmp(optarg, "default")) {
				rc = cli_usage_error("build", "--network must be host or none, got '%s'", optarg);
				goto out;
			}
			break;
		case O_SECURITY:
			if (strcmp(optarg, "insecure") && strcmp(optarg, "sandbox")) {
				rc = cli_usage_error("build", "--security must be insecure or sandbox, got '%s'", optarg);
				goto out;
			}
			o.allow_insecure = !strcmp(optarg, "insecure");
			break;
		case O_SECRET:
			memfds[ns] = -1;
			switch (parse_secret(optarg, &secrets[ns], &memfds[ns])) {
			case 0: ns++; break;
			case -2:
				rc = cli_usage_error("build", "--secret '%s': the environment variable is not set", optarg);
				ns++;
				goto out;
			default:
				rc = cli_usage_error("build", "--secret needs id=ID,src=FILE or id=ID,env=NAME, got '%s'",
						     optarg);
				ns++;
				goto out;
			}
			break;
		case O_PROGRESS:
			if (!strcmp(optarg, "auto"))
				o.progress = BUILD_PROGRESS_AUTO;
			else if (!strcmp(optarg, "plain"))
				o.progress = BUILD_PROGRESS_PLAIN;
			else if (!strcmp(optarg, "tty"))
				o.progress = BUILD_PROGRESS_TTY;
			else {
				rc = cli_usage_error("build", "--progress must be auto, plain or tty, got '%s'", optarg);
				goto out;
			}
			break;
		case 'q': quiet = true; break;
		case O_IIDFILE: iidfile = optarg; break;
		case O_SDE: sde = optarg; break;
		default:
			rc = cli_option_error("build", argv, "t:f:qo:", opts);
			goto out;
		}
	}
	if (optind != argc - 1) {
		rc = cli_usage_error("build", optind >= argc ? "no build context given" : "one build context only");
		goto out;
	}
	if (quiet)
		o.progress = BUILD_PROGRESS_QUIET;
	/* -o name=REF tags the image; type=registry / push=true pushes those names */
	tags = xreallocarray(tags, (size_t)argc + 1 + out.nnames, sizeof(*tags));
	for (size_t i = 0; i < out.nnames; i++)
		tags[nt++] = out.names[i];
	tags[nt] = NULL;
	if (out.push)
		rop.push = true;
	o.no_cache_stages = ncfilter;
	o.annotations = annotations;
	o.nannotations = nan;
	o.extra_hosts = hosts.len ? hosts.data : NULL;
	o.ssh = ssh;
	o.nssh = nssh;
	o.named_contexts = bcs;
	o.nnamed_contexts = nbc;
	o.rlimits = rlimits;
	o.n_rlimits = nrl;
	/* SOURCE_DATE_EPOCH: the option, else a build arg of that name (buildx passes it so), else the environment */
	for (size_t i = 0; !sde && i < ba.n; i++)
		if (!strcmp(ba.v[i].name, "SOURCE_DATE_EPOCH") && ba.v[i].value)
			sde = ba.v[i].value;
	if (!sde && getenv("SOURCE_DATE_EPOCH") && *getenv("SOURCE_DATE_EPOCH"))
		sde = getenv("SOURCE_DATE_EPOCH");
	if (sde) {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(sde, &end, 10);
		if (errno || end == sde || *end || v < 0) {
			rc = cli_usage_error("build", "invalid SOURCE_DATE_EPOCH '%s': expected seconds since the epoch",
					     sde);
			goto out;
		}
		o.source_date_epoch_set = true;
		o.source_date_epoch = v;
	}
	root = cli_store_root();
	o.root = root;
	for (size_t i = 0; i < nbc; i++) {
		if (strncmp(bcs[i].path, "oci-layout://", 13))
			continue;
		/* the layout's image goes into the store, and the engine uses it from there (never pulled) */
		struct oci_platform plat = { 0 };
		struct oci_digest md;
		if (rop.platform && !strchr(rop.platform, ',') ? oci_platform_parse(rop.platform, &plat, &err) < 0 : 0) {
			rc = cli_fail(err);
			goto out;
		}
		if (!plat.os)
			oci_platform_host(&plat);
		int lr = cli_load_layout(bcs[i].path + 13, &plat, &md, &err);
		oci_platform_release(&plat);
		if (lr < 0) {
			strata_error_wrap(&err, "--build-context %s", bcs[i].id);
			rc = cli_fail_verb("build", err);
			goto out;
		}
		free((char *)bcs[i].path);
		bcs[i].path = xasprintf("local-image://%s", md.str);
	}
	o.tags = tags;
	o.ntags = nt;
	o.labels = labels;
	o.nlabels = nl;
	o.secrets = secrets;
	o.nsecrets = ns;
	o.buildargs = &ba;
	for (size_t i = 0; i < ns; i++) {
		if (!strata_path_exists(secrets[i].path)) {
			rc = cli_usage_error("build", "--secret id=%s: '%s' does not exist", secrets[i].id,
					     secrets[i].path);
			goto out;
		}
	}
	/* a bad -t fails before the build, not after it (docker checks it first too) */
	for (size_t i = 0; i < nt; i++) {
		cleanup_ref struct oci_ref ref = OCI_REF_INIT;
		if (oci_ref_parse(tags[i], &ref, &err) < 0) {
			cleanup_free char *m = strata_error_string(err);
			strata_error_free(err);
			rc = cli_usage_error("build", "-t: %s", m);
			goto out;
		}
	}
	if (rop.push && nt == 0) {
		rc = cli_usage_error("build", "--push needs at least one -t tag");
		goto out;
	}
	if (cli_report_open(&report, report_path, &err) < 0) {
		strata_error_set_code(&err, STRATA_E_USAGE);
		rc = cli_fail_verb("build", err);
		goto out;
	}
	o.listener = cli_report_listener(&report);
	rop.events = o.listener;
	rop.quiet = quiet;
	if (cli_build_remote_open(&rop, stderr, &remote, &err) < 0) {
		rc = cli_fail_verb("build", err);
		goto out;
	}
	o.hooks = cli_build_remote_hooks(remote);
	if (cli_build_context_prepare(argv[optind], root, o.hooks, o.dockerfile && !strcmp(o.dockerfile, "-"), &bctx, &err) < 0) {
		rc = cli_fail_verb("build", err);
		goto out;
	}
	o.context_dir = bctx.dir;
	if (bctx.dockerfile && !o.dockerfile)
		o.dockerfile = bctx.dockerfile;
	else if (bctx.tmp && o.dockerfile && strcmp(o.dockerfile, "-") && o.dockerfile[0] != '/')
		o.dockerfile = dfpath = strata_path_join(bctx.dir, o.dockerfile); /* -f inside a fetched context */
	struct build_result res;
	if (sandbox_require(&err) < 0 || build_platforms(&o, plats, nplats, quiet, &res, &err) < 0 ||
	    cli_build_remote_finish(remote, tags, nt, &err) < 0) {
		bool interrupted = strata_error_code(err) == STRATA_E_INTERRUPTED;
		/* a child of `strata ci --compose` reports the failure's category (ci.h) */
		const char *codes = getenv("STRATA_EXIT_CODES");
		int ci_code = ci_exit_code(err);
		rc = cli_fail(err);
		if (codes && !strcmp(codes, "ci"))
			rc = ci_code;
		if (interrupted)
			rc = 130;
		goto out;
	}
	if (iidfile && strata_atomic_write(iidfile, res.image_id.str, strlen(res.image_id.str), 0644, &err) < 0) {
		rc = cli_fail(err);
		goto out;
	}
	if (out.type != CLI_OUT_NONE && cli_build_output_write(&out, nt ? tags[0] : res.image_id.str, &err) < 0) {
		strata_error_wrap(&err, "--output");
		rc = cli_fail(err);
		goto out;
	}
	if (metadata) {
		struct cli_build_moved mv;
		cli_build_remote_moved(remote, &mv);
		if (cli_build_metadata_write(metadata, &res, tags, nt, mv.bytes_down, mv.bytes_up, &err) < 0) {
			rc = cli_fail(err);
			goto out;
		}
	}
	if (quiet) {
		printf("%s\n", res.image_id.str);
	} else {
		fprintf(stderr, "strata: %zu step%s cached, %zu run; image %s", res.steps_cached,
			res.steps_cached == 1 ? "" : "s", res.steps_run, res.image_id.str);
		for (size_t i = 0; i < nt; i++)
			fprintf(stderr, "%s%s", i ? ", " : " tagged ", tags[i]);
		fputc('\n', stderr);
		struct cli_build_moved m;
		cli_build_remote_moved(remote, &m);
		if (m.requests) {
			char down[32], up[32];
			strata_format_bytes(m.bytes_down, down, sizeof(down));
			strata_format_bytes(m.bytes_up, up, sizeof(up));
			fprintf(stderr, "strata: registry traffic: %s down, %s up, %llu requests\n", down, up,
				(unsigned long long)m.requests);
		}
	}
	rc = EXIT_OK;
out:
	dockerfile_buildargs_release(&ba);
	for (size_t i = 0; i < ns; i++) {
		free((char *)secrets[i].id);
		free((char *)secrets[i].path);
		if (memfds[i] >= 0)
			close(memfds[i]);
	}
	free(secrets);
	free(memfds);
	free(cache_from);
	cli_report_close(&report, nt ? tags[0] : argv[argc - 1]);
	cli_build_remote_free(remote);
	regclient_opts_release(&ro);
	free(tags);
	free(labels);
	cli_build_output_release(&out);
	cli_build_context_release(&bctx);
	free(ncfilter);
	free(annotations);
	strata_buf_release(&hosts);
	for (size_t i = 0; i < nssh; i++) {
		free((char *)ssh[i].id);
		free((char *)ssh[i].path);
	}
	free(ssh);
	free(rlimits);
	for (size_t i = 0; i < nbc; i++) {
		free((char *)bcs[i].id);
		free((char *)bcs[i].path);
	}
	free(bcs);
	for (size_t i = 0; i < nnc; i++)
		free(ncparts[i]);
	free(ncparts);
	free(root);
	free(plats);
	return rc;
}
STRATA_COMMAND(build, "build", "Build an image from a Dockerfile", cmd_build);
