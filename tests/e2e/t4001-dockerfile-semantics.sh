#!/bin/sh
# t4001: Dockerfile semantics that only show in a build (issue #14 items 1-5,
# 10): heredocs with a space after <<, escapes in COPY heredocs, shebang RUN
# heredocs, ONBUILD RUN heredocs, an escaped escape at the end of a line,
# ADD --unpack.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
ln -sf busybox "$TRASH/ctx/rootfs/bin/awk"

test_expect_success 'a base image' '
    printf "FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\n" >ctx/Dockerfile &&
    strata build -q -t sem-base ctx >/dev/null
'

test_expect_success 'RUN and COPY heredocs with a space before the delimiter' '
    cat >ctx/Dockerfile.space <<-\DF &&
	FROM sem-base
	RUN cat > /app.conf << EOF
	key=value
	EOF
	COPY << EOT /motd
	hello
	EOT
	RUN 3<<  FD cat <&3 >/fd.txt
	fd three
	FD
	CMD ["cat", "/app.conf", "/motd", "/fd.txt"]
	DF
    strata build -f ctx/Dockerfile.space -t sem-space ctx 2>log &&
    strata run sem-space >out &&
    printf "key=value\nhello\nfd three\n" >want && diff want out
'

test_expect_success 'escapes in an unquoted COPY heredoc are removed, as BuildKit does' '
    cat >ctx/Dockerfile.esc <<-\DF &&
	FROM sem-base
	ENV host=example
	COPY <<EOF /nginx.conf
	proxy_set_header Host \$host;
	back\\slash $host
	EOF
	COPY <<"RAW" /raw.conf
	kept \$host
	RAW
	CMD ["cat", "/nginx.conf", "/raw.conf"]
	DF
    strata build -f ctx/Dockerfile.esc -t sem-esc ctx 2>log &&
    strata run sem-esc >out &&
    printf "proxy_set_header Host \$host;\nback\\\\slash example\nkept \\\\\$host\n" >want &&
    diff want out
'

test_expect_success 'a RUN heredoc starting with a shebang runs with its interpreter' '
    cat >ctx/Dockerfile.awk <<-\DF &&
	FROM sem-base
	RUN <<EOF
	#!/bin/awk -f
	BEGIN { print "from awk" > "/awk.out" }
	EOF
	RUN <<-EOF
		#!/bin/sh
		echo "tabs stripped: $0" >/sh.out
	EOF
	CMD ["cat", "/awk.out", "/sh.out"]
	DF
    strata build -f ctx/Dockerfile.awk -t sem-awk ctx 2>log &&
    strata run sem-awk >out &&
    printf "from awk\ntabs stripped: /dev/pipes/EOF\n" >want && diff want out &&
    # the heredoc files are gone from the image itself (strata run would show a fresh /dev)
    strata build -f ctx/Dockerfile.awk -o type=local,dest=awkfs ctx 2>log &&
    test -f awkfs/awk.out && test ! -e awkfs/dev/pipes/EOF
'

test_expect_success 'ONBUILD RUN and COPY heredocs run in the child build' '
    cat >ctx/Dockerfile.onb <<-\DF &&
	FROM sem-base
	ONBUILD RUN <<EOF
	echo on build >/onbuild.txt
	EOF
	ONBUILD COPY <<CFG /cfg
	a=1
	CFG
	DF
    strata build -f ctx/Dockerfile.onb -t sem-onb ctx 2>log &&
    printf "FROM sem-onb\nCMD [\"cat\", \"/onbuild.txt\", \"/cfg\"]\n" >ctx/Dockerfile.child &&
    strata build -f ctx/Dockerfile.child -t sem-child ctx 2>log &&
    strata run sem-child >out &&
    printf "on build\na=1\n" >want && diff want out
'

test_expect_success 'ENV C=trailing\\ does not swallow the next line' '
    cat >ctx/Dockerfile.eol <<-\DF &&
	FROM sem-base
	ENV C=trailing\\
	ENV D=next
	CMD ["sh", "-c", "echo \"$C|$D\""]
	DF
    strata build -f ctx/Dockerfile.eol -t sem-eol ctx 2>log &&
    strata run sem-eol >out &&
    test "$(cat out)" = "trailing\\|next"
'

test_expect_success 'ADD --unpack=false keeps a local archive; the default unpacks it' '
    mkdir -p tarsrc && echo intar >tarsrc/f && tar -C tarsrc -czf ctx/a.tar.gz f &&
    cat >ctx/Dockerfile.unpack <<-\DF &&
	FROM sem-base
	ADD --unpack=false a.tar.gz /kept/
	ADD a.tar.gz /unpacked/
	CMD ["ls", "/kept", "/unpacked"]
	DF
    strata build -f ctx/Dockerfile.unpack -t sem-unpack ctx 2>log &&
    strata run sem-unpack >out &&
    grep -x a.tar.gz out && grep -x f out
'

test_done
