#!/bin/sh
# t3002: hostile layers: each is refused with a clear error (or, for writes
# through symlinks, contained under the target), and nothing is ever written
# outside the target directory.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a corpus of hostile tarballs' '
    mkdir outside && echo precious >outside/keep &&
    OUT="$TRASH/outside" python3 - <<-PY
	import gzip, io, os, tarfile
	out = os.environ["OUT"]
	def mk(name, entries, comp=None):
	    buf = io.BytesIO()
	    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
	        for e in entries:
	            ti = tarfile.TarInfo(e["name"])
	            ti.type = e.get("type", tarfile.REGTYPE)
	            ti.linkname = e.get("link", "")
	            ti.mode = e.get("mode", 0o644)
	            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
	            data = e.get("data", b"")
	            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
	            t.addfile(ti, io.BytesIO(data) if ti.size else None)
	    raw = buf.getvalue()
	    open(name, "wb").write(raw)
	F = lambda n, d=b"evil": {"name": n, "data": d}
	mk("dotdot.tar", [F("ok"), F("../evil")])
	mk("dotdot-deep.tar", [F("a/b/../../../evil")])
	mk("absolute.tar", [F(out + "/evil")])
	mk("symlink-abs.tar", [{"name": "l", "type": tarfile.SYMTYPE, "link": out}, F("l/evil")])
	mk("symlink-rel.tar", [{"name": "d", "type": tarfile.DIRTYPE, "mode": 0o755},
	                       {"name": "d/l", "type": tarfile.SYMTYPE, "link": "../../../../../../../../" + out},
	                       F("d/l/evil")])
	# the same, with the directory the symlink names present inside the layer
	inner = [{"name": out.lstrip("/"), "type": tarfile.DIRTYPE, "mode": 0o755}]
	mk("symlink-abs-in.tar", inner + [{"name": "l", "type": tarfile.SYMTYPE, "link": out}, F("l/evil")])
	mk("symlink-rel-in.tar", inner + [{"name": "d", "type": tarfile.DIRTYPE, "mode": 0o755},
	                       {"name": "d/l", "type": tarfile.SYMTYPE, "link": "../../../../../../../../" + out},
	                       F("d/l/evil")])
	mk("symlink-replace.tar", [{"name": "keep", "type": tarfile.SYMTYPE, "link": out + "/keep"}, F("keep")])
	mk("hardlink-out.tar", [{"name": "h", "type": tarfile.LNKTYPE, "link": "../outside/keep"}])
	mk("hardlink-abs.tar", [{"name": "h", "type": tarfile.LNKTYPE, "link": out + "/keep"}])
	mk("hardlink-via-symlink.tar", [{"name": "l", "type": tarfile.SYMTYPE, "link": out},
	                                {"name": "h", "type": tarfile.LNKTYPE, "link": "l/keep"}])
	mk("hardlink-later.tar", [{"name": "h", "type": tarfile.LNKTYPE, "link": "later"}, F("later")])
	mk("device.tar", [{"name": "sda", "type": tarfile.BLKTYPE, "dev": (8, 0)}])
	mk("whiteout-dotdot.tar", [F("a/x"), F("a/.wh..")])
	mk("plain.tar", [{"name": "d", "type": tarfile.DIRTYPE, "mode": 0o755}, F("d/f", b"fine")])
	with gzip.GzipFile("bomb.tar.gz", "wb", mtime=0) as g:
	    g.write(b"\0" * (64 << 20))
	raw = open("plain.tar", "rb").read()
	gz = gzip.compress(raw, mtime=0)
	open("truncated.tar.gz", "wb").write(gz[: len(gz) // 2])
	open("garbage.tar", "wb").write(b"this is not a tar file at all" * 40)
	PY
'

# reject NAME.tar 'error text' [apply options...]
reject() {
    _rf=$1 _rwant=$2
    shift 2
    rm -rf "$TRASH/t" &&
    test_exit_code 1 strata layer apply "$TRASH/$_rf" "$TRASH/t" "$@" 2>err &&
    cat err && grep -q -- "$_rwant" err &&
    test ! -e "$TRASH/t" &&
    ! ls -a "$TRASH" | grep -q "^\.t\.tmp-" &&
    test "$(ls -A "$TRASH/outside")" = keep && test "$(cat "$TRASH/outside/keep")" = precious
}

# contained NAME.tar: applies, but nothing lands outside the target
contained() {
    rm -rf "$TRASH/t" &&
    strata layer apply "$TRASH/$1" "$TRASH/t" >/dev/null &&
    test "$(ls -A "$TRASH/outside")" = keep && test "$(cat "$TRASH/outside/keep")" = precious
}

test_expect_success '.. in a path is refused' '
    reject dotdot.tar "../evil.: path escapes the layer root" &&
    reject dotdot-deep.tar "path escapes the layer root"
'
test_expect_success 'absolute paths are refused' '
    reject absolute.tar "absolute path in layer"
'
test_expect_success 'writes through a symlink to a directory missing in the target are refused' '
    reject symlink-abs.tar ".l. is a symlink to a directory missing in the target" &&
    reject symlink-rel.tar ".d/l. is a symlink to a directory missing"
'
test_expect_success 'writes through an absolute symlink stay inside the target' '
    contained symlink-abs-in.tar && test -f "t$TRASH/outside/evil"
'
test_expect_success 'writes through a climbing relative symlink stay inside the target' '
    contained symlink-rel-in.tar && test -f "t$TRASH/outside/evil"
'
test_expect_success 'a file replacing a symlink does not write through it' '
    contained symlink-replace.tar && test -f t/keep && test ! -L t/keep && test "$(cat t/keep)" = evil
'
test_expect_success 'hardlinks to outside are refused' '
    reject hardlink-out.tar "path escapes the layer root" &&
    reject hardlink-abs.tar "absolute path in layer" &&
    reject hardlink-via-symlink.tar "target .l/keep. does not exist in the layer"
'
test_expect_success 'hardlinks to not-yet-existing targets are refused' '
    reject hardlink-later.tar "hardlink .h.: target .later. does not exist"
'
test_expect_success 'device nodes only when allowed' '
    reject device.tar "device nodes are not allowed" --devices reject &&
    rm -rf t && strata layer apply device.tar t --devices skip >/dev/null && test ! -e t/sda
'
test_expect_success 'a whiteout naming .. is refused' '
    reject whiteout-dotdot.tar "invalid whiteout"
'
test_expect_success 'decompression bombs stop at the size limit' '
    reject bomb.tar.gz "larger than the limit of 10485760 uncompressed bytes" --max-size 10485760
'
test_expect_success 'digest and diff_id are verified; the result is discarded on mismatch' '
    reject plain.tar "layer digest mismatch: expected sha256:0000" --digest sha256:0000000000000000000000000000000000000000000000000000000000000000 &&
    reject plain.tar "layer diff_id mismatch" --diff-id sha256:1111111111111111111111111111111111111111111111111111111111111111 &&
    d=sha256:$(sha256sum <plain.tar | cut -d" " -f1) &&
    rm -rf t && strata layer apply plain.tar t --digest "$d" --diff-id "$d" >/dev/null && test "$(cat t/d/f)" = fine
'
test_expect_success 'in place: a wrong digest is caught before anything is written' '
    mkdir -p ip && echo lower >ip/lower &&
    test_exit_code 1 strata layer apply plain.tar ip --digest sha256:0000000000000000000000000000000000000000000000000000000000000000 2>err &&
    grep "layer digest mismatch" err && test ! -e ip/d && test "$(ls ip)" = lower
'
test_expect_success 'truncated and garbage blobs are refused' '
    reject truncated.tar.gz "gzip stream is truncated" &&
    reject garbage.tar "invalid tar" &&
    reject plain.tar "gzip stream is corrupt" --media-type application/vnd.oci.image.layer.v1.tar+gzip
'
test_expect_success 'nothing anywhere in the trash directory but inside targets' '
    ! find "$TRASH" -name evil -not -path "$TRASH/t/*" | grep .
'

test_done
