# cache-fixture.sh — sourced by the t8xxx tests after lib.sh: builds an OCI
# layout with two images and pushes nothing. Sets:
#   $FIX/layout          app (inline cache: 3 steps, 2 stages), plain (no metadata)
#   LA LB LC             the layer digests of app (stage 0: LA, LB; stage 1: LC)
#   K1 K2 K3             the cache keys of app's steps
FIX="$TRASH/fixture"
mkdir -p "$FIX/a/src" "$FIX/b" "$FIX/c"
echo 'int main(void) { return 0; }' >"$FIX/a/src/main.c"
echo 'built' >"$FIX/b/out"
echo 'final' >"$FIX/c/app"
make_layer_tgz "$FIX/a" "$FIX/la.tgz"
make_layer_tgz "$FIX/b" "$FIX/lb.tgz"
make_layer_tgz "$FIX/c" "$FIX/lc.tgz"
LA="sha256:$(sha256sum "$FIX/la.tgz" | cut -d" " -f1)"
LB="sha256:$(sha256sum "$FIX/lb.tgz" | cut -d" " -f1)"
LC="sha256:$(sha256sum "$FIX/lc.tgz" | cut -d" " -f1)"
K1="sha256:$(echo k1 | sha256sum | cut -d" " -f1)"
K2="sha256:$(echo k2 | sha256sum | cut -d" " -f1)"
K3="sha256:$(echo k3 | sha256sum | cut -d" " -f1)"
MAINC="sha256:$(sha256sum "$FIX/a/src/main.c" | cut -d" " -f1)"
FIX_STEPS=$(jq -nc --arg k1 "$K1" --arg k2 "$K2" --arg k3 "$K3" --arg m "$MAINC" '[
  {key:$k1, layer:0, stage:0, pos:0, line:2, insn:"COPY src/ /src/",
   inputs:{parent:"sha256:0000000000000000000000000000000000000000000000000000000000000000",
           insn:"COPY src/ /src/", sources:"s1", files:{"src/main.c":$m}}},
  {key:$k2, layer:1, stage:0, pos:1, line:3, insn:"RUN make",
   inputs:{parent:$k1, insn:"RUN make", args:{VERSION:"1.0"}}},
  {key:$k3, layer:2, stage:1, pos:0, line:6, insn:"COPY --from=build /out /app",
   inputs:{parent:$k2, insn:"COPY --from=build /out /app"}}]')
make_cached_oci_image "$FIX/layout" app "$FIX_STEPS" "$FIX/la.tgz" "$FIX/lb.tgz" "$FIX/lc.tgz"
APP_CONFIG_SIZE=$OCI_CONFIG_SIZE
APP_MANIFEST_SIZE=$OCI_MANIFEST_SIZE
make_oci_image "$FIX/layout" plain "$FIX/la.tgz"

# fixture_push HOSTPORT: push app to REPO app:latest and plain to plain:latest
fixture_push() {
    skopeo copy -q --dest-tls-verify=false "oci:$FIX/layout:app" "docker://$1/app:latest" &&
    skopeo copy -q --dest-tls-verify=false "oci:$FIX/layout:plain" "docker://$1/plain:latest"
}

# blob_gets LOG: the blob GET lines of an access log (strata registry or docker-registry)
blob_gets() {
    grep -E '"?GET /v2/[^ ]*/blobs/sha256:' "$1" || true
}
