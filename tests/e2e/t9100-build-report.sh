#!/bin/sh
# t9100: strata build --report FILE.html|FILE.json and STRATA_REPORT of
# strata ci: the build's event stream as a page a CI job keeps (issue 18).
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
start_strata_registry

test_expect_success 'a first build with --report writes a page and JSON' '
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo out-1; sleep 0.3; echo err-1 >&2\nCOPY msg /msg\nRUN cat /msg >/copied\n" >ctx/Dockerfile &&
    echo one >ctx/msg &&
    strata build --progress plain -t rep:1 --report r1.json ctx 2>log &&
    grep "^strata: build report written to r1.json$" log &&
    jq -e ".title == \"rep:1\" and .totals.run == 4 and .totals.cached == 0" r1.json &&
    jq -e "[.steps[] | select(.name == \"[3/5] RUN echo out-1; sleep 0.3; echo err-1 >&2\")][0] | .status == \"run\" and .output_lines == 2 and .duration >= 0.3 and .line == 3" r1.json
'

test_expect_success 'a second build: cached rows, a miss with its reason, slowest first' '
    echo two >ctx/msg &&
    strata build --progress plain -t rep:1 --report r2.html ctx 2>log &&
    grep "^strata: build report written to r2.html$" log &&
    grep -c "<tr class=\"cached\"" r2.html >n && test "$(cat n)" = 2 &&
    grep "<tr class=\"run\" id=\"v6\"><td class=\"n\">6</td><td class=\"name\">\[4/5\] COPY msg /msg</td><td><span class=\"st\">run</span><div class=\"why\">msg changed</div>" r2.html &&
    grep "<div class=\"why\">parent step missed</div>" r2.html &&
    grep "1 step cached\|2 steps cached, 2 run" r2.html &&
    sed -n "s/.*<td class=\"n\">\([0-9.]*\)s<\/td>.*/\1/p" r2.html >times &&
    test "$(wc -l <times)" -ge 7 &&
    sort -rn times >sorted && cmp times sorted
'

test_expect_success 'the page is self-contained: no script, nothing fetched' '
    ! grep -i "<script\|src=\|href=\|@import\|url(" r2.html &&
    grep "Content-Security-Policy\" content=\"default-src .none.; style-src .unsafe-inline.\"" r2.html
'

test_expect_success 'a failed build still writes its report, the failing step marked' '
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo before; exit 3\n" >ctx/Dockerfile.bad &&
    test_must_fail strata build --progress plain -f ctx/Dockerfile.bad --report bad.json ctx 2>log &&
    jq -e "[.steps[] | select(.status == \"error\")][0] | (.name | contains(\"RUN echo before; exit 3\")) and (.error | contains(\"exit status 3\"))" bad.json
'

test_expect_success '--report needs .html or .json (exit 2, nothing built)' '
    test_exit_code 2 strata build --report r.txt ctx 2>err &&
    grep "^strata build: --report .r.txt.: the file name must end in .html or .json$" err
'

test_expect_success 'build --push: upload progress and bytes pushed per step in the report' '
    strata build --progress plain -t $SREG/rep:1 --push --report push.json ctx 2>log &&
    grep "^sha256:[0-9a-f]\{12\}: pushed ([0-9]*\.[0-9] [kM]B)$" log &&
    grep "^pushed $SREG/rep:1: [0-9]* blobs uploaded ([0-9]*\.[0-9] MB)" log &&
    jq -e "[.steps[] | select(.name == \"[2/5] COPY rootfs/ /\")][0] | .pushed == .layer_size and .pushed > 100000" push.json &&
    jq -e ".totals.pushed > 100000" push.json
'

test_expect_success 'strata ci writes the report when STRATA_REPORT is set' '
    STRATA_REPORT=$TRASH/ci.html strata ci --image rep --registry $SREG --revision 0123456789abcdef0123456789abcdef01234567 --build-number 7 --progress plain ctx >/dev/null 2>log &&
    grep "^strata: build report written to $TRASH/ci.html$" log &&
    grep -c "<tr class=" ci.html >n && test "$(cat n)" -ge 7
'

if ! command -v chromium >/dev/null 2>&1; then
    test_expect_success 'headless chromium (skipped: chromium is not installed)' 'true'
    test_done
fi

# chromium with no network at all: every host resolves nowhere
chrome() {
    HOME=$TRASH/chrome-home timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --host-resolver-rules="MAP * ~NOTFOUND" --no-first-run --user-data-dir="$TRASH/chrome-profile" "$@"
}

test_expect_success 'headless chromium renders the step rows (DOM and screenshot)' '
    chrome --dump-dom "file://$TRASH/r2.html" >dom 2>chrome.log &&
    grep "<table id=\"steps\">" dom &&
    grep -c "<tr class=\"\(run\|cached\|done\)\" id=\"v[0-9]*\">" dom >n && test "$(cat n)" -ge 7 &&
    grep "COPY msg /msg" dom && grep "msg changed" dom &&
    chrome --screenshot="$TRASH/shot.png" --window-size=1100,500 "file://$TRASH/r2.html" >>chrome.log 2>&1 &&
    test "$(head -c 8 shot.png | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a &&
    test "$(wc -c <shot.png)" -gt 10000 &&
    python3 - "$TRASH/shot.png" <<-\PY
	# the rows are drawn: the orange "run" and blue "cached" bars are on the page
	import sys, zlib, struct
	d = open(sys.argv[1], "rb").read()
	w, h, depth, ctype = struct.unpack(">IIBB", d[16:26])
	raw = b""; i = 8
	while i < len(d):
	    n = struct.unpack(">I", d[i:i+4])[0]; t = d[i+4:i+8]
	    if t == b"IDAT": raw += d[i+8:i+8+n]
	    i += 12 + n
	px = zlib.decompress(raw); bpp = 4 if ctype == 6 else 3; stride = w * bpp
	rows, prev, colours = [], bytearray(stride), set()
	p = 0
	for y in range(h):
	    f = px[p]; line = bytearray(px[p+1:p+1+stride]); p += 1 + stride
	    for x in range(stride):
	        a = line[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0
	        if f == 1: line[x] = (line[x] + a) & 255
	        elif f == 2: line[x] = (line[x] + b) & 255
	        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
	        elif f == 4:
	            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
	            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
	    for x in range(0, stride, bpp):
	        colours.add(tuple(line[x:x+3]))
	    prev = line
	assert (0xe6, 0x9a, 0x3c) in colours, "no run bar"
	assert (0x7f, 0xb3, 0xe6) in colours, "no cached bar"
	PY
'

test_done
