/*
 * strata compose — compose files: `config` prints the resolved model,
 * `build` and `push` turn it into build jobs and run them.
 *
 * The build engine is wired in through compose_run_job() below (one place):
 * each job is a child `strata build` (or `strata push`) process
 * (cli/ci_compose.h), its output prefixed with the service name.
 */
#include "cli/cli.h"
#include "cli/ci_compose.h"
#include "cli/regopts.h"
#include "compose/compose.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const bool build_engine_available = true;

/* STRATA_CACHE_TAG for ci_cache_tag */
static const char *env_get(const char *name)
{
	return getenv(name);
}

static void usage(void)
{
	printf("Usage: strata compose [-f FILE]... [-p NAME] [--env-file FILE] [--profile NAME]... COMMAND [ARGS]\n"
	       "\n"
	       "Build and push the services of compose files.\n"
	       "\n"
	       "Options:\n"
	       "  -f, --file FILE          a compose file (repeatable; later files override earlier ones;\n"
	       "                           '-' reads stdin). Default: $COMPOSE_FILE, else compose.yaml,\n"
	       "                           compose.yml, docker-compose.yml or docker-compose.yaml in the\n"
	       "                           current directory or a parent, plus its override file\n"
	       "  -p, --project-name NAME  the project name (default: $COMPOSE_PROJECT_NAME, name:, the\n"
	       "                           directory name)\n"
	       "      --env-file FILE      the .env file (default: .env next to the first compose file)\n"
	       "      --profile NAME       enable a profile (repeatable; also $COMPOSE_PROFILES)\n"
	       "  -h, --help               show this help\n"
	       "\n"
	       "Commands:\n"
	       "  config [--format yaml|json] [--services] [-q]\n"
	       "                           print the resolved model (-q: only validate)\n"
	       "  build [--push] [--no-cache] [--pull] [--parallel N] [--cache-tag TAG|none] [--dry-run]\n"
	       "        [--format text|json] [SERVICE...]\n"
	       "                           build the services that have a build section; with --push,\n"
	       "                           a service without build.cache_to also imports and exports\n"
	       "                           every stage's cache as IMAGE-REPOSITORY:TAG (mode=max; TAG:\n"
	       "                           --cache-tag, else $STRATA_CACHE_TAG, else buildcache; none: off)\n"
	       "  push [--dry-run] [--format text|json] [SERVICE...]\n"
	       "                           push the images of the services that have a build section\n"
	       "\n"
	       "Exit status: 0 success, 1 failure (bad compose file, failed build), 2 usage error.\n");
}

static void print_warnings(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "strata: warning: %s\n", w[i]);
}

static int do_config(struct compose_project *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "services", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "yaml";
	bool services = false, quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			format = optarg;
			break;
		case 's':
			services = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error("compose config", argv, "+qh", opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("compose config", "unexpected argument '%s'", argv[optind]);
	if (strcmp(format, "yaml") && strcmp(format, "json"))
		return cli_usage_error("compose config", "--format must be yaml or json, not '%s'", format);
	if (quiet)
		return EXIT_OK;
	if (services) {
		for (size_t i = 0; i < p->nservices; i++)
			if (compose_service_active(p, &p->services[i]))
				printf("%s\n", p->services[i].name);
		return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
	}
	json_t *j = compose_project_to_json(p);
	int rc = EXIT_OK;
	if (!strcmp(format, "json")) {
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!s)
			strata_oom();
		printf("%s\n", s);
		free(s);
	} else {
		char *s = NULL;
		struct strata_error *err = NULL;
		if (compose_json_to_yaml(j, &s, &err) < 0)
			rc = cli_fail(err);
		else
			fputs(s, stdout);
		free(s);
	}
	json_decref(j);
	if (fflush(stdout) != 0)
		rc = EXIT_FAIL;
	return rc;
}

static void print_word(const char *w)
{
	if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,@+%") ==
			  strlen(w)) {
		printf(" %s", w);
		return;
	}
	putchar(' ');
	putchar('\'');
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*w);
	}
	putchar('\'');
}

static void print_opt(const char *opt, const char *val)
{
	printf(" %s", opt);
	print_word(val);
}

/* One job as the `strata build` command line it stands for. */
static void print_job_text(const struct compose_jobs *jobs, size_t i, const struct cli_compose_job_opts *o)
{
	bool push_only = o->push_only;
	const struct compose_job *j = &jobs->v[i];
	const struct compose_build *b = j->build;
	printf("%s:", j->service->name);
	if (push_only) {
		printf(" strata push");
		for (size_t k = 0; k < j->ntags; k++)
			print_word(j->tags[k]);
		putchar('\n');
		return;
	}
	printf(" strata build");
	print_opt("-f", b->dockerfile ? b->dockerfile : "-");
	for (size_t k = 0; k < j->ntags; k++)
		print_opt("-t", j->tags[k]);
	for (size_t k = 0; k < b->nargs; k++) {
		if (!b->args[k].value) {
			print_opt("--build-arg", b->args[k].key);
			continue;
		}
		char *kv = xasprintf("%s=%s", b->args[k].key, b->args[k].value);
		print_opt("--build-arg", kv);
		free(kv);
	}
	if (b->target)
		print_opt("--target", b->target);
	for (size_t k = 0; k < b->ncache_from; k++)
		print_opt("--cache-from", b->cache_from[k]);
	for (size_t k = 0; k < b->ncache_to; k++)
		print_opt("--cache-to", b->cache_to[k]);
	char *cache_ref = cli_compose_cache_ref(o, j);
	if (cache_ref) {
		char *to = xasprintf("%s,mode=max", cache_ref);
		print_opt("--cache-from", cache_ref);
		print_opt("--cache-to", to);
		free(to);
		free(cache_ref);
	}
	for (size_t k = 0; k < b->nlabels; k++) {
		char *kv = xasprintf("%s=%s", b->labels[k].key, b->labels[k].value);
		print_opt("--label", kv);
		free(kv);
	}
	if (b->network)
		print_opt("--network", b->network);
	for (size_t k = 0; k < b->nsecrets; k++) {
		const struct compose_build_secret *s = &b->secrets[k];
		char *spec = s->file ? xasprintf("id=%s,src=%s", s->id, s->file)
				     : xasprintf("id=%s,env=%s", s->id, s->env);
		print_opt("--secret", spec);
		free(spec);
	}
	if (j->no_cache)
		printf(" --no-cache");
	if (j->pull)
		printf(" --pull");
	if (j->push)
		printf(" --push");
	print_word(b->context);
	if (b->dockerfile_inline)
		printf(" <<'EOF'   (dockerfile_inline)");
	if (j->ndeps) {
		printf("   # after:");
		for (size_t d = 0; d < j->ndeps; d++)
			printf(" %s", jobs->v[j->deps[d]].service->name);
	}
	putchar('\n');
}

static int do_build(struct compose_project *p, int argc, char **argv, bool push_only)
{
	static const struct option opts[] = {
		{ "push", no_argument, NULL, 'P' },
		{ "no-cache", no_argument, NULL, 'n' },
		{ "pull", no_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'F' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "cache-tag", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = push_only ? "compose push" : "compose build";
	struct compose_plan_options po = { .push = push_only };
	bool dry_run = false;
	const char *format = "text";
	int parallel = 2;
	const char *cache_tag_flag = NULL;
	int c;
	optind = 0; /* full re-initialisation: this parser permutes (options after SERVICE...) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (push_only && (c == 'P' || c == 'n' || c == 'l' || c == 'j' || c == 'C'))
			c = '?';
		switch (c) {
		case 'P':
			po.push = true;
			break;
		case 'n':
			po.no_cache = true;
			break;
		case 'l':
			po.pull = true;
			break;
		case 'd':
			dry_run = true;
			break;
		case 'F':
			format = optarg;
			break;
		case 'j':
			if (cli_parallel_parse(verb, optarg, &parallel) != 0)
				return EXIT_USAGE;
			break;
		case 'C':
			cache_tag_flag = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error(verb, argv, "h", opts);
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return cli_usage_error(verb, "--format must be text or json, not '%s'", format);
	po.services = (const char *const *)argv + optind;
	po.nservices = (size_t)(argc - optind);
	struct compose_jobs jobs;
	struct strata_error *err = NULL;
	struct cli_compose_job_opts jo = { .push_only = push_only };
	if (!push_only && ci_cache_tag(cache_tag_flag, env_get, &jo.cache_tag, &err) < 0) {
		strata_error_set_code(&err, STRATA_E_USAGE);
		return cli_fail(err);
	}
	if (compose_jobs_plan(p, &po, &jobs, &err) < 0)
		return cli_fail(err);
	print_warnings(jobs.warnings, jobs.nwarnings);
	int rc = EXIT_OK;
	if (dry_run) {
		if (!strcmp(format, "json")) {
			json_t *a = json_array();
			for (size_t i = 0; i < jobs.n; i++)
				json_array_append_new(a, compose_job_to_json(&jobs, i));
			char *s = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (!s)
				strata_oom();
			printf("%s\n", s);
			free(s);
			json_decref(a);
		} else {
			for (size_t i = 0; i < jobs.n; i++)
				print_job_text(&jobs, i, &jo);
		}
		if (fflush(stdout) != 0)
			rc = EXIT_FAIL;
		compose_jobs_release(&jobs);
		return rc;
	}
	if (!jobs.n) {
		fprintf(stderr, "strata: no service to %s\n", push_only ? "push" : "build");
		compose_jobs_release(&jobs);
		return EXIT_OK;
	}
	if (!build_engine_available) {
		compose_jobs_release(&jobs);
		strata_error_makec(&err, STRATA_E_BUILD, 0,
				   "strata %s is not available in this build (use --dry-run to see the jobs)",
				   push_only ? "push" : "build");
		return cli_fail(err);
	}
	struct compose_job_result *res = xcalloc(jobs.n, sizeof(*res));
	if (compose_jobs_run(&jobs, (unsigned)parallel, cli_compose_job_run, &jo, res, &err) < 0) {
		for (size_t i = 0; i < jobs.n; i++) {
			if (!res[i].err)
				continue;
			char *m = strata_error_string(res[i].err);
			fprintf(stderr, "strata: error: %s: %s\n", jobs.v[i].service->name, m);
			free(m);
		}
		rc = cli_fail(err);
	}
	compose_job_results_release(res, jobs.n);
	free(res);
	compose_jobs_release(&jobs);
	return rc;
}

static int cmd_compose(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "profile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **files = xcalloc((size_t)argc + 1, sizeof(char *));
	const char **profiles = xcalloc((size_t)argc + 1, sizeof(char *));
	struct compose_options o = { .files = files, .profiles = profiles, .env = (const char *const *)environ };
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			files[o.nfiles++] = optarg;
			break;
		case 'p':
			o.project_name = optarg;
			break;
		case 'e':
			o.env_file = optarg;
			break;
		case 'P':
			profiles[o.nprofiles++] = optarg;
			break;
		case 'h':
			usage();
			rc = EXIT_OK;
			goto out;
		default:
			rc = cli_option_error("compose", argv, "+f:p:h", opts);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error("compose", "a command is required (config, build, push)");
		goto out;
	}
	const char *sub = argv[optind];
	if (strcmp(sub, "config") && strcmp(sub, "build") && strcmp(sub, "push")) {
		rc = cli_usage_error("compose", "unknown command '%s'", sub);
		goto out;
	}
	int sargc = argc - optind;
	char **sargv = argv + optind;
	if (cli_wants_help(sargc, sargv)) {
		usage();
		rc = EXIT_OK;
		goto out;
	}
	struct compose_project *p = NULL;
	struct strata_error *err = NULL;
	if (compose_project_load(&o, &p, &err) < 0) {
		rc = cli_fail(err);
		goto out;
	}
	print_warnings(p->warnings, p->nwarnings);
	if (!strcmp(sub, "config"))
		rc = do_config(p, sargc, sargv);
	else
		rc = do_build(p, sargc, sargv, !strcmp(sub, "push"));
	compose_project_free(p);
out:
	free(files);
	free(profiles);
	return rc;
}
STRATA_COMMAND(compose, "compose", "Build and push the services of compose files", cmd_compose);
