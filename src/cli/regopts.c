#include "cli/regopts.h"

#include <getopt.h>
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


int cli_parallel_parse(const char *verb, const char *arg, int *out)
{
	unsigned long v;
	if (cli_parse_number(arg, 1, 64, &v) < 0)
		return cli_usage_error(verb, "--parallel must be between 1 and 64, not '%s'", arg);
	*out = (int)v;
	return 0;
}

int cli_xfer_opts_parse(const char *verb, int argc, char **argv, void (*usage)(void), struct regclient_opts *o,
			const char **platform, bool *quiet)
{
	static const struct option with_platform[] = {
		{ "platform", required_argument, NULL, 'P' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct option *longopts = platform ? with_platform : with_platform + 1;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+j:qh", longopts, NULL)) != -1) {
		if (cli_regopts_handle(o, opt, optarg))
			continue;
		switch (opt) {
		case 'P':
			*platform = optarg;
			break;
		case 'j':
			if (cli_parallel_parse(verb, optarg, &o->parallel) != 0)
				return EXIT_USAGE;
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error(verb, argv, "+j:qh", longopts);
		}
	}
	return -1;
}
