#!/usr/bin/env python3
"""Write a realistic generated Dockerfile of about N lines (default 1000) to stdout."""
import sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
out = ["# syntax=docker/dockerfile:1", "ARG GO_VERSION=1.22", "ARG BASE=debian:12"]
stage = 0
while len(out) < n:
    name = f"s{stage}"
    out.append(f"FROM ${{BASE}} AS {name}")
    out.append("ARG GO_VERSION TARGETARCH")
    out.append(f"ENV APP=app{stage} PATH=/usr/local/go/bin:$PATH HOME=/root")
    out.append(f"WORKDIR /src/${{APP}}")
    for i in range(30):
        k = i % 6
        if k == 0:
            out += ["RUN --mount=type=cache,target=/root/.cache/go-build,id=go-$TARGETARCH \\",
                    f"    set -eux; \\", f"    echo step {i} && \\", "    # a comment inside", "    true"]
        elif k == 1:
            out.append(f"COPY --chown=1000:1000 --link src/{i}/ /src/$APP/{i}/")
        elif k == 2:
            out.append(f'LABEL org.example.step{i}="${{APP}}-{i}" version=${{GO_VERSION:-dev}}')
        elif k == 3:
            out += [f"COPY <<EOF /etc/app{i}.conf", f"name=$APP", f"step={i}", "EOF"]
        elif k == 4:
            src = f"s{stage-1}" if stage else "0"
            if stage:
                out.append(f"COPY --from={src} /src/app{stage-1}/out /deps/{i}")
            else:
                out.append(f"ENV STEP{i}=\"value {i}\"")
        else:
            out.append(f'RUN ["/bin/sh", "-c", "echo exec {i}"]')
    out += ["EXPOSE 8080 9000-9003/udp", "USER 1000:1000", 'CMD ["app"]']
    stage += 1
print("\n".join(out[:n] if out[n-1:n] and not out[n-1].endswith("\\") else out))
