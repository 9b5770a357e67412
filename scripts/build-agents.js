#!/usr/bin/env node
// Compile the sample agents (AssemblyScript) to WASI preview1 command modules.
//
//   node scripts/build-agents.js [name ...]
//
// Every agents/<name>/index.ts (except agents/lib/) becomes
// agents/build/<name>.wasm: optimised (-O3), exporting `_start` and `memory`,
// importing only from `wasi_snapshot_preview1`. The build fails (exit 1) on a
// compile error or if a module imports anything outside ALLOWED_IMPORTS.

import asc from 'assemblyscript/asc';
import { readdirSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENTS = path.join(ROOT, 'agents');
const OUT = path.join(AGENTS, 'build');

export const ALLOWED_IMPORTS = new Set([
  'fd_write', 'fd_read', 'proc_exit', 'clock_time_get', 'clock_res_get', 'random_get',
  'args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get', 'sched_yield',
]);

const all = readdirSync(AGENTS)
  .filter((name) => name !== 'lib' && name !== 'build')
  .filter((name) => existsSync(path.join(AGENTS, name, 'index.ts')))
  .sort();
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`build-agents: no agent '${name}' (have: ${all.join(', ')})`);
    process.exit(1);
  }
}
const names = wanted.length > 0 ? wanted : all;
mkdirSync(OUT, { recursive: true });

async function build(name) {
  const t0 = performance.now();
  const outFile = path.join(OUT, `${name}.wasm`);
  let diagnostics = '';
  const sink = { write: (s) => { diagnostics += s; return true; } };
  const { error } = await asc.main([
    `agents/${name}/index.ts`,
    '--baseDir', ROOT,
    '--outFile', path.relative(ROOT, outFile),
    '--optimizeLevel', '3',
    '--shrinkLevel', '0',
    '--runtime', 'incremental',
    '--exportStart', '_start',
    // Route the `abort` builtin to our WASI handler: no `env.abort` import.
    '--use', 'abort=agents/lib/wasi/wasiAbort',
  ], { stdout: sink, stderr: sink });
  const ms = performance.now() - t0;
  if (error) return { name, ok: false, ms, message: `${diagnostics}${error.message}` };

  const mod = new WebAssembly.Module(readFileSync(outFile));
  const bad = WebAssembly.Module.imports(mod)
    .filter((i) => i.module !== 'wasi_snapshot_preview1' || !ALLOWED_IMPORTS.has(i.name) || i.kind !== 'function')
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  const exps = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  for (const e of ['_start', 'memory']) if (!exps.has(e)) bad.push(`missing export ${e}`);
  if (bad.length > 0) return { name, ok: false, ms, message: `disallowed interface: ${bad.join(', ')}` };
  return { name, ok: true, ms, bytes: statSync(outFile).size, warnings: diagnostics.trim() };
}

const t0 = performance.now();
// The compiler API is async but CPU-bound; building one after another is as
// fast as building them together and keeps the diagnostics in order.
let failed = 0;
for (const name of names) {
  const r = await build(name);
  if (r.ok) {
    console.log(`build-agents: ${r.name.padEnd(8)} agents/build/${r.name}.wasm ${r.bytes} bytes (${r.ms.toFixed(0)} ms)`);
    if (r.warnings) console.error(r.warnings);
  } else {
    failed++;
    console.error(`build-agents: ${r.name.padEnd(8)} FAILED (${r.ms.toFixed(0)} ms)\n${r.message}`);
  }
}
if (failed > 0) {
  console.error(`build-agents: ${failed} of ${names.length} agent(s) failed`);
  process.exit(1);
}
console.log(`build-agents: ${names.length} agent(s) in ${(performance.now() - t0).toFixed(0)} ms`);
