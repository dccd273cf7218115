/*
 * info.c — `strata info`: what a user pastes into a bug report: version,
 * store path and size, the isolation in use (build/sandbox.h), the overlay
 * driver, kernel features found, and where credentials come from.
 */
#include "build/sandbox.h"
#include "cli/cli.h"
#include "registry/client.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata info [--format text|json]\n"
		   "\n"
		   "Show the version, the store (path and size), the isolation in use (root,\n"
		   "rootless with N subordinate ids, the overlay driver: kernel overlayfs,\n"
		   "fuse-overlayfs), kernel features found and where registry credentials come from.\n"
		   "\n"
		   "      --format text|json   output format (default text)\n");
}

/* bytes used under dirfd (st_blocks; hard links counted once per directory walk, not deduplicated) */
static unsigned long long du(int dirfd, int depth)
{
	if (depth > 64)
		return 0;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	unsigned long long sum = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += (unsigned long long)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				sum += du(sub, depth + 1);
		}
	}
	closedir(d);
	return sum;
}


static char *first_line(const char *path)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 1 << 16, NULL) < 0)
		return NULL;
	char *s = strata_buf_detach(&b, NULL);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static const char *overlay_name(enum sandbox_overlay o)
{
	switch (o) {
	case SANDBOX_OVERLAY_KERNEL: return sandbox_rootless() ? "kernel overlayfs (userxattr)" : "kernel overlayfs";
	case SANDBOX_OVERLAY_FUSE: return "fuse-overlayfs";
	case SANDBOX_OVERLAY_COPY: return "copy (no overlay: the lowers are copied for every step)";
	case SANDBOX_OVERLAY_NONE: return "none";
	default: return "not probed";
	}
}

static json_t *collect(void)
{
	const struct sandbox_info *si = sandbox_get();
	cleanup_free char *root = cli_store_root();
	json_t *o = json_object();
	json_object_set_new(o, "version", json_string(STRATA_VERSION));
	json_object_set_new(o, "gitrev", json_string(STRATA_GITREV));

	unsigned long long size = 0;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool exists = fd >= 0;
	if (fd >= 0)
		size = du(fd, 0);
	json_object_set_new(o, "store", json_pack("{s:s,s:b,s:I}", "path", root, "exists", exists, "bytes",
						   (json_int_t)size));

	json_t *iso = json_object();
	const char *mode = si->isolation == SANDBOX_ROOT ? "root"
			   : si->isolation == SANDBOX_ROOTLESS ? "rootless" : "unavailable";
	json_object_set_new(iso, "mode", json_string(mode));
	json_object_set_new(iso, "uid", json_integer(si->host_uid));
	json_object_set_new(iso, "gid", json_integer(si->host_gid));
	if (si->isolation == SANDBOX_ROOTLESS) {
		json_object_set_new(iso, "subuids", json_integer((json_int_t)si->subuids));
		json_object_set_new(iso, "subgids", json_integer((json_int_t)si->subgids));
	}
	if (si->denied)
		json_object_set_new(iso, "denied", json_string(si->denied));
	if (si->isolation != SANDBOX_UNAVAILABLE && sandbox_mount_namespace(NULL) == 0) {
		/* probe where builds mount: the store's tmp dir when it exists */
		cleanup_free char *tmp = xasprintf("%s/build/tmp", root);
		enum sandbox_overlay ov = sandbox_overlay_driver(strata_path_exists(tmp) ? tmp : NULL);
		json_object_set_new(iso, "overlay", json_string(overlay_name(ov)));
		json_object_set_new(iso, "snapshotter", json_string(sandbox_snapshotter_name(ov)));
		if (si->overlay_why)
			json_object_set_new(iso, "overlay_note", json_string(si->overlay_why));
	}
	json_object_set_new(o, "isolation", iso);

	json_t *k = json_object();
	struct utsname u;
	if (uname(&u) == 0)
		json_object_set_new(k, "release", json_string(u.release));
	cleanup_buf struct strata_buf fs = STRATA_BUF_INIT;
	bool ovl = strata_read_file("/proc/filesystems", &fs, 1 << 20, NULL) == 0 && strstr(fs.data, "\toverlay\n");
	json_object_set_new(k, "overlayfs", json_boolean(ovl));
	json_object_set_new(k, "fuse", json_boolean(access("/dev/fuse", R_OK | W_OK) == 0));
	json_object_set_new(k, "fuse-overlayfs", json_boolean(strata_exe_on_path("fuse-overlayfs")));
	json_object_set_new(k, "newuidmap", json_boolean(strata_exe_on_path("newuidmap") && strata_exe_on_path("newgidmap")));
	static const char *const sysctls[][2] = {
		{ "user.max_user_namespaces", "/proc/sys/user/max_user_namespaces" },
		{ "kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone" },
		{ "kernel.apparmor_restrict_unprivileged_userns", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns" },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(sysctls); i++) {
		cleanup_free char *v = first_line(sysctls[i][1]);
		if (v)
			json_object_set_new(k, sysctls[i][0], json_string(v));
	}
	json_object_set_new(o, "kernel", k);
	json_object_set_new(o, "credentials", regclient_creds_describe(NULL));
	return o;
}

static void human(unsigned long long b, char *buf, size_t n)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t i = 0;
	while (v >= 1024 && i + 1 < STRATA_ARRAY_SIZE(u)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void print_text(json_t *o)
{
	json_t *st = json_object_get(o, "store"), *iso = json_object_get(o, "isolation"),
	       *k = json_object_get(o, "kernel"), *cr = json_object_get(o, "credentials");
	printf("version:     %s (%s)\n", json_string_value(json_object_get(o, "version")),
	       json_string_value(json_object_get(o, "gitrev")));
	char sz[32];
	human((unsigned long long)json_integer_value(json_object_get(st, "bytes")), sz, sizeof(sz));
	printf("store:       %s (%s)\n", json_string_value(json_object_get(st, "path")),
	       json_is_true(json_object_get(st, "exists")) ? sz : "not created yet");
	const char *mode = json_string_value(json_object_get(iso, "mode"));
	long uid = (long)json_integer_value(json_object_get(iso, "uid"));
	if (!strcmp(mode, "root"))
		printf("isolation:   root");
	else if (!strcmp(mode, "rootless") && json_integer_value(json_object_get(iso, "subuids")))
		printf("isolation:   rootless (uid %ld, user namespace with %lld subordinate uids and %lld gids)", uid,
		       json_integer_value(json_object_get(iso, "subuids")),
		       json_integer_value(json_object_get(iso, "subgids")));
	else if (!strcmp(mode, "rootless"))
		printf("isolation:   rootless (uid %ld, user namespace without subordinate ids: only uid 0 in builds)",
		       uid);
	else
		printf("isolation:   unavailable: %s", json_string_value(json_object_get(iso, "denied")));
	const char *snap = json_string_value(json_object_get(iso, "snapshotter"));
	if (snap && strcmp(snap, "overlay") && strcmp(mode, "unavailable"))
		printf(", %s", snap);
	printf("\n");
	if (json_object_get(iso, "overlay"))
		printf("overlay:     %s\n", json_string_value(json_object_get(iso, "overlay")));
	if (json_object_get(iso, "overlay_note"))
		printf("             (%s)\n", json_string_value(json_object_get(iso, "overlay_note")));
	printf("kernel:      %s; overlayfs %s, /dev/fuse %s, fuse-overlayfs %s, newuidmap %s\n",
	       json_string_value(json_object_get(k, "release")) ? json_string_value(json_object_get(k, "release")) : "?",
	       json_is_true(json_object_get(k, "overlayfs")) ? "yes" : "no",
	       json_is_true(json_object_get(k, "fuse")) ? "yes" : "no",
	       json_is_true(json_object_get(k, "fuse-overlayfs")) ? "yes" : "no",
	       json_is_true(json_object_get(k, "newuidmap")) ? "yes" : "no");
	const char *key;
	json_t *v;
	json_object_foreach(k, key, v) if (strchr(key, '.')) printf("             %s = %s\n", key, json_string_value(v));
	printf("credentials: %s (%s)", json_string_value(json_object_get(cr, "config")),
	       json_is_true(json_object_get(cr, "exists")) ? "present" : "absent");
	if (json_object_get(cr, "error"))
		printf(": %s", json_string_value(json_object_get(cr, "error")));
	if (json_array_size(json_object_get(cr, "auths")))
		printf(", %zu registr%s in auths", json_array_size(json_object_get(cr, "auths")),
		       json_array_size(json_object_get(cr, "auths")) == 1 ? "y" : "ies");
	if (json_string_value(json_object_get(cr, "credsStore")))
		printf(", credsStore %s", json_string_value(json_object_get(cr, "credsStore")));
	if (json_object_size(json_object_get(cr, "credHelpers")))
		printf(", %zu credHelpers", json_object_size(json_object_get(cr, "credHelpers")));
	printf("\n");
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "text";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'F': format = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_usage_error("info", "invalid option");
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return cli_usage_error("info", "--format must be text or json, not '%s'", format);
	if (optind < argc)
		return cli_usage_error("info", "takes no arguments");
	cleanup_json json_t *o = collect();
	if (!strcmp(format, "json")) {
		cleanup_free char *s = strata_json_dump_pretty(o);
		fputs(s, stdout);
	} else {
		print_text(o);
	}
	return EXIT_OK;
}
STRATA_COMMAND(info, "info", "Show version, store, isolation mode and kernel features", cmd_info);
