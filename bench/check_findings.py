#!/usr/bin/env python3
"""Checks that every peer reports the same SG001 findings as scopegate.

    check_findings.py SCOPEGATE.json [spectral:FILE.json] [redocly:FILE.json] ...

SCOPEGATE.json is `scopegate lint --format json`; a spectral file is Spectral's JSON (the CLI's
`--format json`, or bench/spectral/warm.mjs's OUT.json); a redocly file is `redocly lint
--format json` with bench/redocly/plugin.js. Always compared: the number of findings and the
multiset of read-only scope lists. Also compared, where the peer names them: (METHOD, path,
scopes) triples (Spectral gives the path only for findings in the root document; findings in
a `$ref`-ed file carry that file's pointer instead, so they are compared by scopes only).
Exits 1 on any difference.
"""
import collections
import json
import re
import sys

ours = json.load(open(sys.argv[1]))["findings"]
our_scopes = collections.Counter(", ".join(f"'{s}'" for s in f["scopes"]) for f in ours)
our_triples = {(f["method"], f["path"], ", ".join(f"'{s}'" for s in f["scopes"])) for f in ours}

ok = True
for arg in sys.argv[2:]:
    kind, path = arg.split(":", 1)
    data = json.load(open(path))
    triples = set()
    if kind == "spectral":
        found = [f for f in data if f["code"] == "readonly-scope-on-mutation"]
        scopes = collections.Counter(f["message"].split("[", 1)[1].rstrip("]") for f in found)
        for f in found:
            if len(f["path"]) >= 3 and f["path"][0] == "paths":
                triples.add((f["path"][2].upper(), f["path"][1], f["message"].split("[", 1)[1].rstrip("]")))
    elif kind == "redocly":
        found = [p for p in data["problems"] if p["ruleId"].endswith("readonly-scope-on-mutation")]
        scopes = collections.Counter()
        for p in found:
            m = re.match(r"(\S+) (\S+) accepts readonly scopes \[(.*)\]$", p["message"])
            scopes[m.group(3)] += 1
            triples.add((m.group(1), m.group(2), m.group(3)))
    else:
        sys.exit(f"unknown peer kind `{kind}`")
    same = len(found) == len(ours) and scopes == our_scopes and triples <= our_triples
    named = len(triples)
    print(f"{kind} {path}: {len(found)} findings (scopegate {len(ours)}); scopes {'equal' if scopes == our_scopes else 'DIFFERENT'}; "
          f"{named} with method and path, {'all' if triples <= our_triples else 'NOT all'} among scopegate's")
    if not same:
        ok = False
        print("  only the peer:", sorted(set(triples) - our_triples)[:10], file=sys.stderr)
        print("  scope lists differing:", (scopes - our_scopes) + (our_scopes - scopes), file=sys.stderr)
sys.exit(0 if ok else 1)
