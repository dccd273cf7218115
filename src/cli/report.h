/*
 * report.h — `--report FILE` of `strata build` and $STRATA_REPORT of
 * `strata ci`: a recorder on the build's event stream (build/events.h),
 * written after the build whether it succeeded or not.
 */
#ifndef STRATA_CLI_REPORT_H
#define STRATA_CLI_REPORT_H

#include "build/build.h"

struct cli_report {
	const char *path;              /* NULL: no report */
	struct build_recorder rec;
	struct build_listener listener;
};

/*
 * Start recording when path is set (else a no-op). @return 0, or -1 with
 * a STRATA_E_USAGE error when path does not end in .html or .json.
 */
int cli_report_open(struct cli_report *r, const char *path, struct strata_error **err);
/* The listener for build_options.listener (NULL without a report). */
const struct build_listener *cli_report_listener(struct cli_report *r);
/* Write the report (a failure is a warning: the build's result stands); release. */
void cli_report_close(struct cli_report *r, const char *title);

#endif
