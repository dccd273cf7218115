/* libFuzzer: arbitrary bytes as a layer (plain tar, or gzip/zstd by magic)
 * applied into a fresh temporary directory; must never crash, leak, or write
 * outside it. */
#include "layer/layer.h"
#include "util/util.h"

#include <stdint.h>
#include <string.h>

struct src {
	const uint8_t *p;
	size_t n, pos;
};

static ssize_t source(void *ctx, void *buf, size_t cap, struct strata_error **err)
{
	(void)err;
	struct src *s = ctx;
	size_t n = s->n - s->pos < cap ? s->n - s->pos : cap;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tmp = NULL;
	if (strata_mkdtemp("/tmp", "fuzz-layer-", &tmp, NULL) < 0)
		return 0;
	char *target = strata_path_join(tmp, "t");
	const char *mt = OCI_MT_LAYER;
	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		mt = OCI_MT_LAYER_GZIP;
	else if (size >= 4 && !memcmp(data, "\x28\xb5\x2f\xfd", 4))
		mt = OCI_MT_LAYER_ZSTD;
	struct layer_apply_opts o = { .media_type = mt, .max_size = 16 << 20, .devices = LAYER_DEVICES_REJECT };
	struct src s = { data, size, 0 };
	struct strata_error *err = NULL;
	layer_apply_source(source, &s, target, &o, NULL, &err);
	strata_error_free(err);
	strata_rm_rf(tmp, NULL);
	free(target);
	free(tmp);
	return 0;
}
