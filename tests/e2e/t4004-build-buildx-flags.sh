#!/bin/sh
# t4004: the buildx flags CI files use (issue #14): -o/--output exporters,
# --metadata-file, --load, --pull=false, --no-cache-filter, --annotation,
# --add-host; flags strata does not support yet fail clearly.
. "$(dirname "$0")/lib.sh"

require_builder
start_strata_registry

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<-\EOF
	FROM scratch AS base
	COPY rootfs/ /
	ENV PATH=/bin
	RUN echo one >/one
	FROM base AS final
	RUN cat /etc/hosts >/hosts.txt
	CMD ["cat", "/one"]
	EOF

test_expect_success '--help lists the buildx flags' '
    strata build --help >out &&
    for o in --output --load --metadata-file --no-cache-filter --annotation --add-host --source-date-epoch; do
        grep -q -- "$o" out || { echo "missing $o"; exit 1; }
    done
'

test_expect_success '--metadata-file has buildx keys and strata counts; --load and --pull=false are accepted' '
    strata build -t bx:1 --load --pull=false --metadata-file meta.json ctx 2>log &&
    strata inspect bx:1 >insp &&
    jq -e ".[\"containerimage.digest\"] | startswith(\"sha256:\")" meta.json &&
    jq -e ".[\"containerimage.config.digest\"] | startswith(\"sha256:\")" meta.json &&
    jq -e ".[\"image.name\"] == \"bx:1\"" meta.json &&
    jq -e ".[\"strata.steps.run\"] == 3 and .[\"strata.steps.cached\"] == 0" meta.json &&
    d=$(jq -r ".[\"containerimage.digest\"]" meta.json) && grep -q "$d" insp &&
    c=$(jq -r ".[\"containerimage.config.digest\"]" meta.json) && grep -q "$c" insp
'

test_expect_success '-o type=oci and type=docker write archives' '
    strata build -q -o type=oci,dest=img-oci.tar ctx >/dev/null &&
    tar -tf img-oci.tar >list && grep -x index.json list && grep -x oci-layout list &&
    strata build -q -t bx:2 -o type=docker,dest=img-docker.tar ctx >/dev/null &&
    tar -tf img-docker.tar >list && grep -x manifest.json list
'

test_expect_success '-o type=local, a bare directory and type=tar to stdout export the filesystem' '
    strata build -q -o type=local,dest=rootfs-out ctx >/dev/null &&
    test "$(cat rootfs-out/one)" = one && test -x rootfs-out/bin/busybox &&
    strata build -q -o bare-out ctx >/dev/null && test -f bare-out/one &&
    strata build -q -o type=tar,dest=- ctx >fs.tar &&
    tar -tf fs.tar >list && grep -x one list && grep -x bin/busybox list
'

test_expect_success '-o type=registry,name=REF pushes' '
    strata build -o type=registry,name=$SREG/bx:reg --insecure-registry $SREG ctx 2>log ||
    strata build -o type=registry,name=$SREG/bx:reg ctx 2>log &&
    grep "pushed $SREG/bx:reg" log &&
    curl -fsS "http://$SREG/v2/bx/tags/list" | grep -q reg
'

test_expect_success '--no-cache-filter runs the steps of that stage only' '
    strata build --no-cache-filter final ctx 2>log &&
    grep "2 steps cached, 1 run" log &&
    strata build --no-cache-filter base,final ctx 2>log &&
    grep "0 steps cached, 3 run" log
'

test_expect_success '--annotation goes on the manifest' '
    strata build -q -t bx:ann --annotation org.opencontainers.image.source=https://x.example \
        --annotation manifest:a.b=c ctx >/dev/null &&
    strata inspect -f manifest bx:ann >man &&
    jq -e ".annotations[\"org.opencontainers.image.source\"] == \"https://x.example\" and .annotations[\"a.b\"] == \"c\"" man &&
    test_exit_code 2 strata build --annotation index:a=b ctx
'

test_expect_success '--add-host adds an /etc/hosts line for RUN' '
    strata build -t bx:hosts --add-host db.internal:10.1.2.3 --add-host cache=10.1.2.4 ctx 2>log &&
    strata run bx:hosts cat /hosts.txt >out &&
    grep "^10.1.2.3	db.internal$" out && grep "^10.1.2.4	cache$" out
'

test_expect_success '--ssh, --shm-size and --ulimit reach RUN' '
    ln -sf busybox ctx/rootfs/bin/df &&
    python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind(\"agent.sock\")" &&
    cat >ctx/Dockerfile.run <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" >/ssh.txt
	RUN --mount=type=ssh,id=other,required=false test -z "$SSH_AUTH_SOCK"
	RUN df -k /dev/shm | tail -1 >/shm.txt && ulimit -n >/nofile.txt && ulimit -Hn >>/nofile.txt
	EOF
    strata build --no-cache -t bx:run --ssh default=$TRASH/agent.sock --shm-size 128m --ulimit nofile=100:200 \
        -f ctx/Dockerfile.run ctx 2>log &&
    strata run bx:run cat /ssh.txt >out && test "$(cat out)" = /run/buildkit/ssh_agent.0 &&
    strata run bx:run cat /shm.txt >out && grep " 131072 " out &&
    strata run bx:run cat /nofile.txt >out && printf "100\n200\n" >want && diff want out &&
    printf "FROM bx:run\nRUN --mount=type=ssh,id=missing,required=true true\n" >ctx/Dockerfile.req &&
    test_must_fail strata build -f ctx/Dockerfile.req ctx 2>err && grep "no --ssh missing given" err &&
    SSH_AUTH_SOCK= test_exit_code 2 strata build --ssh default ctx &&
    test_exit_code 2 strata build --ulimit nofile=5:1 ctx &&
    test_exit_code 2 strata build --ulimit bogus=1 ctx &&
    test_exit_code 2 strata build --shm-size lots ctx
'

test_expect_success '--build-context NAME=docker-image://REF and NAME=DIR' '
    mkdir -p extra && echo from-extra >extra/e.txt &&
    cat >ctx/Dockerfile.bc <<-\EOF &&
	FROM base-image
	COPY --from=assets e.txt /e.txt
	RUN --mount=from=assets,target=/mnt cat /mnt/e.txt >/e2.txt
	COPY --from=other-image /one /one-again
	CMD ["cat", "/e.txt", "/e2.txt", "/one-again"]
	EOF
    strata build -t bx:bc --build-context base-image=docker-image://bx:1 --build-context assets=extra \
        --build-context other-image=docker-image://bx:1 -f ctx/Dockerfile.bc ctx 2>log &&
    strata run bx:bc >out && printf "from-extra\nfrom-extra\none\n" >want && diff want out
'

test_expect_success '--build-context NAME=oci-layout://PATH[:TAG|@DIGEST] uses the layout, never a registry' '
    make_busybox_rootfs l1 && mkdir -p l2/etc && echo layout-one >l1/etc/which && echo layout-two >l2/etc/which &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image layout v1 l1.tgz && make_oci_image layout v2 l2.tgz && v2=$OCI_MANIFEST_DIGEST &&
    make_oci_image single only l1.tgz &&
    cat >ctx/Dockerfile.ol <<-\EOF &&
	FROM base-image
	COPY --from=base-image /etc/which /copied
	COPY --from=assets /etc/which /assets
	EOF
    strata build -t bx:ol --build-context base-image=oci-layout://$PWD/layout:v1 \
        --build-context assets=oci-layout://layout@$v2 -f ctx/Dockerfile.ol ctx 2>log &&
    strata run bx:ol cat /etc/which /copied /assets >out &&
    printf "layout-one\nlayout-one\nlayout-two\n" >want && diff want out &&
    test_exit_code 1 strata build -t bx:ol2 --build-context base-image=oci-layout://single \
        --build-context assets=oci-layout://layout:latest-not-there -f ctx/Dockerfile.ol ctx 2>err &&
    grep "assets" err && grep "no image tagged latest-not-there" err &&
    test_exit_code 1 strata build -t bx:ol2 --build-context base-image=oci-layout://single \
        --build-context assets=oci-layout://layout -f ctx/Dockerfile.ol ctx 2>err &&
    grep "no image tagged latest (name one" err &&
    test_exit_code 2 strata build --build-context x=oci-layout://layout@sha256:nothex ctx 2>err &&
        grep "is not a digest" err &&
    test_exit_code 2 strata build --build-context x=oci-layout:///no/such ctx 2>err && grep "no directory" err
'

test_expect_success "strata load -i reads an OCI layout directory too" '
    v2=$(jq -r ".manifests[1].digest" layout/index.json) &&
    strata load -i layout >out && grep -c "Loaded image ID" out >n && test "$(cat n)" = 2 &&
    chmod u+w layout/blobs/sha256/* && echo "{}" >layout/blobs/sha256/${v2#sha256:} &&
    test_must_fail strata load -i layout 2>err && grep "digest mismatch" err
'


test_expect_success 'bad -o specs and unsupported flags are usage errors' '
    test_exit_code 2 strata build -o type=oci ctx 2>err && grep "needs dest" err &&
    test_exit_code 2 strata build -o type=s3,dest=x ctx 2>err &&
    test_exit_code 2 strata build -o type=registry ctx 2>err && grep "name=REF" err &&
    test_exit_code 2 strata build --pull=maybe ctx &&
    test_exit_code 2 strata build --build-context x=git://example/x ctx 2>err && grep "only docker-image" err &&
    test_exit_code 2 strata build --build-context x=/no/such/dir ctx 2>err && grep "no directory" err &&
    test_exit_code 2 strata build --build-context =x ctx
'

test_done
