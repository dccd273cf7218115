#include "cli/regopts.h"

#include <string.h>

#include "cli/cli.h"

int cli_regopts_handle(struct regclient_opts *o, int opt, const char *arg)
{
	if (opt == CLI_OPT_INSECURE) {
		regclient_opts_add_insecure(o, arg);
		return 1;
	}
	if (opt == CLI_OPT_TLS_CA) {
		free(o->ca_file);
		o->ca_file = xstrdup(arg);
		return 1;
	}
	return 0;
}

int cli_regclient_new(struct regclient_opts *o, struct regclient **out, struct strata_error **err)
{
	if (regclient_opts_load_env(o, err) < 0)
		return -1;
	if (o->ca_file && !strata_path_exists(o->ca_file))
		return strata_error_makec(err, STRATA_E_USAGE, ENOENT, "--tls-ca '%s'", o->ca_file);
	return regclient_new(o, out, err);
}

char *cli_registry_host(const char *arg)
{
	const char *p = arg;
	if (!strncmp(p, "https://", 8))
		p += 8;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	size_t n = strcspn(p, "/");
	char *h = xstrndup(p, n);
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}
