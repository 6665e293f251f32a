#!/usr/bin/env python3
"""An independent, naive implementation of SG001 over an OpenAPI JSON document (product.md §6),
to check scopegate's findings on real vendor documents.

usage: reference_sg001.py DOC.json all|any PATTERN...   (prints METHOD<TAB>path<TAB>scopes)
"""
import json, sys, re
def glob(p):
    return re.compile('^' + '.*'.join(re.escape(x) for x in p.split('*')) + '$')
doc = json.load(open(sys.argv[1])); mode = sys.argv[2]; pats = [glob(p) for p in sys.argv[3:]]
ro = lambda s: any(p.match(s) for p in pats)
out = []
for path, item in doc.get('paths', {}).items():
    for m in ['post', 'put', 'patch', 'delete']:
        op = item.get(m)
        if not isinstance(op, dict): continue
        note = op.get('x-readonly-mutation-exception')
        if isinstance(note, str) and note.strip(): continue
        sec = op['security'] if 'security' in op else doc.get('security', [])
        scopes = set()
        for alt in sec:
            listed = [s for v in alt.values() for s in v]
            if not listed: continue
            if mode == 'all': ok = all(ro(s) for s in listed)
            else: ok = all(any(ro(s) for s in v) for v in alt.values() if v)
            if ok: scopes |= {s for s in listed if ro(s)}
        if scopes: out.append((m.upper(), path, ' '.join(sorted(scopes))))
for o in sorted(out): print('\t'.join(o))
