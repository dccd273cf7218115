#!/bin/sh
# t5100: strata build — every instruction and flag, checked with strata run.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
C="$TRASH/ctx"

test_expect_success 'build and run --help document every option' '
    strata build --help >out &&
    grep "^Usage: strata build" out &&
    for o in --tag --file --build-arg --target --no-cache --label --network --secret --progress --quiet --iidfile; do
        grep -q -- "$o" out || { echo "missing $o"; exit 1; }
    done &&
    strata run --help >out &&
    grep "^Usage: strata run" out &&
    for o in --rm --env --user --workdir --entrypoint --network; do
        grep -q -- "$o" out || { echo "missing $o"; exit 1; }
    done
'

test_expect_success 'usage errors exit 2' '
    test_exit_code 2 strata build &&
    test_exit_code 2 strata build --progress fancy ctx &&
    test_exit_code 2 strata build --secret id=x ctx &&
    test_exit_code 2 strata run
'

test_expect_success 'a busybox image: ENV, WORKDIR, USER, CMD with strata run' '
    cat >ctx/Dockerfile <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin GREETING=hello
	WORKDIR /app
	RUN echo $GREETING >greeting && mkdir -p /home/n && chmod 777 /home/n
	USER nobody
	WORKDIR sub
	CMD ["sh", "-c", "echo $GREETING from $(pwd) as $(id -u)"]
	EOF
    strata build -t demo --progress plain ctx 2>log &&
    grep "^#3 \[1/3\] FROM scratch" log &&
    grep "^#4 \[2/3\] COPY rootfs/ /" log &&
    grep "^#5 \[3/3\] RUN echo" log &&
    grep "^#6 naming to demo done" log &&
    grep "^strata: 0 steps cached, 2 run; image sha256:" log &&
    strata run demo >out &&
    test "$(cat out)" = "hello from /app/sub as 65534" &&
    strata run demo cat /app/greeting >out &&
    test "$(cat out)" = hello
'

test_expect_success 'strata run: -e, -u, -w, exit status, --entrypoint' '
    strata run -e GREETING=bye -u root -w /tmp demo >out &&
    test "$(cat out)" = "bye from /tmp as 0" &&
    test_exit_code 3 strata run demo sh -c "exit 3" &&
    strata run --entrypoint /bin/echo demo x y >out &&
    test "$(cat out)" = "x y" &&
    test_must_fail strata run nosuchimage true 2>err &&
    grep "image .nosuchimage. not found in the local store" err
'

test_expect_success 'strata run: a command not found exits 127, not executable 126 (as docker)' '
    test_exit_code 127 strata run demo nosuchcmd 2>err &&
    grep "exec .nosuchcmd.: executable file not found in \$PATH" err &&
    test_exit_code 127 strata run demo /no/such/file 2>err &&
    grep "exec ./no/such/file.: No such file or directory" err &&
    test_exit_code 126 strata run demo /etc 2>err &&
    grep "exec ./etc.: Permission denied" err &&
    test_exit_code 1 strata run -w /etc/passwd demo true 2>err
'

test_expect_success 'RUN output is streamed with the step number and time' '
    printf "FROM demo\nRUN echo line-one && echo line-two >&2\n" >ctx/Dockerfile.out &&
    strata build -f ctx/Dockerfile.out --progress plain ctx 2>log &&
    grep -E "^#4 [0-9]+\.[0-9]{3} line-one$" log &&
    grep -E "^#4 [0-9]+\.[0-9]{3} line-two$" log &&
    grep -E "^#4 DONE [0-9]+\.[0-9]s$" log
'

test_expect_success 'ENTRYPOINT + CMD, LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD into the config' '
    cat >ctx/Dockerfile.meta <<-\EOF &&
	FROM demo
	USER root
	ENTRYPOINT ["echo", "ep"]
	CMD ["default"]
	LABEL a=1 "b c"=2
	EXPOSE 80 53/udp
	VOLUME /data
	STOPSIGNAL SIGINT
	HEALTHCHECK --interval=5s --retries=2 CMD true
	SHELL ["/bin/sh", "-ec"]
	ONBUILD RUN echo triggered
	MAINTAINER someone
	EOF
    strata build -f ctx/Dockerfile.meta -t meta --label extra=yes --iidfile iid -q ctx >id &&
    test "$(cat id)" = "$(cat iid)" &&
    grep -E "^sha256:[0-9a-f]{64}$" id &&
    strata run meta >out && test "$(cat out)" = "ep default" &&
    strata run meta other >out && test "$(cat out)" = "ep other" &&
    hex=$(sed s/sha256:// id) &&
    jq -e ".config.Labels == {\"a\":\"1\",\"b c\":\"2\",\"extra\":\"yes\"}" root/blobs/sha256/$hex &&
    jq -e ".config.ExposedPorts == {\"80/tcp\":{},\"53/udp\":{}}" root/blobs/sha256/$hex &&
    jq -e ".config.Volumes == {\"/data\":{}}" root/blobs/sha256/$hex &&
    jq -e ".config.StopSignal == \"SIGINT\"" root/blobs/sha256/$hex &&
    jq -e ".config.Healthcheck == {\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000,\"Retries\":2}" root/blobs/sha256/$hex &&
    jq -e ".config.Shell == [\"/bin/sh\",\"-ec\"]" root/blobs/sha256/$hex &&
    jq -e ".config.OnBuild == [\"RUN echo triggered\"]" root/blobs/sha256/$hex &&
    jq -e ".author == \"someone\"" root/blobs/sha256/$hex &&
    jq -e "[.history[] | select(.empty_layer)] | length >= 11" root/blobs/sha256/$hex &&
    jq -e "[.history[] | select(.empty_layer | not)] | length == 2" root/blobs/sha256/$hex
'

test_expect_success 'the base image SHELL applies to RUN in a child image' '
    printf "FROM meta\nRUN false; echo survived\n" >ctx/Dockerfile.sh &&
    test_must_fail strata build -f ctx/Dockerfile.sh --progress plain ctx 2>err &&
    ! grep "^#5 [0-9.]* survived" err &&
    grep "Dockerfile.sh:2: RUN false; echo survived: exit status 1" err
'

test_expect_success 'ENTRYPOINT resets an inherited CMD' '
    printf "FROM demo\nENTRYPOINT [\"echo\", \"only\"]\n" | strata build -f - -t ep ctx 2>log &&
    strata run ep >out && test "$(cat out)" = only
'

test_expect_success 'COPY: files, dirs, wildcards, trailing slashes, relative dest, --chown, --chmod' '
    mkdir -p ctx/files/sub && echo a >ctx/files/a.txt && echo b >ctx/files/b.txt && echo c >ctx/files/sub/c.txt &&
    echo one >ctx/one && chmod 600 ctx/one &&
    cat >ctx/Dockerfile.copy <<-\EOF &&
	FROM demo
	USER root
	COPY one /dst/renamed
	COPY one /dst/dir/
	COPY files /dst/contents
	COPY files/*.txt /dst/glob/
	WORKDIR /w
	COPY one rel/
	COPY --chown=nobody:nogroup --chmod=640 one /dst/owned
	COPY --chown=1234:5678 files/ /dst/numeric/
	CMD ["sh", "-c", "cd /dst && find . | sort && stat -c \"%a %u %g\" owned numeric/a.txt && cat /w/rel/one && stat -c %a renamed"]
	EOF
    strata build -f ctx/Dockerfile.copy -t copy ctx 2>log &&
    strata run copy >out &&
    cat >want <<-\EOF &&
	.
	./contents
	./contents/a.txt
	./contents/b.txt
	./contents/sub
	./contents/sub/c.txt
	./dir
	./dir/one
	./glob
	./glob/a.txt
	./glob/b.txt
	./numeric
	./numeric/a.txt
	./numeric/b.txt
	./numeric/sub
	./numeric/sub/c.txt
	./owned
	./renamed
	640 65534 65534
	644 1234 5678
	one
	600
	EOF
    diff want out
'

test_expect_success 'COPY errors name the Dockerfile line' '
    printf "FROM demo\n\nCOPY missing.txt /x\n" >ctx/Dockerfile.err &&
    test_must_fail strata build -f ctx/Dockerfile.err ctx 2>err &&
    grep "Dockerfile.err:3: COPY missing.txt /x: \"missing.txt\": not found" err &&
    printf "FROM demo\nCOPY nomatch* /x/\n" >ctx/Dockerfile.err &&
    test_must_fail strata build -f ctx/Dockerfile.err ctx 2>err &&
    grep "Dockerfile.err:2: COPY nomatch\* /x/: no source files were specified" err &&
    printf "FROM demo\nCOPY one files/a.txt /x\n" >ctx/Dockerfile.err &&
    test_must_fail strata build -f ctx/Dockerfile.err ctx 2>err &&
    grep "destination must be a directory and end with a /" err &&
    printf "FROM demo\nCOPY ../etc/passwd /x\n" >ctx/Dockerfile.err &&
    test_must_fail strata build -f ctx/Dockerfile.err ctx 2>err &&
    grep "forbidden path outside the build context: ../etc/passwd" err &&
    printf "FROM nosuch:1\n" >ctx/Dockerfile.err &&
    test_must_fail strata build -f ctx/Dockerfile.err ctx 2>err &&
    grep "Dockerfile.err:1: FROM nosuch:1: pull nosuch:1: " err
'

test_expect_success 'COPY --parents and --exclude' '
    printf "FROM demo\nCOPY --parents files/sub/c.txt files/a.txt /p/\nCOPY --exclude=*.txt --exclude=sub files /e/\nCMD [\"busybox\", \"find\", \"/p\", \"/e\"]\n" >ctx/Dockerfile.par &&
    strata build -f ctx/Dockerfile.par -t par ctx 2>log &&
    strata run par | sort >out &&
    printf "/e\n/p\n/p/files\n/p/files/a.txt\n/p/files/sub\n/p/files/sub/c.txt\n" >want &&
    diff want out
'

test_expect_success 'COPY into an image symlink resolves inside the rootfs' '
    printf "FROM demo\nUSER root\nRUN ln -s /etc /app/link && ln -s /../../../../tmp /app/up\nCOPY one /app/link/\nCOPY one /app/up/escaped\n" >ctx/Dockerfile.sym &&
    strata build -f ctx/Dockerfile.sym -t sym ctx 2>log &&
    strata run sym cat /etc/one /tmp/escaped >out &&
    printf "one\none\n" >want && diff want out &&
    test ! -e /tmp/escaped
'

test_expect_success 'COPY heredoc and ADD of a local tar archive' '
    mkdir -p tarsrc/d && echo intar >tarsrc/d/f && tar -C tarsrc -czf ctx/arch.tar.gz d &&
    cat >ctx/Dockerfile.add <<-\EOF &&
	FROM demo
	USER root
	ADD arch.tar.gz /x/
	COPY <<-EOT /x/h.txt
		heredoc $GREETING
	EOT
	RUN <<EOT
	echo from-heredoc-run >/x/r
	EOT
	CMD ["cat", "/x/d/f", "/x/h.txt", "/x/r"]
	EOF
    strata build -f ctx/Dockerfile.add -t add ctx 2>log &&
    strata run add >out &&
    printf "intar\nheredoc hello\nfrom-heredoc-run\n" >want && diff want out
'

test_expect_success 'multi-stage: COPY --from by name and index, --target builds only what is needed' '
    cat >ctx/Dockerfile.ms <<-\EOF &&
	FROM demo AS base
	USER root
	RUN echo base >/base

	FROM base AS builder
	RUN echo built >/artifact

	FROM demo AS unused
	RUN echo should-not-run-unused

	FROM scratch
	COPY --from=builder /artifact /artifact
	COPY --from=0 /base /bin/busybox /
	RUN --mount=type=bind,from=builder,target=/b ["/busybox", "cp", "/b/artifact", "/mounted"]
	ENTRYPOINT ["/busybox", "cat", "/artifact", "/base", "/mounted"]
	EOF
    strata build -f ctx/Dockerfile.ms -t ms --progress plain ctx 2>log &&
    ! grep should-not-run-unused log &&
    grep "\[builder 2/2\] RUN echo built" log &&
    strata run ms >out &&
    printf "built\nbase\nbuilt\n" >want && diff want out &&
    strata build -f ctx/Dockerfile.ms --target base -t msbase --progress plain ctx 2>log &&
    ! grep builder log &&
    strata run msbase cat /base
'

test_expect_success 'independent stages build in parallel; STRATA_BUILD_JOBS=1 serialises' '
    cat >ctx/Dockerfile.par <<-\EOF &&
	FROM demo AS a
	USER root
	RUN echo a-start; sleep 1; echo a-end >/a

	FROM demo AS b
	USER root
	RUN echo b-start; sleep 1; echo b-end >/b

	FROM demo
	USER root
	COPY --from=a /a /a
	COPY --from=b /b /b
	RUN cat /a /b
	EOF
    strata build -f ctx/Dockerfile.par -t par --no-cache --progress plain ctx 2>log &&
    a_done=$(grep -n "^#[0-9]* DONE 1\.[0-9]s" log | head -1 | cut -d: -f1) &&
    b_start=$(grep -n "b-start$" log | cut -d: -f1) &&
    a_start=$(grep -n "a-start$" log | cut -d: -f1) &&
    test "$b_start" -lt "$a_done" && test "$a_start" -lt "$a_done" &&
    strata run par cat /a /b >out && printf "a-end\nb-end\n" >want && diff want out &&
    STRATA_BUILD_JOBS=1 strata build -f ctx/Dockerfile.par --no-cache --progress plain ctx 2>log &&
    a_done=$(grep -n "^#[0-9]* DONE 1\.[0-9]s" log | head -1 | cut -d: -f1) &&
    b_start=$(grep -n "b-start$" log | cut -d: -f1) &&
    test "$b_start" -gt "$a_done"
'

test_expect_success '--build-arg, ARG defaults and the unused build-arg warning' '
    printf "FROM demo\nUSER root\nARG V=default\nRUN echo v=\$V >/v\nCMD [\"cat\", \"/v\"]\n" >ctx/Dockerfile.arg &&
    strata build -f ctx/Dockerfile.arg -t arg ctx 2>log &&
    test "$(strata run arg)" = v=default &&
    strata build -f ctx/Dockerfile.arg -t arg --build-arg V=given --build-arg UNUSED=1 --progress plain ctx 2>log &&
    test "$(strata run arg)" = v=given &&
    grep "UNUSED" log
'

test_expect_success 'RUN --mount: bind from the context, cache, tmpfs, secret; --network none' '
    echo s3cret >secret.txt &&
    cat >ctx/Dockerfile.mnt <<-\EOF &&
	FROM demo
	USER root
	RUN --mount=type=bind,source=files,target=/src cat /src/a.txt >/copied
	RUN --mount=type=cache,target=/cache echo x >>/cache/n && wc -l </cache/n >/count
	RUN --mount=type=tmpfs,target=/scratch touch /scratch/t && test ! -e /scratch/../copied2
	RUN --mount=type=secret,id=tok cat /run/secrets/tok >/dev/null && test ! -s /run/secrets/missing
	RUN --network=none cat /proc/net/dev | grep -c : >/ifaces
	CMD ["cat", "/copied", "/count", "/ifaces"]
	EOF
    strata build -f ctx/Dockerfile.mnt -t mnt --secret id=tok,src="$TRASH/secret.txt" ctx 2>log &&
    strata run mnt >out &&
    printf "a\n1\n1\n" >want && diff want out &&
    strata build -f ctx/Dockerfile.mnt -t mnt --no-cache --secret id=tok,src="$TRASH/secret.txt" ctx 2>log &&
    test "$(strata run mnt cat /count)" = 2 &&
    ! grep -r s3cret root/build/snapshots
'

test_expect_success '--network none isolates every RUN; RUN --network=host overrides it' '
    printf "FROM demo\nRUN grep -c : /proc/net/dev; ls -l /proc/self/ns/net\nRUN --network=host ls -l /proc/self/ns/net\n" >ctx/Dockerfile.net &&
    strata build -f ctx/Dockerfile.net --network none --no-cache --progress plain ctx 2>log &&
    grep -E "^#4 [0-9.]+ 1$" log &&
    host=$(readlink /proc/self/ns/net) && echo "host: $host" &&
    grep "^#4 .* -> net:" log && ! grep "^#4 " log | grep -F -- "-> $host" &&
    grep "^#5 " log | grep -F -- "-> $host" &&
    test_exit_code 2 strata build --network bridge ctx
'

test_expect_success 'a failing RUN: step, command and status; nothing cached; no mounts left' '
    printf "FROM demo\nUSER root\nRUN echo ok >/ok\nRUN echo failing; exit 7\n" >ctx/Dockerfile.fail &&
    before=$(grep " $TRASH" /proc/self/mountinfo | wc -l) &&
    test_must_fail strata build -f ctx/Dockerfile.fail --progress plain ctx 2>err &&
    grep "^strata: error: Dockerfile.fail:4: RUN echo failing; exit 7: exit status 7$" err &&
    grep "^#5 ERROR: " err &&
    after=$(grep " $TRASH" /proc/self/mountinfo | wc -l) &&
    test "$before" = "$after" &&
    test -z "$(ls root/build/tmp)" &&
    test_must_fail strata build -f ctx/Dockerfile.fail --progress plain ctx 2>err &&
    grep "^#4 CACHED" err && grep "^#5 MISS" err
'

test_expect_success '-f - reads the Dockerfile from stdin; -q prints only the id' '
    printf "FROM demo\nUSER root\nRUN echo stdin >/s\n" | strata build -q -f - ctx >out 2>err &&
    grep -E "^sha256:[0-9a-f]{64}$" out && test $(wc -l <out) = 1 &&
    cat err && test ! -s err &&
    strata run "$(cat out)" cat /s >got && test "$(cat got)" = stdin
'

test_expect_success 'ONBUILD triggers run when the image is a base, and are consumed' '
    printf "FROM demo\nUSER root\nONBUILD RUN echo triggered >/trig\nONBUILD ENV FROMTRIGGER=yes\n" >ctx/Dockerfile.ob &&
    strata build -f ctx/Dockerfile.ob -t withob ctx 2>log &&
    ! strata run withob cat /trig 2>/dev/null &&
    printf "FROM withob\nRUN echo env=\$FROMTRIGGER >/env\n" >ctx/Dockerfile.obchild &&
    strata build -f ctx/Dockerfile.obchild -t obchild --iidfile iid --progress plain ctx 2>log &&
    grep "\[2/3\] ONBUILD RUN echo triggered" log &&
    strata run obchild cat /trig /env >out &&
    printf "triggered\nenv=yes\n" >want && diff want out &&
    jq -e ".config.OnBuild == null" root/blobs/sha256/$(sed s/sha256:// iid)
'

PORT=$(free_port)
mkdir -p "$TRASH/www"
echo "remote content" >"$TRASH/www/file.txt"
(cd "$TRASH/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1) >/dev/null 2>&1 &
SPAWNED="$SPAWNED $!"
wait_http "http://127.0.0.1:$PORT/file.txt" 10 >/dev/null 2>&1 || sleep 1

test_expect_success 'ADD of a URL: into a dir, renamed, --checksum verified and cached by checksum' '
    sum=sha256:$(sha256sum www/file.txt | cut -d" " -f1) &&
    printf "FROM demo\nADD http://127.0.0.1:$PORT/file.txt /r/\nADD --checksum=$sum http://127.0.0.1:$PORT/file.txt /r/named\n" >ctx/Dockerfile.url &&
    strata build -f ctx/Dockerfile.url -t url ctx 2>log &&
    strata run -u root url sh -c "cat /r/file.txt /r/named; stat -c %a /r/named" >out &&
    printf "remote content\nremote content\n600\n" >want && diff want out &&
    echo changed >www/file.txt &&
    strata build -f ctx/Dockerfile.url -t url --progress plain ctx 2>log &&
    grep "MISS: http://127.0.0.1:$PORT/file.txt changed" log &&
    test "$(strata run -u root url cat /r/named)" = "remote content" &&
    printf "FROM demo\nADD --checksum=sha256:%064d http://127.0.0.1:$PORT/file.txt /x\n" 0 >ctx/Dockerfile.url2 &&
    test_must_fail strata build -f ctx/Dockerfile.url2 ctx 2>err &&
    grep "Dockerfile.url2:2: .*checksum mismatch: expected sha256:0000" err &&
    printf "FROM demo\nADD http://127.0.0.1:$PORT/missing /x\n" >ctx/Dockerfile.url3 &&
    test_must_fail strata build -f ctx/Dockerfile.url3 ctx 2>err &&
    grep "Dockerfile.url3:2: .*download .*404" err
'

test_expect_success '--progress tty: a live elapsed-time line; auto is plain when not a terminal' '
    printf "FROM demo\nRUN echo tty-out-1; sleep 0.6; echo tty-out-2\n" >ctx/Dockerfile.tty &&
    strata build -f ctx/Dockerfile.tty --no-cache --progress tty ctx 2>log &&
    grep -q "$(printf "\r\033\\[K")" log &&
    # what a terminal shows: each line after its last "clear line" (a live line
    # may precede the first output when the RUN is slow to start)
    sed "s/.*$(printf "\033")\\[K//" log >shown &&
    grep "^#[0-9]* [0-9.]* tty-out-1$" shown && grep "tty-out-2$" shown &&
    strata build -f ctx/Dockerfile.tty --no-cache ctx 2>log &&
    ! grep -q "$(printf "\033")" log && grep "tty-out-2" log
'

test_expect_success 'Ctrl-C during a RUN: exit 130, the step named, nothing left behind' '
    printf "FROM demo\nRUN sleep 5\n" >ctx/Dockerfile.int &&
    { "$STRATA_BIN" build -f ctx/Dockerfile.int --progress plain ctx >/dev/null 2>ilog & } &&
    pid=$! &&
    for i in $(seq 50); do grep -q "RUN sleep 5" ilog && break; sleep 0.1; done &&
    sleep 0.5 && kill -INT $pid;
    wait $pid; rc=$? &&
    test $rc = 130 &&
    grep "Dockerfile.int:2: RUN sleep 5: interrupted" ilog &&
    test -z "$(ls root/build/tmp)" &&
    ! grep " $TRASH" /proc/self/mountinfo
'

test_expect_success 'a killed build leaves a stale work dir that the next build removes' '
    printf "FROM demo\nRUN sleep 2\n" >ctx/Dockerfile.kill &&
    { "$STRATA_BIN" build -f ctx/Dockerfile.kill --progress plain ctx >/dev/null 2>klog & } &&
    pid=$! &&
    for i in $(seq 50); do grep -q "RUN sleep 2" klog && break; sleep 0.1; done &&
    sleep 0.3 && kill -9 $pid && sleep 2.5 &&
    test -n "$(ls root/build/tmp)" &&
    strata build -f ctx/Dockerfile.out ctx 2>/dev/null &&
    test -z "$(ls root/build/tmp)" &&
    ! grep " $TRASH" /proc/self/mountinfo
'

test_done
