// Redocly CLI plugin: scopegate's SG001 over OpenAPI (product.md §6), the same semantics as
// bench/spectral/functions/readonlyMutation.js: `security` is a list of alternatives (OR);
// schemes in one alternative are all required (AND); an operation's `security` replaces the
// root one; `[]` means no auth; `{}` asks for no scope. With scopeList "any" an alternative
// qualifies when some scheme lists scopes and every scheme that lists scopes lists a
// read-only one; with "all" when it lists at least one scope and every scope is read-only.
// `x-readonly-mutation-exception` with a non-empty note silences the finding.
'use strict';

const MUTATIONS = new Set(['post', 'put', 'patch', 'delete']);

function globToRegExp(pattern) {
  const escaped = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp('^' + escaped.join('.*') + '$');
}

function ReadonlyMutation(options) {
  const scopeList = (options && options.scopeList) || 'any';
  const patterns = ((options && options.readonly) || ['*:read']).map(globToRegExp);
  const isReadonly = (s) => patterns.some((p) => p.test(s));
  let rootSecurity;
  let path = '';
  return {
    Root: {
      enter(root) {
        rootSecurity = root.security;
      },
    },
    PathItem: {
      enter(_item, ctx) {
        path = String(ctx.key);
      },
    },
    Operation: {
      enter(operation, ctx) {
        const method = String(ctx.key).toLowerCase();
        if (!MUTATIONS.has(method)) return;
        const note = operation['x-readonly-mutation-exception'];
        if (typeof note === 'string' && note.trim() !== '') return;
        const security = Array.isArray(operation.security) ? operation.security : rootSecurity;
        if (!Array.isArray(security)) return;
        const scopes = new Set();
        for (const alternative of security) {
          if (alternative === null || typeof alternative !== 'object') continue;
          const schemes = Object.values(alternative).filter(Array.isArray);
          const listed = schemes.flat();
          if (listed.length === 0) continue;
          const ok =
            scopeList === 'all'
              ? listed.every(isReadonly)
              : schemes.filter((s) => s.length > 0).every((s) => s.some(isReadonly));
          if (ok) listed.filter(isReadonly).forEach((s) => scopes.add(s));
        }
        if (scopes.size === 0) return;
        const list = [...scopes].sort().map((s) => `'${s}'`).join(', ');
        ctx.report({
          message: `${method.toUpperCase()} ${path} accepts readonly scopes [${list}]`,
          location: ctx.location.key(),
        });
      },
    },
  };
}

module.exports = function scopegatePlugin() {
  return {
    id: 'scopegate',
    rules: {
      oas3: { 'readonly-scope-on-mutation': ReadonlyMutation },
      oas2: { 'readonly-scope-on-mutation': ReadonlyMutation },
    },
  };
};
