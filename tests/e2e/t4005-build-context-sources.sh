#!/bin/sh
# t4005: where the build context comes from (issue #14): a tar on stdin
# (plain and gzip), a Dockerfile alone on stdin, -f - with the context
# elsewhere, a git repository (URL#ref:subdir, a local file:// repo), an
# http tarball (a local server on 127.0.0.1).
. "$(dirname "$0")/lib.sh"

require_builder
command -v git >/dev/null || test_skip_all "git is not installed"

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<-\EOF
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	COPY msg /msg
	CMD ["cat", "/msg"]
	EOF
echo from-ctx >"$TRASH/ctx/msg"

HTTP_PORT=$(free_port)
mkdir -p "$TRASH/www"
spawn python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$TRASH/www" >"$TRASH/http.log" 2>&1
wait_http "http://127.0.0.1:$HTTP_PORT/" 30

test_expect_success 'a tar on stdin is the context' '
    tar -C ctx -cf - . | strata build -t cx:tar - 2>log &&
    strata run cx:tar >out && test "$(cat out)" = from-ctx &&
    tar -C ctx -czf - . | strata build -t cx:tgz - 2>log &&
    strata run cx:tgz >out && test "$(cat out)" = from-ctx
'

test_expect_success 'a Dockerfile alone on stdin builds with an empty context' '
    printf "FROM cx:tar\nRUN echo alone >/msg\n" | strata build -t cx:alone - 2>log &&
    strata run cx:alone >out && test "$(cat out)" = alone &&
    printf "FROM cx:tar\nCOPY msg /x\n" | test_must_fail strata build - 2>err
'

test_expect_success '-f - reads the Dockerfile from stdin, the context from the directory' '
    printf "FROM cx:tar\nCOPY msg /msg2\nCMD [\"cat\", \"/msg2\"]\n" | strata build -t cx:fstdin -f - ctx 2>log &&
    strata run cx:fstdin >out && test "$(cat out)" = from-ctx &&
    test_exit_code 2 strata build -f - - </dev/null 2>err && grep "both come from standard input" err
'

test_expect_success 'a git repository: URL#ref:subdir' '
    mkdir -p repo.git/app && cp -r ctx/rootfs ctx/Dockerfile repo.git/app/ && echo v1 >repo.git/app/msg &&
    git -C repo.git init -q && git -C repo.git add . &&
    git -C repo.git -c user.name=t -c user.email=t@t commit -qm one && git -C repo.git tag v1 &&
    echo v2 >repo.git/app/msg && git -C repo.git -c user.name=t -c user.email=t@t commit -qam two &&
    strata build -t cx:git1 "file://$TRASH/repo.git#v1:app" 2>log &&
    strata run cx:git1 >out && test "$(cat out)" = v1 &&
    strata build -t cx:git2 "file://$TRASH/repo.git#:app" 2>log &&
    strata run cx:git2 >out && test "$(cat out)" = v2 &&
    test_must_fail strata build "file://$TRASH/repo.git#nosuchref:app" 2>err && grep "nosuchref" err &&
    test_must_fail strata build "file://$TRASH/repo.git#v1:nodir" 2>err && grep "nodir" err
'

test_expect_success 'an http(s) tarball is the context; a plain file there is the Dockerfile' '
    tar -C ctx -czf www/ctx.tar.gz . &&
    strata build -t cx:http "http://127.0.0.1:'"$HTTP_PORT"'/ctx.tar.gz" 2>log &&
    strata run cx:http >out && test "$(cat out)" = from-ctx &&
    printf "FROM cx:tar\nRUN echo web >/msg\n" >www/Dockerfile &&
    strata build -t cx:httpdf "http://127.0.0.1:'"$HTTP_PORT"'/Dockerfile" 2>log &&
    strata run cx:httpdf >out && test "$(cat out)" = web &&
    test_must_fail strata build "http://127.0.0.1:'"$HTTP_PORT"'/missing.tar" 2>err
'

test_expect_success 'a hostile tar cannot write outside the context' '
    printf "FROM scratch\n" >Dockerfile.h &&
    python3 -c "
import tarfile, io
t = tarfile.open(\"evil.tar\", \"w\")
for name in [\"../escaped\", \"Dockerfile\"]:
    data = open(\"Dockerfile.h\", \"rb\").read()
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
t.close()" &&
    test_must_fail strata build - <evil.tar 2>err &&
    ! test -e "$STRATA_ROOT/tmp/escaped"
'

test_done
