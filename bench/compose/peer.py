#!/usr/bin/env python3
"""The peer: PyYAML's C loader (libyaml) reading the same file and printing
it as JSON (no interpolation, no validation: strictly less work than
`strata compose config --format json`)."""
import json, sys, yaml
with open(sys.argv[1]) as f:
    d = yaml.load(f, Loader=yaml.CSafeLoader)
json.dump(d, sys.stdout, indent=2, sort_keys=True)
