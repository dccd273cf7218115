#!/bin/sh
# t7009: `strata registry serve` on a port in use fails with one clear
# error naming the address; libmicrohttpd's own line used to say "port 0".
. "$(dirname "$0")/lib.sh"

start_strata_registry

test_expect_success 'a second registry on the same address exits 1 naming it' '
    test_exit_code 1 timeout 20 "$STRATA_BIN" registry serve --root "$TRASH/r2" --addr "$SREG" \
        ${REG_BACKEND_READY:+--storage "$S3_URL" --metadata "$PG_URL"} 2>err &&
    cat err &&
    grep "listen on .$SREG.: Address already in use" err &&
    ! grep "port 0" err &&
    curl -sf "http://$SREG/v2/" >/dev/null
'

test_done
