#!/bin/sh
# t3001: a real overlayfs upper dir becomes a layer with OCI whiteouts and
# opaque markers; applying it onto the lower gives the merged view, and
# applying with --overlay gives an upper dir overlayfs understands.
. "$(dirname "$0")/lib.sh"

manifest() { python3 "$SRC_DIR/tests/e2e/layer-manifest.py" "$@"; }

mkdir -p "$TRASH/probe/l" "$TRASH/probe/u" "$TRASH/probe/w" "$TRASH/probe/m"
if ! mount -t overlay overlay -o "lowerdir=$TRASH/probe/l,upperdir=$TRASH/probe/u,workdir=$TRASH/probe/w" "$TRASH/probe/m" 2>/dev/null; then
    test_skip_all "overlayfs cannot be mounted here"
fi
umount "$TRASH/probe/m"

test_expect_success 'setup: change a lower tree through an overlay mount' '
    mkdir lower upper work merged &&
    echo a >lower/a && echo b >lower/b && mkdir -p lower/d lower/o/sub lower/keep &&
    echo x >lower/d/x && echo y >lower/d/y && echo old >lower/o/old && echo s >lower/o/sub/s &&
    echo k >lower/keep/k && ln -s a lower/link &&
    mount -t overlay overlay -o "lowerdir=$TRASH/lower,upperdir=$TRASH/upper,workdir=$TRASH/work" merged &&
    rm merged/a && echo new >merged/b && rm -rf merged/o && mkdir merged/o && echo n >merged/o/new &&
    rm merged/d/x && echo c >merged/c && rm merged/link && mkdir merged/link && chmod 700 merged/keep &&
    manifest merged >merged.m &&
    umount merged &&
    test -c upper/a && getfattr -n trusted.overlay.opaque upper/o 2>/dev/null | grep -q y ||
    python3 -c "import os; assert os.getxattr(\"upper/o\", \"trusted.overlay.opaque\") == b\"y\""
'

test_expect_success 'create --upper converts whiteouts and opaque dirs' '
    strata layer create upper --upper -o up.gz >res &&
    tar -tvzf up.gz >v && cat v &&
    grep -q " \.wh\.a$" v && grep -q " d/\.wh\.x$" v && grep -q " o/\.wh\.\.wh\.\.opq$" v &&
    ! grep -q "^c" v &&
    ! tar --xattrs -tvvzf up.gz 2>&1 | grep -q "overlay" &&
    tar -tzf up.gz | grep "^o/." | head -1 | grep -q "o/\.wh\.\.wh\.\.opq"
'

test_expect_success 'applying the layer onto the lower gives the merged view' '
    cp -a lower base &&
    strata layer apply up.gz base >/dev/null &&
    manifest base >base.m && diff merged.m base.m
'

test_expect_success 'an opaque marker keeps what the same layer adds, whatever the order' '
    cp -a lower base2 &&
    python3 - <<-PY &&
	import io, tarfile
	buf = io.BytesIO()
	with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
	    for name, kind in (("o", "d"), ("o/-first", "f"), ("o/.wh..wh..opq", "f"), ("o/z", "f")):
	        ti = tarfile.TarInfo(name)
	        if kind == "d":
	            ti.type = tarfile.DIRTYPE; ti.mode = 0o755
	        t.addfile(ti)
	open("opq.tar", "wb").write(buf.getvalue())
	PY
    strata layer apply opq.tar base2 >/dev/null &&
    test "$(ls -A base2/o | tr "\n" " ")" = "-first z "
'

test_expect_success 'apply --overlay produces an upper dir overlayfs honours' '
    strata layer apply up.gz up2 --overlay >/dev/null &&
    test -c up2/a && test -c up2/d/x &&
    python3 -c "import os; assert os.getxattr(\"up2/o\", \"trusted.overlay.opaque\") == b\"y\"" &&
    mkdir work2 m2 &&
    mount -t overlay overlay -o "lowerdir=$TRASH/lower,upperdir=$TRASH/up2,workdir=$TRASH/work2" m2 &&
    manifest m2 >m2.m; rc=$?; umount m2 && test $rc = 0 && diff merged.m m2.m
'

test_expect_success 'a layer cannot smuggle overlay xattrs in' '
    python3 - <<-PY &&
	import io, tarfile
	buf = io.BytesIO()
	with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
	    ti = tarfile.TarInfo("d"); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
	    ti.pax_headers = {"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.ok": "1"}
	    t.addfile(ti)
	open("smuggle.tar", "wb").write(buf.getvalue())
	PY
    strata layer apply smuggle.tar sm >/dev/null &&
    python3 -c "import os; x = os.listxattr(\"sm/d\"); assert x == [\"user.ok\"], x"
'

test_done
