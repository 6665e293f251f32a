// Spectral timed warm: its JavaScript API in one running Node process, the ruleset bundled
// and loaded once, then the document linted RUNS times (after WARMUP untimed runs). Each run
// reads the file, builds a `Document` (Spectral's YAML parser, which the CLI also uses for
// JSON) and runs a fresh `Spectral` instance with the loaded ruleset, so `$ref` resolution
// starts from an empty cache every run, as in a CLI run; only Node's start-up, module
// loading and the ruleset bundling are left out.
//
//   node bench/spectral/warm.mjs RULESET DOCUMENT [RUNS=20] [WARMUP=3] [OUT.json]
//
// Prints one JSON line: median, min and max milliseconds per run, and the number of
// findings of the rule; OUT.json gets the last run's findings in the CLI's JSON format
// (code, path, message), for bench/check_findings.py.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { Spectral, Document } = require('@stoplight/spectral-core');
const Parsers = require('@stoplight/spectral-parsers');
// The CLI's own ruleset loader (YAML ruleset migrated, custom functions bundled as CommonJS).
const { getRuleset } = require('@stoplight/spectral-cli/dist/services/linter/utils/getRuleset');

const [rulesetArg, docArg, runsArg = '20', warmupArg = '3', outArg] = process.argv.slice(2);
if (!rulesetArg || !docArg) {
  console.error('usage: node warm.mjs RULESET DOCUMENT [RUNS] [WARMUP] [OUT.json]');
  process.exit(2);
}
const docPath = path.resolve(docArg);
const ruleset = await getRuleset(path.resolve(rulesetArg));

async function once() {
  const text = await fs.promises.readFile(docPath, 'utf8');
  const spectral = new Spectral();
  spectral.setRuleset(ruleset);
  const document = new Document(text, Parsers.Yaml, docPath);
  return spectral.run(document);
}

for (let i = 0; i < Number(warmupArg); i++) await once();
const times = [];
let results = [];
for (let i = 0; i < Number(runsArg); i++) {
  const t = process.hrtime.bigint();
  results = await once();
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
times.sort((a, b) => a - b);
const findings = results.filter((r) => r.code === 'readonly-scope-on-mutation');
if (outArg) {
  fs.writeFileSync(
    outArg,
    JSON.stringify(findings.map((r) => ({ code: r.code, path: r.path, message: r.message, source: r.source }))),
  );
}
console.log(
  JSON.stringify({
    engine: 'spectral-warm',
    document: docArg,
    runs: times.length,
    median_ms: Math.round(times[Math.floor(times.length / 2)] * 10) / 10,
    min_ms: Math.round(times[0] * 10) / 10,
    max_ms: Math.round(times[times.length - 1] * 10) / 10,
    findings: findings.length,
  }),
);
