#!/usr/bin/env python3
"""Checks that Spectral's findings (JSON) equal scopegate's (JSON): same (method, path, scopes)."""
import json
import sys

spectral = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))
a = sorted(
    (f["path"][2].upper(), f["path"][1], f["message"].split("[", 1)[1].rstrip("]"))
    for f in spectral
    if f["code"] == "readonly-scope-on-mutation"
)
b = sorted(
    (f["method"], f["path"], ", ".join(f"'{s}'" for s in f["scopes"]))
    for f in ours["findings"]
)
if a != b:
    print("DIFFERENT", file=sys.stderr)
    print("only spectral:", sorted(set(a) - set(b)), file=sys.stderr)
    print("only scopegate:", sorted(set(b) - set(a)), file=sys.stderr)
    sys.exit(1)
print(f"equal: {len(a)} findings from each")
