#!/bin/sh
# t5203-rootless-run: as ordinary users (with and without subordinate ids),
# every RUN --mount type (bind ro and rw, cache, tmpfs, secret, bind from a
# stage, cache from a stage), --network none and host, USER, COPY --from and
# `strata run` with its options. Nothing mounted is left behind.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup

test_expect_success 'setup: a context using every mount type' '
    mkdir -p ctx/files && make_busybox_rootfs ctx/rootfs && echo a >ctx/files/a.txt &&
    echo s3cret >secret.txt && chmod a+r secret.txt &&
    cat >ctx/Dockerfile <<-\EOF &&
	FROM scratch AS base
	COPY rootfs/ /
	FROM base AS seed
	RUN mkdir -p /seed && echo seeded >/seed/s
	FROM base
	RUN --mount=type=bind,source=files,target=/src cat /src/a.txt >/copied && ! touch /src/ro 2>/dev/null
	RUN --mount=type=bind,source=files,target=/src,rw echo w >/src/written && test -e /src/written
	RUN --mount=type=bind,from=seed,source=/seed,target=/s cat /s/s >/from-stage
	RUN --mount=type=cache,target=/cache echo x >>/cache/n && wc -l </cache/n >/count
	RUN --mount=type=cache,target=/c2,from=seed,source=/seed cat /c2/s >/cache-seeded
	RUN --mount=type=tmpfs,target=/scratch touch /scratch/t && test ! -e /scratch/../copied2
	RUN --mount=type=secret,id=tok wc -c </run/secrets/tok >/secret-len && test ! -s /run/secrets/missing
	RUN --mount=type=secret,id=tok,env=TOK test "${TOK%?}" = s3cret -o "$TOK" = s3cret
	RUN --network=none grep -c : /proc/net/dev >/ifaces
	RUN grep -c : /proc/net/dev >/host-ifaces
	COPY --from=seed /seed/s /copied-from
	RUN echo x >/by-nobody && chown 65534:65534 /by-nobody 2>/dev/null || true
	CMD ["cat", "/copied", "/from-stage", "/count", "/cache-seeded", "/ifaces", "/copied-from"]
	EOF
    chmod -R a+rX ctx
'

for u in strata-rl-sub strata-rl-nosub; do
    AS="$TRASH/as-$u"
    test_expect_success "$u: every RUN --mount type, --network none" '
        "$AS" build --progress plain -t mnt --secret id=tok,src="$TRASH/secret.txt" ctx 2>log ||
            { cat log; false; } &&
        "$AS" run mnt >out 2>err || { cat err; false; } &&
        printf "a\nseeded\n1\nseeded\n1\nseeded\n" >want && diff want out &&
        test ! -e ctx/files/written &&
        test "$("$AS" run mnt cat /host-ifaces)" = "$(grep -c : /proc/net/dev)" &&
        ! grep -r s3cret "$TRASH/home-$u/.local/share/strata/build/snapshots" &&
        ! grep -q " $TRASH" /proc/self/mountinfo
    '

    test_expect_success "$u: the cache mount persists across builds" '
        "$AS" build --progress plain --no-cache -t mnt --secret id=tok,src="$TRASH/secret.txt" ctx 2>log ||
            { cat log; false; } &&
        test "$("$AS" run mnt cat /count)" = 2
    '

    test_expect_success "$u: strata run: --network none, -e, -w, --entrypoint, exit codes" '
        test "$("$AS" run --network none mnt grep -c : /proc/net/dev)" = 1 &&
        test "$("$AS" run -e X=y -w /tmp --entrypoint /bin/sh mnt -c "echo \$X \$(pwd)")" = "y /tmp" &&
        test_exit_code 3 "$AS" run mnt sh -c "exit 3"
    '
done

test_expect_success 'with subordinate ids: USER 1000 and ids in the map work' '
    test "$("$TRASH/as-strata-rl-sub" run -u 1000:1000 mnt id -u)" = 1000 &&
    test "$("$TRASH/as-strata-rl-sub" run mnt ls -ln /by-nobody | sed "s/  */ /g" | cut -d" " -f3)" = 65534
'

test_expect_success 'without: USER 1000 fails naming /etc/subuid' '
    test_must_fail "$TRASH/as-strata-rl-nosub" run -u 1000 mnt id -u 2>err && cat err &&
    grep "switch to user .1000.*add a range for strata-rl-nosub to /etc/subuid" err
'

test_done
