/* bench: parse + resolve a Dockerfile ITER times in process; print the median
 * and the 95th percentile in microseconds. Usage: bench FILE ITER */
#include "dockerfile/dockerfile.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int iter = atoi(argv[2]);
	FILE *f = fopen(argv[1], "re");
	if (!f)
		return 1;
	static char data[1 << 22];
	size_t len = fread(data, 1, sizeof(data), f);
	fclose(f);
	double *t = calloc((size_t)iter, sizeof(double));
	for (int i = 0; i < iter; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		struct dockerfile *df = NULL;
		struct dockerfile_build *bd = NULL;
		struct strata_error *err = NULL;
		if (dockerfile_parse(data, len, "Dockerfile", &df, &err) < 0 ||
		    dockerfile_resolve(df, NULL, &bd, &err) < 0) {
			char *s = strata_error_string(err);
			fprintf(stderr, "bench: %s\n", s);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		dockerfile_build_free(bd);
		dockerfile_free(df);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(t, (size_t)iter, sizeof(double), cmp);
	printf("%d runs: median %.0f us, p95 %.0f us, min %.0f us\n", iter, t[iter / 2],
	       t[(int)(iter * 0.95)], t[0]);
	free(t);
	return 0;
}
