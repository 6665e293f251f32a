// Spectral custom function: scopegate's SG001 over OpenAPI (product.md §6).
//
// `security` is a list of alternatives (OR); schemes in one alternative are all required
// (AND); an operation's `security` replaces the root one; `[]` means no auth; `{}` asks for
// no scope. With scopeList "all" an alternative qualifies when it lists at least one scope
// and every scope is read-only; with "any" when some scheme lists scopes and every scheme
// that lists scopes lists a read-only one.
'use strict';

function globToRegExp(pattern) {
  const escaped = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp('^' + escaped.join('.*') + '$');
}

module.exports = function readonlyMutation(operation, options, context) {
  if (operation === null || typeof operation !== 'object') return;
  const note = operation['x-readonly-mutation-exception'];
  if (typeof note === 'string' && note.trim() !== '') return;
  const patterns = (options.readonly || []).map(globToRegExp);
  const isReadonly = (s) => patterns.some((p) => p.test(s));
  const root = context.document.data || {};
  const security = Array.isArray(operation.security) ? operation.security : root.security;
  if (!Array.isArray(security)) return;
  const scopes = new Set();
  for (const alternative of security) {
    if (alternative === null || typeof alternative !== 'object') continue;
    const schemes = Object.values(alternative).filter(Array.isArray);
    const listed = schemes.flat();
    if (listed.length === 0) continue;
    const ok =
      options.scopeList === 'all'
        ? listed.every(isReadonly)
        : schemes.filter((s) => s.length > 0).every((s) => s.some(isReadonly));
    if (ok) listed.filter(isReadonly).forEach((s) => scopes.add(s));
  }
  if (scopes.size === 0) return;
  const list = [...scopes].sort().map((s) => `'${s}'`).join(', ');
  return [{ message: `accepts readonly scopes [${list}]` }];
};
