/*
 * layer.c — `strata layer`: internal/debug verbs over the layer module
 * (used by the end-to-end tests and bench/layer).
 */
#include "cli/cli.h"
#include "layer/layer.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: strata layer create DIR -o FILE [options]\n"
	"       strata layer apply FILE DIR [options]\n"
	"       strata layer treehash DIR [PATH...]\n"
	"\n"
	"Internal verbs over the layer module (tests and benchmarks).\n"
	"\n"
	"create: write a reproducible layer blob of DIR to FILE ('-' for stdout) and print\n"
	"        its diff_id, digest, size and media type.\n"
	"  -o, --output FILE            where the blob goes (required)\n"
	"  -c, --compression ALG        gzip (default), zstd or none\n"
	"  -l, --level N                compression level (0: codec default)\n"
	"      --gzip-impl isal|zlib    gzip implementation (default isal)\n"
	"      --upper                  DIR is an overlayfs upper dir: convert whiteouts\n"
	"      --prefix PATH            put the tree under PATH inside the layer\n"
	"      --chown UID:GID          numeric owner for every entry\n"
	"      --chmod MODE             octal permission bits for every entry but symlinks\n"
	"      --docker                 report Docker's gzip media type\n"
	"      --zstd-workers N         zstd compression threads (0: inline; default 2)\n"
	"  SOURCE_DATE_EPOCH, when set, clamps every mtime.\n"
	"\n"
	"apply: apply the layer FILE ('-' for stdin) onto DIR (created atomically when missing)\n"
	"  -m, --media-type MT          the blob's media type (default: guessed from its magic)\n"
	"      --digest D               expected blob digest\n"
	"      --diff-id D              expected diff_id\n"
	"      --max-size BYTES         limit on uncompressed bytes\n"
	"      --devices reject|skip|create   device nodes policy (default create as root, else reject)\n"
	"      --overlay                write overlay-style whiteouts (for an upper dir)\n"
	"      --no-chown               keep the caller as owner\n"
	"\n"
	"treehash: print the content digest of DIR (or of the listed PATHs in it).\n"
	"\n"
	"  -h, --help                   show this help\n";

static void print_result(const struct layer_result *r)
{
	printf("diff_id %s\ndigest %s\nsize %llu\ntar_size %llu\nmedia_type %s\n", r->diff_id, r->digest,
	       (unsigned long long)r->size, (unsigned long long)r->tar_size, r->media_type);
}

static int cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' }, { "compression", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },  { "gzip-impl", required_argument, NULL, 'G' },
		{ "upper", no_argument, NULL, 'U' },        { "prefix", required_argument, NULL, 'P' },
		{ "chown", required_argument, NULL, 'C' },  { "chmod", required_argument, NULL, 'M' },
		{ "docker", no_argument, NULL, 'D' },       { "zstd-workers", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_GZIP };
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	const char *output = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:c:l:", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o': output = optarg; break;
		case 'c':
			if (!strcmp(optarg, "gzip")) wo.compression = OCI_COMPRESSION_GZIP;
			else if (!strcmp(optarg, "zstd")) wo.compression = OCI_COMPRESSION_ZSTD;
			else if (!strcmp(optarg, "none")) wo.compression = OCI_COMPRESSION_NONE;
			else return cli_usage_error("layer create", "unknown compression '%s'", optarg);
			break;
		case 'l':
			wo.level = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg)
				return cli_usage_error("layer create", "invalid level '%s'", optarg);
			break;
		case 'G':
			if (!strcmp(optarg, "isal")) wo.gzip_impl = LAYER_GZIP_ISAL;
			else if (!strcmp(optarg, "zlib")) wo.gzip_impl = LAYER_GZIP_ZLIB;
			else return cli_usage_error("layer create", "unknown gzip implementation '%s'", optarg);
			break;
		case 'U': co.overlay_upper = true; break;
		case 'P': co.prefix = optarg; break;
		case 'C': {
			unsigned long u, g;
			char *colon;
			u = strtoul(optarg, &colon, 10);
			if (colon == optarg || (*colon && *colon != ':'))
				return cli_usage_error("layer create", "invalid --chown '%s' (want UID[:GID])", optarg);
			g = u;
			if (*colon == ':') {
				g = strtoul(colon + 1, &end, 10);
				if (end == colon + 1 || *end)
					return cli_usage_error("layer create", "invalid --chown '%s' (want UID[:GID])", optarg);
			}
			co.uid = (int64_t)u;
			co.gid = (int64_t)g;
			break;
		}
		case 'M':
			co.mode = (int)strtol(optarg, &end, 8);
			if (*end || !*optarg || co.mode < 0 || co.mode > 07777)
				return cli_usage_error("layer create", "invalid --chmod '%s'", optarg);
			break;
		case 'D': wo.docker_media_type = true; break;
		case 'W':
			wo.zstd_workers = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || wo.zstd_workers < 0)
				return cli_usage_error("layer create", "invalid --zstd-workers '%s'", optarg);
			if (wo.zstd_workers == 0)
				wo.zstd_workers = -1;
			break;
		default: return cli_option_error("layer create", argv, "o:c:l:", lo);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("layer create", "expects one DIR");
	if (!output)
		return cli_usage_error("layer create", "-o FILE is required");
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end || v < 0)
			return cli_usage_error("layer create", "invalid SOURCE_DATE_EPOCH '%s'", sde);
		co.mtime_clamp = v;
	}
	struct strata_error *err = NULL;
	bool to_stdout = !strcmp(output, "-");
	struct strata_atomic at = STRATA_ATOMIC_INIT;
	if (!to_stdout && strata_atomic_open(&at, output, 0644, &err) < 0)
		return cli_fail(err);
	struct strata_fd_sink fs = { to_stdout ? 1 : at.fd, output };
	struct strata_sink sink = STRATA_FD_SINK(&fs);
	struct layer_result res;
	if (layer_create_blob(argv[optind], &co, &wo, &sink, &res, &err) < 0 ||
	    (!to_stdout && strata_atomic_commit(&at, &err) < 0)) {
		strata_atomic_abort(&at);
		return cli_fail(err);
	}
	print_result(&res);
	return EXIT_OK;
}

/* Guess a media type from the first bytes when none is given. */
static const char *sniff(int fd)
{
	unsigned char m[4] = { 0 };
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return OCI_MT_LAYER_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return OCI_MT_LAYER_ZSTD;
	return OCI_MT_LAYER;
}

static int cmd_apply(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "media-type", required_argument, NULL, 'm' }, { "digest", required_argument, NULL, 'd' },
		{ "diff-id", required_argument, NULL, 'i' },    { "max-size", required_argument, NULL, 'S' },
		{ "devices", required_argument, NULL, 'V' },    { "overlay", no_argument, NULL, 'O' },
		{ "no-chown", no_argument, NULL, 'N' },         { NULL, 0, NULL, 0 },
	};
	struct layer_apply_opts o = { .devices = geteuid() == 0 ? LAYER_DEVICES_CREATE : LAYER_DEVICES_REJECT };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "m:", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'm': o.media_type = optarg; break;
		case 'd': o.digest = optarg; break;
		case 'i': o.diff_id = optarg; break;
		case 'S':
			o.max_size = strtoull(optarg, &end, 10);
			if (*end || !*optarg || o.max_size == 0)
				return cli_usage_error("layer apply", "invalid --max-size '%s'", optarg);
			break;
		case 'V':
			if (!strcmp(optarg, "reject")) o.devices = LAYER_DEVICES_REJECT;
			else if (!strcmp(optarg, "skip")) o.devices = LAYER_DEVICES_SKIP;
			else if (!strcmp(optarg, "create")) o.devices = LAYER_DEVICES_CREATE;
			else return cli_usage_error("layer apply", "unknown --devices '%s'", optarg);
			break;
		case 'O': o.overlay_whiteouts = true; break;
		case 'N': o.no_chown = true; break;
		default: return cli_option_error("layer apply", argv, "m:", lo);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("layer apply", "expects FILE and DIR");
	const char *file = argv[optind];
	struct strata_error *err = NULL;
	cleanup_close int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : dup(0);
	if (fd < 0) {
		strata_error_make(&err, errno, "open '%s'", file);
		return cli_fail(err);
	}
	if (!o.media_type)
		o.media_type = sniff(fd);
	struct layer_result res;
	if (layer_apply_fd(fd, argv[optind + 1], &o, &res, &err) < 0)
		return cli_fail(err);
	print_result(&res);
	return EXIT_OK;
}

static int cmd_treehash(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("layer treehash", "expects DIR");
	char out[LAYER_DIGEST_MAX];
	struct strata_error *err = NULL;
	int rc = argc == 2 ? layer_treehash(argv[1], out, &err)
			   : layer_treehash_paths(argv[1], (const char *const *)argv + 2, (size_t)argc - 2, out, &err);
	if (rc < 0)
		return cli_fail(err);
	printf("%s\n", out);
	return EXIT_OK;
}

static int cmd_layer(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (!strcmp(argv[1], "treehash"))
		return cmd_treehash(argc - 1, argv + 1);
	return cli_usage_error("layer", "unknown sub-command '%s'", argv[1]);
}
STRATA_HIDDEN_COMMAND(layer, "layer", "Create, apply and hash layers (internal, for tests and benchmarks)", cmd_layer);
