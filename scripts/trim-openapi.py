#!/usr/bin/env python3
"""Trims an OpenAPI document to what `scopegate lint` reads, for a test fixture.

Keeps every path and operation (so operation and mutation counts hold) with its
`operationId`, `security` and `x-readonly-*` extensions, the top-level `security`, and
`components.securitySchemes`; drops descriptions, parameters, bodies and responses.

Usage: scripts/trim-openapi.py FULL.json > fixtures/sentry/openapi.json
"""
import json
import sys

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def trim(doc):
    out = {
        "openapi": doc["openapi"],
        "info": {"title": doc["info"].get("title"), "version": doc["info"].get("version")},
    }
    if "security" in doc:
        out["security"] = doc["security"]
    paths = {}
    for path, item in doc["paths"].items():
        kept = {}
        for key, value in item.items():
            if key in METHODS:
                op = {f: value[f] for f in ("operationId", "security") if f in value}
                op.update({f: v for f, v in value.items() if f.startswith("x-readonly")})
                op["responses"] = {}
                kept[key] = op
            elif key == "security" or key.startswith("x-readonly"):
                kept[key] = value
        paths[path] = kept
    out["paths"] = paths
    out["components"] = {
        "securitySchemes": doc.get("components", {}).get("securitySchemes", {})
    }
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(trim(json.load(f)), indent=1))
