/*
 * progress.h — transfer progress for pull/push: bars redrawn in place on a
 * terminal (at most 10 times a second), one plain line per finished blob
 * otherwise (CI logs). Thread-safe: the registry client calls it from its
 * worker threads.
 */
#ifndef STRATA_CLI_PROGRESS_H
#define STRATA_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "registry/client.h"

struct cli_progress;

/* Render to out (a terminal gets bars unless plain). quiet: print nothing. */
struct cli_progress *cli_progress_new(FILE *out, bool quiet);
/* The callback to hand to the registry client. */
struct regclient_progress cli_progress_callback(struct cli_progress *p);
/* Final redraw; frees. NULL is a no-op. */
void cli_progress_free(struct cli_progress *p);

#endif
