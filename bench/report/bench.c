/*
 * bench/report/bench.c — build_report_write for a synthetic 200-step build:
 * events fed through the recorder's listener as the engine sends them
 * (START, MISS/CACHED, OUTPUT lines, LAYER, BYTES, DONE), then the HTML and
 * the JSON report written N times each; prints the median time and size.
 * Also writes the recorder's JSON to ARGV[3] for the peer (jq / python).
 */
#include "build/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_write(const struct build_recorder *r, const char *path, int n)
{
	double *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		struct strata_error *err = NULL;
		double t0 = now();
		if (build_report_write(r, path, "registry.example/app:build-200", &err) < 0) {
			char *m = strata_error_string(err);
			fprintf(stderr, "bench: %s\n", m);
			exit(1);
		}
		t[i] = now() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	double m = t[n / 2];
	free(t);
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench DIR STEPS RUNS\n");
		return 2;
	}
	const char *dir = argv[1];
	int steps = atoi(argv[2]), runs = atoi(argv[3]);
	struct build_recorder r;
	build_recorder_init(&r);
	struct build_listener l = build_recorder_listener(&r);
	double t = 0;
	char name[256], digest[80], why[128];
	for (int i = 1; i <= steps; i++) {
		snprintf(name, sizeof(name),
			 "[%d/%d] RUN apt-get update && apt-get install -y --no-install-recommends package-%d "
			 "&& rm -rf /var/lib/apt/lists/*",
			 i, steps, i);
		struct build_event ev = { .kind = BUILD_EV_START, .vertex = i, .t = t, .text = name, .stage = 0,
					  .line = i + 1 };
		l.event(l.ctx, &ev);
		if (i % 3) {
			snprintf(why, sizeof(why), "src/module-%d/main.c changed", i);
			ev = (struct build_event){ .kind = BUILD_EV_MISS, .vertex = i, .t = t, .text = why };
			l.event(l.ctx, &ev);
			for (int k = 0; k < 20; k++) {
				ev = (struct build_event){ .kind = BUILD_EV_OUTPUT, .vertex = i, .t = t, .text = "output",
							   .len = 6, .stream = 1 + k % 2 };
				l.event(l.ctx, &ev);
			}
		}
		snprintf(digest, sizeof(digest), "sha256:%064d", i);
		ev = (struct build_event){ .kind = BUILD_EV_LAYER, .vertex = i, .t = t, .text = digest,
					   .size = (uint64_t)i * 100000 };
		l.event(l.ctx, &ev);
		ev = (struct build_event){ .kind = BUILD_EV_BYTES, .vertex = i, .t = t, .pulled = (uint64_t)i * 1000 };
		l.event(l.ctx, &ev);
		t += (i % 3) ? 0.05 * (i % 17) : 0.001;
		ev = (struct build_event){ .kind = i % 3 ? BUILD_EV_DONE : BUILD_EV_CACHED, .vertex = i, .t = t };
		l.event(l.ctx, &ev);
	}
	char html[4096], json[4096];
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(json, sizeof(json), "%s/report.json", dir);
	double th = median_write(&r, html, runs), tj = median_write(&r, json, runs);
	struct stat sh, sj;
	stat(html, &sh);
	stat(json, &sj);
	printf("steps=%d html_ms=%.3f html_bytes=%lld json_ms=%.3f json_bytes=%lld\n", steps, th * 1e3,
	       (long long)sh.st_size, tj * 1e3, (long long)sj.st_size);
	build_recorder_release(&r);
	return 0;
}
