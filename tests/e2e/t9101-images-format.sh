#!/bin/sh
# t9101: strata images (CREATED is the image's own time, newest first,
# --format with docker's fields and json, a repository filter, -a) and
# strata inspect --format with Go templates (issue 18).
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"

test_expect_success 'a base image imported long ago, two images built from it' '
    make_busybox_tar bb.tar &&
    strata import bb.tar base/bb:1 >/dev/null &&
    strata inspect --format config base/bb:1 | jq -r .created >base-created &&
    sleep 1 && # the built image must be newer than its base, to the second
    printf "FROM base/bb:1\nRUN echo one >/one\n" >ctx/Dockerfile.one &&
    printf "FROM base/bb:1\nENV X=1\nRUN echo two >/two\n" >ctx/Dockerfile.two &&
    SOURCE_DATE_EPOCH=1000000000 strata build -q -f ctx/Dockerfile.one -t app/one:1 ctx >id1 2>/dev/null &&
    strata build -q -f ctx/Dockerfile.two -t app/two:1 ctx >id2 2>/dev/null
'

test_expect_success 'CREATED is the image own time, not its base image time' '
    strata inspect -f "{{.Created}}" app/one:1 >c1 && echo 2001-09-09T01:46:40Z >want && cmp want c1 &&
    strata inspect -f "{{.Created}}" app/two:1 >c2 && ! cmp c2 base-created &&
    strata images >out &&
    grep -E "^app/two +1 +$(cut -c8-19 id2) +(Less than a second|[0-9]+ seconds?) ago +" out &&
    grep -E "^app/one +1 +$(cut -c8-19 id1) +2[0-9] years ago +" out
'

test_expect_success 'a no-op rebuild keeps its image id (and its time)' '
    strata build -q -f ctx/Dockerfile.two -t app/two:1 ctx >id2b 2>/dev/null && cmp id2 id2b
'

test_expect_success 'rows are sorted newest first' '
    strata images --format "{{.Repository}}:{{.Tag}}" >order &&
    printf "app/two:1\nbase/bb:1\napp/one:1\n" >want &&
    cmp want order
'

test_expect_success '--format with docker fields, table and json' '
    strata images --format "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Size}}|{{.CreatedSince}}" app/two >f &&
    grep -xE "app/two\|1\|$(cut -c8-19 id2)\|[0-9.]+MB\|(Less than a second|[0-9]+ seconds?) ago" f &&
    test "$(wc -l <f)" = 1 &&
    strata images --format "table {{.Repository}}\t{{.Tag}}\t{{.ID}}" app/one >t &&
    printf "REPOSITORY   TAG   IMAGE ID\napp/one      1     %s\n" "$(cut -c8-19 id1)" >want &&
    cmp want t &&
    strata images --format json >j &&
    test "$(wc -l <j)" = 3 &&
    jq -se ".[0].Repository == \"app/two\" and .[0].Tag == \"1\" and .[0].ID == \"$(cut -c8-19 id2)\" and (.[0].Size | test(\"MB$\")) and (.[0].CreatedSince | test(\"ago$\")) and (.[2].CreatedAt == \"2001-09-09 01:46:40 +0000 UTC\")" j
'

test_expect_success 'an unknown --format field is one usage error naming it' '
    test_exit_code 2 strata images --format "{{.Repo}}" 2>err &&
    grep -x "strata images: --format: column 1: {{.Repo}}: no such field" err &&
    test "$(grep -c . err)" = 2
'

test_expect_success 'a repository filter, with tag and wildcards' '
    strata images -q app/one >q && test "$(cat q)" = "$(cut -c8-19 id1)" &&
    strata images --format "{{.Repository}}" "app/*" >w && printf "app/two\napp/one\n" >want && cmp want w &&
    strata images --format "{{.Repository}}" "docker.io/base/bb:1" >b && echo base/bb >want && cmp want b &&
    strata images --format "{{.Repository}}" app/one:2 >none && test ! -s none &&
    test_exit_code 2 strata images a b 2>err && grep "one REPOSITORY\[:TAG\] filter at most" err
'

test_expect_success 'images -a lists the same images (no intermediate images)' '
    strata images >plain && strata images -a >all && cmp plain all
'

test_expect_success 'inspect --format: docker templates, one line per image' '
    strata inspect -f "{{.Id}} {{index .RepoTags 0}} {{.Os}} {{len}}" app/two:1 2>err; test $? = 2 &&
    grep "{{len}}: not understood" err &&
    strata inspect -f "{{.Id}} {{index .RepoTags 0}} {{.Os}}" app/two:1 app/one:1 >i &&
    printf "%s app/two:1 linux\n%s app/one:1 linux\n" "$(cat id2)" "$(cat id1)" >want && cmp want i &&
    strata inspect -f "{{.Config.Env}}|{{json .Config.Env}}|{{.Config.Labels}}|{{.Config.Nope}}|{{len .RootFS.Layers}}" app/two:1 >e &&
    cat e && grep -x "\[\(PATH=[^ ]* \)\?X=1\]|\[\(\"PATH=[^ ]*\",\)\?\"X=1\"\]|map\[\]|<no value>|2" e &&
    strata inspect -f "{{json .RootFS.Layers}}" app/two:1 | jq -e "length == 2" &&
    strata inspect -f "{{.ImageConfig.architecture}}" app/two:1 >a && test "$(cat a)" = "$(dpkg --print-architecture)"
'

test_expect_success 'inspect --format: an unknown field or format is a usage error' '
    test_exit_code 2 strata inspect -f "{{.Nope}}" app/two:1 2>err &&
    grep -x "strata inspect: --format: column 1: {{.Nope}}: no such field" err &&
    test_exit_code 2 strata inspect -f yaml app/two:1 2>err &&
    grep -x "strata inspect: --format must be json, manifest, config or a {{template}}, not .yaml." err
'

test_done
