#!/usr/bin/env node
// Compile the sample agents and the benchmark kernels (AssemblyScript).
//
//   node scripts/build-agents.js [name ...]
//
// Every agents/<name>/index.ts (except agents/lib/) becomes
// agents/build/<name>.wasm: a WASI preview1 command module, optimised (-O3),
// exporting `_start` and `memory`, importing only from
// `wasi_snapshot_preview1` and Maxwell's ABI module `maxwell` (docs/abi.md).
//
// Every bench/kernels/<name>.ts becomes bench/build/<name>.wasm: optimised
// (-O3), `--runtime stub`, `abort` compiled to `unreachable` (`--use abort=`),
// importing nothing at all and exporting `run` and `memory`.
//
// Names on the command line pick agents and/or kernels (default: all). The
// build fails (exit 1) on a compile error or if a module's interface is not
// as above (an agent importing anything outside ALLOWED_IMPORTS, a kernel
// importing anything, a missing export).

import asc from 'assemblyscript/asc';
import { readdirSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENTS = path.join(ROOT, 'agents');
const OUT = path.join(AGENTS, 'build');
const KERNELS = path.join(ROOT, 'bench', 'kernels');
const KERNELS_OUT = path.join(ROOT, 'bench', 'build');

export const ALLOWED_IMPORTS = new Set([
  'fd_write', 'fd_read', 'proc_exit', 'clock_time_get', 'clock_res_get', 'random_get',
  'args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get', 'sched_yield',
]);

/** Maxwell's ABI (src/runtime/abi.ts ABI_FUNCTIONS). */
export const ALLOWED_ABI_IMPORTS = new Set(['log', 'bid', 'balance', 'price', 'discard', 'query', 'claim']);

const agents = readdirSync(AGENTS)
  .filter((name) => name !== 'lib' && name !== 'build')
  .filter((name) => existsSync(path.join(AGENTS, name, 'index.ts')))
  .sort();
const kernels = existsSync(KERNELS)
  ? readdirSync(KERNELS)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort()
  : [];
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!agents.includes(name) && !kernels.includes(name)) {
    console.error(`build-agents: no agent or kernel '${name}' (agents: ${agents.join(', ')}; kernels: ${kernels.join(', ')})`);
    process.exit(1);
  }
}
const pick = (list) => (wanted.length > 0 ? list.filter((n) => wanted.includes(n)) : list);
const jobs = [
  ...pick(agents).map((name) => ({
    kind: 'agent',
    name,
    entry: `agents/${name}/index.ts`,
    outFile: path.join(OUT, `${name}.wasm`),
    flags: [
      '--runtime', 'incremental',
      '--exportStart', '_start',
      // Route the `abort` builtin to our WASI handler: no `env.abort` import.
      '--use', 'abort=agents/lib/wasi/wasiAbort',
    ],
    check: checkAgent,
  })),
  ...pick(kernels).map((name) => ({
    kind: 'kernel',
    name,
    entry: `bench/kernels/${name}.ts`,
    outFile: path.join(KERNELS_OUT, `${name}.wasm`),
    flags: [
      '--runtime', 'stub',
      // An empty alias leaves `abort` undefined: asc emits `unreachable`
      // where it would call it, so there is no `env.abort` import.
      '--use', 'abort=',
    ],
    check: checkKernel,
  })),
];

/** Problems with an agent's interface (empty if none). */
function checkAgent(mod) {
  const bad = WebAssembly.Module.imports(mod)
    .filter((i) => i.kind !== 'function' || !(i.module === 'wasi_snapshot_preview1' ? ALLOWED_IMPORTS : i.module === 'maxwell' ? ALLOWED_ABI_IMPORTS : new Set()).has(i.name))
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  const exps = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  for (const e of ['_start', 'memory']) if (!exps.has(e)) bad.push(`missing export ${e}`);
  return bad;
}

/** Problems with a kernel's interface (empty if none). */
function checkKernel(mod) {
  const bad = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name} (${i.kind})`);
  const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exps.get('run') !== 'function') bad.push('missing export run (function)');
  if (exps.get('memory') !== 'memory') bad.push('missing export memory (memory)');
  return bad;
}

async function build(job) {
  const { name, outFile } = job;
  const t0 = performance.now();
  mkdirSync(path.dirname(outFile), { recursive: true });
  let diagnostics = '';
  const sink = { write: (s) => { diagnostics += s; return true; } };
  const { error } = await asc.main([
    job.entry,
    '--baseDir', ROOT,
    '--outFile', path.relative(ROOT, outFile),
    '--optimizeLevel', '3',
    '--shrinkLevel', '0',
    ...job.flags,
  ], { stdout: sink, stderr: sink });
  const ms = performance.now() - t0;
  if (error) return { name, ok: false, ms, message: `${diagnostics}${error.message}` };

  const bad = job.check(new WebAssembly.Module(readFileSync(outFile)));
  if (bad.length > 0) return { name, ok: false, ms, message: `disallowed interface: ${bad.join(', ')}` };
  return { name, ok: true, ms, bytes: statSync(outFile).size, warnings: diagnostics.trim() };
}

const t0 = performance.now();
// The compiler API is async but CPU-bound; building one after another is as
// fast as building them together and keeps the diagnostics in order.
let failed = 0;
for (const job of jobs) {
  const r = await build(job);
  if (r.ok) {
    console.log(`build-agents: ${r.name.padEnd(8)} ${path.relative(ROOT, job.outFile)} ${r.bytes} bytes (${r.ms.toFixed(0)} ms)`);
    if (r.warnings) console.error(r.warnings);
  } else {
    failed++;
    console.error(`build-agents: ${r.name.padEnd(8)} FAILED (${r.ms.toFixed(0)} ms)\n${r.message}`);
  }
}
const nAgents = jobs.filter((j) => j.kind === 'agent').length;
const nKernels = jobs.length - nAgents;
if (failed > 0) {
  console.error(`build-agents: ${failed} of ${jobs.length} module(s) failed`);
  process.exit(1);
}
console.log(`build-agents: ${nAgents} agent(s), ${nKernels} kernel(s) in ${(performance.now() - t0).toFixed(0)} ms`);
