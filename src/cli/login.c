#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/regopts.h"

#define PASSWORD_MAX 4096

/* A password: wiped before it is freed. */
static void secret_free(char **p)
{
	if (*p)
		explicit_bzero(*p, strlen(*p));
	free(*p);
}
#define cleanup_secret __attribute__((cleanup(secret_free)))

static void usage(void)
{
	printf("Usage: strata login [-u USER] [-p PASSWORD | --password-stdin] [OPTIONS] HOST\n\n"
	       "Check credentials against the registry HOST, then save them in docker's\n"
	       "config.json ($DOCKER_CONFIG or ~/.docker), or through its credsStore /\n"
	       "credHelpers program, so docker, skopeo and strata share them.\n\n"
	       "Options:\n"
	       "  -u, --username USER             user name (asked on a terminal when missing)\n"
	       "  -p, --password PASSWORD         password (visible to other users: prefer --password-stdin)\n"
	       "      --password-stdin            read the password from standard input\n" CLI_REGOPTS_HELP
	       "  -h, --help                      show this help\n");
}

/* Read one line from fd (no echo on a terminal). @return 0 or -1. */
static int read_line(FILE *f, bool hide, const char *prompt, char **out)
{
	struct termios old, now;
	bool tty = hide && isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0;
	if (prompt)
		fprintf(stderr, "%s", prompt);
	if (tty) {
		now = old;
		now.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &now);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (n < 0 || n > PASSWORD_MAX) {
		free(line);
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	*out = line;
	return 0;
}

static int cmd_login(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct regclient_opts o cleanup_regopts = { 0 };
	cleanup_free char *user = NULL, *host = NULL;
	cleanup_secret char *pass = NULL;
	bool from_stdin = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+u:p:h", longopts, NULL)) != -1) {
		if (cli_regopts_handle(&o, opt, optarg))
			continue;
		switch (opt) {
		case 'u':
			free(user);
			user = xstrdup(optarg);
			break;
		case 'p':
			free(pass);
			pass = xstrdup(optarg);
			break;
		case 'P':
			from_stdin = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error("login", argv, "+u:p:h", longopts);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("login", "expected one registry HOST");
	if (pass && from_stdin)
		return cli_usage_error("login", "--password and --password-stdin are exclusive");
	host = regclient_host_from_key(argv[optind]);
	if (!*host)
		return cli_usage_error("login", "empty registry host");
	if (!user) {
		if (from_stdin || !isatty(STDIN_FILENO))
			return cli_usage_error("login", "--username is required when standard input is not a terminal");
		if (read_line(stdin, false, "Username: ", &user) < 0 || !*user)
			return cli_usage_error("login", "no user name given");
	}
	if (pass) {
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	} else if (from_stdin) {
		if (read_line(stdin, false, NULL, &pass) < 0)
			return cli_usage_error("login", "no password on standard input");
	} else if (isatty(STDIN_FILENO)) {
		if (read_line(stdin, true, "Password: ", &pass) < 0)
			return cli_usage_error("login", "no password given");
	} else {
		return cli_usage_error("login", "no password: use --password-stdin");
	}
	if (!pass || !*pass)
		return cli_usage_error("login", "empty password");

	struct strata_error *err = NULL;
	struct regclient *c = NULL;
	if (cli_regclient_new(&o, &c, &err) < 0)
		return cli_fail(err);
	regclient_set_credentials(c, host, user, pass);
	int r = regclient_ping(c, host, &err);
	regclient_free(c);
	if (r < 0) {
		strata_error_wrap(&err, "login %s", host);
		bool auth = strata_error_code(err) == STRATA_E_AUTH;
		int rc = cli_fail(err);
		if (auth)
			fprintf(stderr, "strata: nothing was saved: the stored credentials for %s, if any, are unchanged\n",
				host);
		return rc;
	}
	if (regclient_creds_store(o.docker_config, host, user, pass, &err) < 0) {
		strata_error_wrap(&err, "login %s: save credentials", host);
		return cli_fail(err);
	}
	printf("Login Succeeded\n");
	return EXIT_OK;
}
STRATA_COMMAND(login, "login", "Log in to a registry (saves docker-compatible credentials)", cmd_login);
