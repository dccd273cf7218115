/*
 * platform.c — build platforms: which ones run natively, and the others
 * through qemu-user-static registered in binfmt_misc (build.h,
 * build_platform_ensure; docs/internals/build.md "Platforms").
 *
 * RUN of a foreign platform is an ordinary RUN: the kernel hands the
 * foreign ELF to the interpreter binfmt_misc names. The entry must carry
 * the F (fix-binary) flag: the kernel then opened the interpreter when it
 * was registered, so it is found from inside the build's root (a chroot
 * with no qemu in it). Debian's binfmt-support registers qemu-user-static
 * so; when nothing is registered strata does what binfmt-support does, as
 * root: mount binfmt_misc (in strata's own mount namespace) and write the
 * line of /usr/lib/binfmt.d/qemu-ARCH.conf, F added, to `register`. That
 * registration stays (it is the kernel's, not strata's: the same state
 * `systemctl start systemd-binfmt` leaves). Rootless, the host's entries
 * serve; a missing one, on Linux >= 6.7, goes into a binfmt_misc instance of
 * strata's own user namespace mounted in its own mount namespace (over
 * /proc/sys/fs/binfmt_misc, else on a directory in /tmp), gone with the
 * process.
 */
#include "build/build_internal.h"
#include "build/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"
#define QEMU_CONF_DIR "/usr/lib/binfmt.d"

/* GOARCH name -> qemu's name for it */
static const struct {
	const char *arch, *qemu;
} qemu_names[] = {
	{ "amd64", "x86_64" }, { "arm64", "aarch64" }, { "arm", "arm" },          { "386", "i386" },
	{ "ppc64le", "ppc64le" }, { "ppc64", "ppc64" }, { "s390x", "s390x" },       { "riscv64", "riscv64" },
	{ "mips64le", "mips64el" }, { "mips64", "mips64" }, { "mipsle", "mipsel" }, { "mips", "mips" },
	{ "loong64", "loongarch64" },
};

const char *build_platform_qemu_name(const char *arch)
{
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(qemu_names); i++)
		if (!strcmp(qemu_names[i].arch, arch))
			return qemu_names[i].qemu;
	return NULL;
}

bool build_platform_native(const struct dockerfile_platform *p)
{
	struct dockerfile_platform host;
	dockerfile_platform_host(&host);
	if (strcmp(p->os, "linux"))
		return false;
	if (!strcmp(p->arch, host.arch))
		return true;
	/* what buildx lists as native: 32-bit x86 on x86-64 */
	return !strcmp(host.arch, "amd64") && !strcmp(p->arch, "386");
}

const char *build_platform_key(const struct dockerfile_platform *p, char *buf, size_t n)
{
	/* linux/<arch> keys as "<arch>" alone: the keys made before platforms
	 * were keyed in full (t5400's golden key) stay the same */
	if (!strcmp(p->os, "linux") && !p->variant[0]) {
		snprintf(buf, n, "%s", p->arch);
		return buf;
	}
	return dockerfile_platform_format(p, buf, n);
}

/* the entry's state: 1 usable, 0 absent, -1 present but unusable (*why set) */
static int entry_state(const char *dir, const char *name, char **why)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 64 * 1024, NULL) < 0)
		return 0;
	const char *t = b.data;
	if (strncmp(t, "enabled", 7) != 0) {
		*why = xasprintf("%s is registered in binfmt_misc but disabled (enable it: update-binfmts --enable %s)",
				 name, name);
		return -1;
	}
	const char *fl = strstr(t, "\nflags: ");
	bool fix = false;
	if (fl) {
		fl += 8;
		fix = memchr(fl, 'F', strcspn(fl, "\n")) != NULL;
	}
	if (!fix) {
		*why = xasprintf("%s is registered in binfmt_misc without the F (fix-binary) flag: its interpreter "
				 "cannot be found inside a build's root (remove it: echo -1 > %s/%s, then let strata "
				 "register it as root, or run update-binfmts --enable %s with qemu-user-static >= 1:2.12)",
				 name, BINFMT_DIR, name, name);
		return -1;
	}
	return 1;
}

/* the registration line of /usr/lib/binfmt.d/<name>.conf with F in its flags */
static int conf_line(const char *name, char **out, struct strata_error **err)
{
	cleanup_free char *path = xasprintf("%s/%s.conf", QEMU_CONF_DIR, name);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 64 * 1024, err) < 0)
		return -1;
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] != ':')
			continue; /* comments (# ;) and blank lines */
		size_t len = strlen(l);
		while (len && (l[len - 1] == ' ' || l[len - 1] == '\r'))
			l[--len] = 0;
		const char *flags = strrchr(l, ':');
		*out = strchr(flags, 'F') ? xstrdup(l) : xasprintf("%sF", l);
		return 0;
	}
	return strata_error_make(err, 0, "%s: no registration line", path);
}

static bool register_forbidden(void)
{
	const char *v = getenv("STRATA_BINFMT_REGISTER");
	return v && (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"));
}

/*
 * Serialises the check-and-register of this process's threads (stages
 * build in parallel) and guards own_dir; other processes registering the
 * same entry at once are handled by EEXIST, which the kernel answers to the
 * second writer.
 */
static pthread_mutex_t binfmt_lock = PTHREAD_MUTEX_INITIALIZER;
static char own_dir[64];

/*
 * Rootless: a binfmt_misc instance of our own user namespace (Linux >= 6.7),
 * mounted in our own mount namespace.
 * Once mounted it replaces the host's for this process and its children, so
 * it is made only when the host's lacks an entry; every later lookup reads
 * it. Under binfmt_lock. @return its path, or NULL (an older kernel).
 */
static const char *own_instance(void)
{
	if (own_dir[0])
		return own_dir;
	/* over the host's, in our own mount namespace: nothing is left behind */
	if (mount("binfmt_misc", BINFMT_DIR, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
		snprintf(own_dir, sizeof(own_dir), "%s", BINFMT_DIR);
		return own_dir;
	}
	char tmpl[] = "/tmp/strata-binfmt-XXXXXX";
	if (!mkdtemp(tmpl))
		return NULL;
	if (mount("binfmt_misc", tmpl, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		rmdir(tmpl);
		return NULL;
	}
	snprintf(own_dir, sizeof(own_dir), "%s", tmpl);
	return own_dir;
}

static int ensure_locked(const struct dockerfile_platform *p, const char *plat, struct strata_error **err)
{
	const char *q = build_platform_qemu_name(p->arch);
	if (!q)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "platform %s cannot run here: no emulator is known for architecture '%s' "
					  "(qemu-user-static covers amd64, arm64, arm, 386, ppc64le, s390x, riscv64, "
					  "mips64le, loong64)",
					  plat, p->arch);
	cleanup_free char *name = xasprintf("qemu-%s", q);
	cleanup_free char *why = NULL;
	bool rootless = sandbox_rootless();
	const char *dir = own_dir[0] ? own_dir : BINFMT_DIR;
	bool mounted = own_dir[0] || strata_path_exists(BINFMT_DIR "/status");
	int st = mounted ? entry_state(dir, name, &why) : 0;
	if (st > 0)
		return 0;
	if (st < 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "platform %s cannot run here: %s", plat, why);
	cleanup_free char *qemu = xasprintf("/usr/bin/qemu-%s-static", q);
	cleanup_free char *conf = xasprintf("%s/%s.conf", QEMU_CONF_DIR, name);
	if (!strata_path_exists(qemu) || !strata_path_exists(conf))
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "platform %s cannot run here: no %s (install it: apt-get install "
					  "qemu-user-static binfmt-support)",
					  plat, strata_path_exists(qemu) ? conf : qemu);
	bool forbidden = register_forbidden();
	if (!forbidden && rootless && !own_dir[0] && own_instance()) {
		dir = own_dir;
		mounted = true;
	}
	bool may = !forbidden && (rootless ? dir == own_dir : geteuid() == 0);
	if (!may)
		return strata_error_makec(
			err, STRATA_E_CONFIG, 0,
			"platform %s cannot run here: %s is not registered in binfmt_misc%s and strata may not "
			"register it (%s); as root run: update-binfmts --enable %s (package binfmt-support)",
			plat, name, mounted ? "" : " (not mounted)",
			forbidden  ? "STRATA_BINFMT_REGISTER=0"
			: rootless ? "rootless, and this kernel has no binfmt_misc per user namespace (Linux >= 6.7)"
				   : "not root",
			name);
	if (!mounted &&
	    mount("binfmt_misc", BINFMT_DIR, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
		return strata_error_makec(err, STRATA_E_CONFIG, errno,
					  "platform %s cannot run here: mount binfmt_misc on %s", plat, BINFMT_DIR);
	st = entry_state(dir, name, &why);
	if (st > 0)
		return 0;
	if (st < 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "platform %s cannot run here: %s", plat, why);
	cleanup_free char *line = NULL;
	if (conf_line(name, &line, err) < 0)
		return strata_error_wrap(err, "platform %s", plat);
	cleanup_free char *reg = xasprintf("%s/register", dir);
	int fd = open(reg, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_makec(err, STRATA_E_CONFIG, errno, "platform %s cannot run here: open '%s'", plat,
					  reg);
	ssize_t w = write(fd, line, strlen(line));
	int e = errno;
	close(fd);
	if (w < 0 && e != EEXIST) /* EEXIST: another process registered it just now */
		return strata_error_makec(err, STRATA_E_CONFIG, e, "platform %s cannot run here: register %s in '%s'",
					  plat, name, reg);
	st = entry_state(dir, name, &why);
	if (st > 0)
		return 0;
	return strata_error_makec(err, STRATA_E_CONFIG, 0, "platform %s cannot run here: %s", plat,
				  why ? why : "the registration did not take");
}

int build_platform_ensure(const struct dockerfile_platform *p, bool *emulated, struct strata_error **err)
{
	char plat[128];
	dockerfile_platform_format(p, plat, sizeof(plat));
	if (emulated)
		*emulated = false;
	if (strcmp(p->os, "linux"))
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "platform %s cannot run here: only linux images run on this host", plat);
	if (build_platform_native(p))
		return 0;
	pthread_mutex_lock(&binfmt_lock);
	int rc = ensure_locked(p, plat, err);
	pthread_mutex_unlock(&binfmt_lock);
	if (rc == 0 && emulated)
		*emulated = true;
	return rc;
}

int build_platform_of_config(const json_t *config, struct dockerfile_platform *out)
{
	const char *os = json_string_value(json_object_get(config, "os"));
	const char *arch = json_string_value(json_object_get(config, "architecture"));
	const char *variant = json_string_value(json_object_get(config, "variant"));
	if (!arch || !*arch)
		return -1;
	cleanup_free char *s = xasprintf("%s/%s%s%s", os && *os ? os : "linux", arch, variant && *variant ? "/" : "",
					 variant && *variant ? variant : "");
	return dockerfile_platform_parse(s, out, NULL);
}

bool build_platform_equal(const struct dockerfile_platform *a, const struct dockerfile_platform *b)
{
	return !strcmp(a->os, b->os) && !strcmp(a->arch, b->arch) && !strcmp(a->variant, b->variant);
}

bool build_platform_satisfies(const struct dockerfile_platform *have, const struct dockerfile_platform *want)
{
	return !strcmp(have->os, want->os) && !strcmp(have->arch, want->arch) &&
	       (!want->variant[0] || !strcmp(have->variant, want->variant));
}

void engine_stage_platform(const struct engine *e, size_t si, struct dockerfile_platform *out)
{
	const struct dockerfile_stage *sg = &e->b->stages[si];
	if (sg->platform && dockerfile_platform_parse(sg->platform, out, NULL) == 0)
		return;
	if (sg->base_type == DF_BASE_STAGE && sg->base_stage >= 0 && (size_t)sg->base_stage < si) {
		engine_stage_platform(e, (size_t)sg->base_stage, out);
		return;
	}
	*out = e->b->target_platform;
}
