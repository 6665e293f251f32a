#!/usr/bin/env python3
"""Writes a synthetic native manifest with N endpoint methods (default 100 000) to stdout.

25 permission classes (some extending others, some with exception notes) and N/4 endpoints
with four methods each (GET, POST, PUT, DELETE), every status present; about one mutation in
eight admits a read-only scope.
"""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
readonly = ["org:read", "project:read", "team:read", "member:read", "event:read", "alerts:read"]
writes = ["org:write", "project:write", "team:write", "member:write", "event:write", "alerts:write"]
permissions = {}
for i in range(25):
    ro, rw = readonly[i % 6], writes[i % 6]
    mutation = [rw, "org:admin"] + ([ro] if i % 8 == 0 else [])
    cls = {
        "object": ["organization", "project", "team"][i % 3],
        "scope_map": {"GET": [ro, rw], "POST": mutation, "PUT": mutation, "DELETE": [rw]},
    }
    if i % 5 == 4:
        cls = {"extends": f"bench.Permission{i - 1}"}
    if i == 16:
        cls["readonly_mutation_scope_exceptions"] = {"POST": "Benchmark: a documented exception."}
    permissions[f"bench.Permission{i}"] = cls
statuses = ["public", "private", "experimental", "unknown"]
endpoints = []
for e in range(n // 4):
    endpoints.append({
        "name": f"bench.endpoints.module{e // 100}.Endpoint{e}",
        "path": f"/api/0/bench/{e}/",
        "permissions": [f"bench.Permission{e % 25}"],
        "publish_status": {m: statuses[(e + k) % 4] for k, m in enumerate(["GET", "POST", "PUT", "DELETE"])},
        "owner": "bench",
    })
json.dump({"permissions": permissions, "endpoints": endpoints}, sys.stdout, indent=1)
