#!/usr/bin/env python3
"""A realistic split OpenAPI 3.0 specification, DigitalOcean-style, for the lint bench.

DigitalOcean's public specification (split over ~1,500 YAML files: the root lists paths whose
operations are `$ref`s to one file per operation, which `$ref` shared parameters, responses
and models) is not downloadable here (only npm, PyPI and crates.io are reachable, and no npm
package ships it), so this script generates one of the same shape, deterministically:

    gen_split_spec.py split OUTDIR RESOURCES   # OUTDIR/openapi.yaml + ~6 files per resource
    gen_split_spec.py single OUT.yaml RESOURCES  # the same API as one YAML document, no $ref

Per resource `rN`: `GET/POST /v2/rN`, `GET/PUT/PATCH/DELETE /v2/rN/{id}`, each operation in
its own file (split) with `security` naming OAuth scopes `rN:read`, `rN:write`, `rN:admin`;
one mutation in seven also accepts `rN:read` (a finding of SG001 / the equivalent rules), and
one of those in three carries `x-readonly-mutation-exception` (not a finding). Models `$ref`
shared models and each other; parameters and error responses are shared files.

Prints the number of expected findings (mutations admitting a read-only scope, no exception)
on stderr and writes it to OUTDIR/expected-findings.txt (split) or OUT.yaml.expected (single).
"""

import os
import sys

METHODS_COLLECTION = ["get", "post"]
METHODS_ITEM = ["get", "put", "patch", "delete"]


def dump(value, indent=0):
    """A small YAML emitter (block style) for dicts, lists, strings, numbers, booleans."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            key = k if all(c.isalnum() or c in "_-./{}$" for c in k) and k[0] not in "/{$" and not k.isdigit() else "'" + k + "'"
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{key}:")
                out.append(dump(v, indent + 1))
            else:
                out.append(f"{pad}{key}: {scalar(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                inner = dump(v, indent + 1).lstrip()
                out.append(f"{pad}- {inner}")
            else:
                out.append(f"{pad}- {scalar(v)}")
    return "\n".join(out)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return "'" + str(v).replace("'", "''") + "'"


def security(r, method, k):
    """The operation's security and whether it is an expected finding."""
    if method == "get":
        return [{"oauth": [f"r{r}:read"]}, {"bearer": []}], None, False
    if method == "delete":
        scopes = [f"r{r}:admin"]
    else:
        scopes = [f"r{r}:write", f"r{r}:admin"]
    finding = k % 7 == 3
    note = None
    if finding:
        scopes = [f"r{r}:read"] + scopes
        if k % 21 == 3:
            note = "read-only callers may create drafts here"
            finding = False
    return [{"oauth": scopes}], note, finding


def operation(r, method, item, k, ref):
    """One operation; `ref(kind, name)` makes a reference (a file or a components entry)."""
    sec, note, finding = security(r, method, k)
    op = {
        "operationId": f"r{r}_{'get' if item and method == 'get' else method}{'_one' if item else '_list'}",
        "summary": f"{method.upper()} resource r{r}",
        "description": f"Operates on resource r{r}. " * 3,
        "tags": [f"Resource {r % 50}"],
    }
    params = []
    if item:
        params.append({"$ref": ref("parameters", "id")})
    if method == "get" and not item:
        params += [{"$ref": ref("parameters", "per_page")}, {"$ref": ref("parameters", "page")}]
    if params:
        op["parameters"] = params
    if method in ("post", "put", "patch"):
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": ref("models", f"r{r}")}}},
        }
    op["responses"] = {
        "200" if method != "delete" else "204": (
            {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": ref("models", f"r{r}")}}},
            }
            if method != "delete"
            else {"description": "No content"}
        ),
        "401": {"$ref": ref("responses", "unauthorized")},
        "404": {"$ref": ref("responses", "not_found")},
        "default": {"$ref": ref("responses", "unexpected_error")},
    }
    op["security"] = sec
    if note:
        op["x-readonly-mutation-exception"] = note
    return op, finding


def model(r, n, ref):
    props = {
        "id": {"type": "string", "format": "uuid", "readOnly": True},
        "name": {"type": "string", "maxLength": 255},
        "created_at": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "meta": {"$ref": ref("models", "meta")},
        "links": {"$ref": ref("models", "links")},
    }
    if r > 0:
        props["parent"] = {"$ref": ref("models", f"r{(r * 7) % r}")}
    for i in range(6):
        props[f"field_{i}"] = {"type": ["string", "integer", "boolean"][i % 3], "description": f"Field {i} of r{r}."}
    return {"type": "object", "required": ["id", "name"], "properties": props}


SHARED = {
    "parameters": {
        "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
        "per_page": {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
        "page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    },
    "responses": {
        "unauthorized": {"description": "Unauthorized", "content": {"application/json": {"schema": {"$ref": "ERROR"}}}},
        "not_found": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "ERROR"}}}},
        "unexpected_error": {"description": "Unexpected error", "content": {"application/json": {"schema": {"$ref": "ERROR"}}}},
    },
    "models": {
        "error": {"type": "object", "properties": {"id": {"type": "string"}, "message": {"type": "string"}}},
        "meta": {"type": "object", "properties": {"total": {"type": "integer"}}},
        "links": {"type": "object", "properties": {"pages": {"type": "object", "additionalProperties": {"type": "string"}}}},
    },
}

ROOT = {
    "openapi": "3.0.3",
    "info": {"title": "Generated split API", "version": "2.0", "description": "DigitalOcean-shaped, generated."},
    "servers": [{"url": "https://api.example.invalid"}],
}

SCHEMES = lambda n: {
    "oauth": {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://example.invalid/authorize",
                "tokenUrl": "https://example.invalid/token",
                "scopes": {f"r{r}:{s}": f"{s} r{r}" for r in range(n) for s in ("read", "write", "admin")},
            }
        },
    },
    "bearer": {"type": "http", "scheme": "bearer"},
}


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(dump(value) + "\n")


def split(out, n):
    findings = 0
    paths = {}
    k = 0
    for r in range(n):
        def ref(kind, name, depth=2):
            if kind == "models" and name.startswith("r"):
                return f"{'../' * depth}resources/{name}/model.yml"
            return f"{'../' * depth}shared/{kind}/{name}.yml"
        for item, methods in ((False, METHODS_COLLECTION), (True, METHODS_ITEM)):
            p = f"/v2/r{r}" + ("/{id}" if item else "")
            paths[p] = {}
            for m in methods:
                op, f = operation(r, m, item, k, ref)
                k += 1
                findings += f
                name = f"r{r}_{m}{'_one' if item else '_list'}.yml"
                write(f"{out}/resources/r{r}/{name}", op)
                paths[p][m] = {"$ref": f"resources/r{r}/{name}"}
        write(f"{out}/resources/r{r}/model.yml", model(r, n, lambda kind, name: ref(kind, name, 2).replace("../../resources/", "../")))
    for kind, entries in SHARED.items():
        for name, value in entries.items():
            text = dump(value).replace("'ERROR'", "'../models/error.yml'")
            os.makedirs(f"{out}/shared/{kind}", exist_ok=True)
            with open(f"{out}/shared/{kind}/{name}.yml", "w") as fh:
                fh.write(text + "\n")
    root = dict(ROOT)
    root["security"] = [{"bearer": []}]
    root["paths"] = paths
    root["components"] = {"securitySchemes": SCHEMES(n)}
    write(f"{out}/openapi.yaml", root)
    with open(f"{out}/expected-findings.txt", "w") as fh:
        fh.write(f"{findings}\n")
    return findings


def single(out, n):
    findings = 0
    paths = {}
    k = 0
    def ref(kind, name):
        return f"#/components/{'schemas' if kind == 'models' else kind}/{name}"
    for r in range(n):
        for item, methods in ((False, METHODS_COLLECTION), (True, METHODS_ITEM)):
            p = f"/v2/r{r}" + ("/{id}" if item else "")
            paths[p] = {}
            for m in methods:
                op, f = operation(r, m, item, k, ref)
                k += 1
                findings += f
                paths[p][m] = op
    schemas = {f"r{r}": model(r, n, ref) for r in range(n)}
    schemas.update(SHARED["models"])
    root = dict(ROOT)
    root["security"] = [{"bearer": []}]
    root["paths"] = paths
    responses = {}
    for name, value in SHARED["responses"].items():
        responses[name] = value
    root["components"] = {
        "securitySchemes": SCHEMES(n),
        "parameters": SHARED["parameters"],
        "responses": responses,
        "schemas": schemas,
    }
    text = dump(root).replace("'ERROR'", "'#/components/schemas/error'")
    with open(out, "w") as fh:
        fh.write(text + "\n")
    with open(out + ".expected", "w") as fh:
        fh.write(f"{findings}\n")
    return findings


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("split", "single"):
        sys.exit(__doc__)
    mode, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    f = split(out, n) if mode == "split" else single(out, n)
    print(f"{f} expected findings", file=sys.stderr)
