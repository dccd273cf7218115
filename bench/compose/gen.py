#!/usr/bin/env python3
"""gen.py N: a compose file with N services (every other one with a build
section using anchors/merge keys, args, labels, cache_from, tags, secrets),
interpolated image names, and x- extensions. Written to stdout."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
out = ["name: bench",
       "x-build: &build",
       "  context: .",
       "  cache_from:",
       "    - ${REGISTRY:-127.0.0.1:5000}/base:latest",
       "  args: &args",
       "    COMMON: \"1\"",
       "    REV: ${REVISION:-dev}",
       "services:"]
for i in range(n):
    out.append(f"  svc{i}:")
    out.append(f"    image: ${{REGISTRY:-127.0.0.1:5000}}/svc{i}:${{REVISION:-dev}}")
    if i % 2 == 0:
        out += ["    build:",
                "      <<: *build",
                f"      context: svc{i}",
                "      args:",
                "        <<: *args",
                f"        INDEX: \"{i}\"",
                "      labels:",
                f"        com.example.service: svc{i}",
                "        com.example.team: platform",
                "      tags:",
                f"        - ${{REGISTRY:-127.0.0.1:5000}}/svc{i}:latest",
                "      secrets: [npmrc]"]
    out += ["    environment:",
            "      - A=1",
            f"      - B=${{B_VALUE:-b{i}}}",
            "    ports:",
            f"      - \"{8000 + i}:80\"",
            "    depends_on: [svc0]" if i else "    restart: always"]
out += ["secrets:", "  npmrc:", "    file: ./npmrc"]
print("\n".join(out))
