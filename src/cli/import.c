#include "cli/cli_store.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata import [OPTIONS] ROOTFS.tar[.gz]|- REF\n"
		   "\n"
		   "Make a one-layer image from a root file system tarball (plain or gzip).\n"
		   "\n"
		   "Options:\n"
		   "  -c, --change INSTR   apply a Dockerfile instruction to the config:\n"
		   "                       CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL (repeatable)\n"
		   "  -m, --message TEXT   history comment\n"
		   "      --compression C  layer compression: gzip (default), zstd or none\n"
		   "  -h, --help           show this help\n");
}

/* CMD ["a","b"] (JSON) or CMD a b (shell form -> /bin/sh -c) */
static json_t *exec_form(const char *arg, const char *instr, struct strata_error **err)
{
	if (arg[0] == '[') {
		json_t *j = NULL;
		if (strata_json_parse(arg, strlen(arg), instr, &j, err) < 0)
			return NULL;
		if (oci_json_check_string_array(j, instr, err) < 0) {
			json_decref(j);
			return NULL;
		}
		return j;
	}
	return json_pack("[s,s,s]", "/bin/sh", "-c", arg);
}

static int apply_change(json_t *cfg, const char *change, struct strata_error **err)
{
	const char *sp = change + strcspn(change, " \t");
	cleanup_free char *instr = xstrndup(change, (size_t)(sp - change));
	while (*sp == ' ' || *sp == '\t')
		sp++;
	for (char *c = instr; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	if (!*sp)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--change '%s': missing argument", change);
	if (!strcmp(instr, "CMD") || !strcmp(instr, "ENTRYPOINT")) {
		json_t *v = exec_form(sp, instr, err);
		if (!v)
			return strata_error_wrap(err, "--change '%s'", change);
		json_object_set_new(cfg, !strcmp(instr, "CMD") ? "Cmd" : "Entrypoint", v);
	} else if (!strcmp(instr, "WORKDIR") || !strcmp(instr, "USER")) {
		json_object_set_new(cfg, !strcmp(instr, "USER") ? "User" : "WorkingDir", json_string(sp));
	} else if (!strcmp(instr, "ENV") || !strcmp(instr, "LABEL")) {
		const char *eq = strchr(sp, '=');
		if (!eq || eq == sp)
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--change '%s': expected KEY=VALUE", change);
		if (!strcmp(instr, "LABEL")) {
			json_t *l = json_object_get(cfg, "Labels");
			if (!l) {
				l = json_object();
				json_object_set_new(cfg, "Labels", l);
			}
			cleanup_free char *k = xstrndup(sp, (size_t)(eq - sp));
			json_object_set_new(l, k, json_string(eq + 1));
		} else {
			json_t *env = json_object_get(cfg, "Env");
			size_t kl = (size_t)(eq - sp) + 1;
			for (size_t i = 0; i < json_array_size(env); i++) {
				if (!strncmp(json_string_value(json_array_get(env, i)), sp, kl)) {
					json_array_remove(env, i);
					break;
				}
			}
			json_array_append_new(env, json_string(sp));
		}
	} else {
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--change '%s': unsupported instruction '%s'",
					  change, instr);
	}
	return 0;
}

static int write_image(struct store *s, int fd, const char *file, const struct oci_ref *ref, json_t *exec,
		       const char *ts, const char *msg, enum oci_compression comp, struct strata_error **err)
{
	struct oci_digest diff_id, ld, cd, md;
	int64_t lsize = 0;
	const char *lmt = NULL;
	if (cli_import_layer(s, fd, file, comp, &diff_id, &ld, &lsize, &lmt, err) < 0)
		return strata_error_wrap(err, "import '%s'", file);
	cleanup_free char *created_by = xasprintf("strata import %s", file);
	cleanup_json json_t *hist = json_pack("{s:s, s:s}", "created", ts, "created_by", created_by);
	if (msg)
		json_object_set_new(hist, "comment", json_string(msg));
	cleanup_json json_t *cfg = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:[O]}", "created", ts,
					     "architecture", oci_platform_host_arch(), "os", "linux", "config",
					     exec, "rootfs", "type", "layers", "diff_ids", diff_id.str,
					     "history", hist);
	size_t clen, mlen;
	cleanup_free char *ctext = strata_json_dump(cfg, &clen);
	if (store_blob_put(s, ctext, clen, NULL, &cd, err) < 0)
		return -1;
	json_t *layers = json_array();
	json_array_append_new(layers, oci_descriptor_new(lmt, ld.str, lsize));
	cleanup_json json_t *man = oci_manifest_new(oci_descriptor_new(OCI_MT_CONFIG, cd.str, (int64_t)clen), layers);
	cleanup_free char *mtext = strata_json_dump(man, &mlen);
	if (store_blob_put(s, mtext, mlen, NULL, &md, err) < 0)
		return -1;
	if (store_tag_set(s, ref, OCI_MT_MANIFEST, &md, (int64_t)mlen, err) < 0)
		return -1;
	printf("%s\n", cd.str);
	return 0;
}

static int do_import(const char *file, const char *refs, char **changes, size_t n_changes, const char *msg,
		     enum oci_compression comp,
		     struct strata_error **err)
{
	cleanup_ref struct oci_ref ref = OCI_REF_INIT;
	if (oci_ref_parse(refs, &ref, err) < 0)
		return -1;
	if (ref.digest)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "cannot import to '%s': a digest is not a tag", refs);
	time_t now = time(NULL);
	char ts[32];
	oci_time_format(now, ts, sizeof(ts));
	cleanup_json json_t *exec = json_pack("{s:[s]}", "Env",
					      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (size_t i = 0; i < n_changes; i++)
		if (apply_change(exec, changes[i], err) < 0)
			return -1;
	cleanup_close int fd = !strcmp(file, "-") ? dup(0) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", file);

	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	int r = write_image(s, fd, file, &ref, exec, ts, msg, comp, err);
	store_close(s);
	return r;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "compression", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **changes = xcalloc((size_t)argc, sizeof(*changes));
	size_t n_changes = 0;
	const char *msg = NULL;
	enum oci_compression comp = OCI_COMPRESSION_GZIP;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			changes[n_changes++] = optarg;
			break;
		case 'm':
			msg = optarg;
			break;
		case 'z':
			if (!strcmp(optarg, "gzip"))
				comp = OCI_COMPRESSION_GZIP;
			else if (!strcmp(optarg, "zstd"))
				comp = OCI_COMPRESSION_ZSTD;
			else if (!strcmp(optarg, "none"))
				comp = OCI_COMPRESSION_NONE;
			else {
				free(changes);
				return cli_usage_error("import", "--compression must be gzip, zstd or none");
			}
			break;
		case 'h':
			usage(stdout);
			free(changes);
			return EXIT_OK;
		default:
			free(changes);
			return cli_option_error("import", argv, "+c:m:h", opts);
		}
	}
	if (argc - optind != 2) {
		free(changes);
		return cli_usage_error("import", "needs ROOTFS.tar and REF");
	}
	struct strata_error *err = NULL;
	int r = do_import(argv[optind], argv[optind + 1], changes, n_changes, msg, comp, &err);
	free(changes);
	return r < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(import, "import", "Create an image from a root file system tarball", cmd_import);
