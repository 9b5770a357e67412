#!/usr/bin/env node
// Compile the repo's fixed Groth16 circuits (circuits/examples/*.circom, mains over the templates
// in circuits/maxwell_dense.circom) with circom2 into circuits/build/ (git-ignored):
// r1cs + witness wasm, cached by a hash of the sources and tool versions, so a rebuild with
// nothing changed compiles nothing.
//
//   node scripts/build-circuits.js [name ...]
//
// Runs after tsc (it uses dist/src/proof/groth16/circuit.js, the same compiler path the node
// uses). It makes no trusted setup: keys are generated on demand and cached under .maxwell/proof/
// (docs/groth16-circuits.md, "Setup"). Exit 1 on a compile error.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { compileExample, EXAMPLES_DIR } = await import(path.join(ROOT, 'dist', 'src', 'proof', 'groth16', 'circuit.js'));

const all = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.circom')).map((f) => f.slice(0, -'.circom'.length)).sort();
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`build-circuits: no circuit '${name}' in circuits/examples (have: ${all.join(', ')})`);
    process.exit(1);
  }
}
const t0 = performance.now();
try {
  for (const name of wanted.length > 0 ? wanted : all) {
    const c = await compileExample(name);
    console.log(`circuits/build: ${name} — ${c.constraints} constraints, ${c.publicSignals} public signals, fits 2^${c.power} (${path.relative(ROOT, c.dir)})`);
  }
} catch (e) {
  console.error(`build-circuits: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
console.log(`build-circuits: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
