/*
 * prune_select.c — the pure parts of build state garbage collection: which
 * records --filter until / --keep-storage select, and parsing their values.
 */
#include "build/build.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cmp_lru(const void *a, const void *b, void *ctx)
{
	const struct build_prune_item *v = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (v[i].last_used != v[j].last_used)
		return v[i].last_used < v[j].last_used ? -1 : 1;
	return i < j ? -1 : i > j;
}

void build_prune_select(struct build_prune_item *v, size_t n, time_t now, int64_t until, int64_t keep_storage)
{
	int64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].remove)
			continue;
		if (until > 0 && v[i].last_used <= now - until)
			v[i].remove = true;
		else
			total += v[i].size;
	}
	if (keep_storage < 0 || total <= keep_storage)
		return;
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!v[i].remove)
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), cmp_lru, v);
	for (size_t i = 0; i < k && total > keep_storage; i++) {
		v[order[i]].remove = true;
		total -= v[order[i]].size;
	}
	free(order);
}

int build_prune_parse_size(const char *s, int64_t *out, struct strata_error **err)
{
	static const struct {
		const char *name;
		int shift;
	} units[] = {
		{ "", 0 },    { "b", 0 },    { "k", 10 },  { "kb", 10 }, { "kib", 10 }, { "m", 20 },
		{ "mb", 20 }, { "mib", 20 }, { "g", 30 },  { "gb", 30 }, { "gib", 30 }, { "t", 40 },
		{ "tb", 40 }, { "tib", 40 },
	};
	cleanup_free char *num = NULL;
	const char *p = s;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (p == s || (p == s + 1 && *s == '.'))
		goto bad;
	num = xstrndup(s, (size_t)(p - s));
	errno = 0;
	char *end;
	double d = strtod(num, &end);
	if (errno || *end)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name))
			continue;
		double bytes = d * (double)((int64_t)1 << units[i].shift);
		if (bytes >= 9.2e18)
			return strata_error_makec(err, STRATA_E_USAGE, 0, "size '%s' is too large", s);
		*out = (int64_t)bytes;
		return 0;
	}
bad:
	return strata_error_makec(err, STRATA_E_USAGE, 0,
				  "invalid size '%s' (expected a number with an optional unit: B, KB, MB, GB, TB)", s);
}

int build_prune_parse_duration(const char *s, int64_t *out, struct strata_error **err)
{
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		goto bad;
	while (*p) {
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		char *end;
		long long n = strtoll(p, &end, 10);
		if (errno)
			goto bad;
		int64_t mul;
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: goto bad;
		}
		if (n > (INT64_MAX - total) / mul)
			return strata_error_makec(err, STRATA_E_USAGE, 0, "duration '%s' is too long", s);
		total += n * mul;
		p = end + 1;
	}
	*out = total;
	return 0;
bad:
	return strata_error_makec(err, STRATA_E_USAGE, 0,
				  "invalid duration '%s' (expected e.g. 30m, 24h, 7d, 1h30m)", s);
}

int build_prune_parse_filter(const char *s, struct build_prune_options *o, struct strata_error **err)
{
	const char *eq = strchr(s, '=');
	if (!eq || strncmp(s, "until", (size_t)(eq - s)) || eq - s != 5)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid filter '%s' (supported: until=DURATION)",
					  s);
	int64_t d;
	if (build_prune_parse_duration(eq + 1, &d, err) < 0)
		return strata_error_wrap(err, "filter '%s'", s);
	if (d <= 0)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "filter '%s': the duration must be positive", s);
	o->until = d;
	return 0;
}
