/**
 * `maxwell bench runtime`: the runtime's figures, each measured against a baseline in the same
 * run (docs/design.md discusses them):
 *
 *  - overhead: metered ÷ unmetered wall time per CPU-bound kernel (medians of interleaved runs,
 *    after warm-up so both sides run TurboFan code). Metered runs are real processes, suspended
 *    and resumed at every slice end as on a busy node.
 *  - fidelity: joules charged per CPU-second on each kernel and sample agent; the spread
 *    (max ÷ min) says whether energy follows real work whatever the instruction mix.
 *  - switch: suspending one process and resuming another on the same thread, beyond the
 *    compute itself (two processes alternating every 2,000 fuel, minus the same fuel run
 *    inline in one process with the same number of yields).
 *  - spawn: creating a process from a compiled module (instance + WASI setup).
 *  - rss: resident memory of a node holding 1,000 live, suspended agent processes.
 */
import { compileModule, type CompiledModule } from '../runtime/module.js';
import { Process } from '../runtime/process.js';
import { WorkerPool } from '../runtime/pool.js';
import { loadCalibration } from '../energy/calibration.js';
import {
  AGENT_WORKLOADS, agentBytes, KERNEL_NAMES, kernelBytes, kernelParams, machine, median, percentile, timeMetered, Unmetered,
} from './measure.js';
import { DEFAULT_SLICE_FUEL } from '../runtime/executor.js';

export interface RuntimeBench {
  suite: 'runtime';
  date: string;
  machine: { node: string; cpu: string; cores: number };
  figures: 'measured';
  energy_basis: 'calibrated' | 'nominal';
  kernels: Array<{ name: string; n: number; unmetered_ms: number; metered_ms: number; ratio: number; fuel: number; switches: number; same_result: boolean }>;
  overhead_median: number;
  overhead_worst: number;
  fidelity: Array<{ name: string; kind: 'kernel' | 'agent'; fuel_per_cpu_s: number; j_per_cpu_s: number }>;
  fidelity_spread: number;
  fidelity_max_dev_pct: number;
  switch_us: number;
  spawn_us: number;
  spawn_us_p99: number;
  rss_mib_1000: number;
  rss_mib_before: number;
  goals: Record<string, string>;
}

async function agent(name: string): Promise<CompiledModule> {
  return compileModule(await agentBytes(name), { cacheDir: '.maxwell/cache' });
}

export async function benchRuntime(opts: { quick?: boolean; log?: (s: string) => void } = {}): Promise<RuntimeBench> {
  const log = opts.log ?? (() => {});
  const reps = opts.quick ? 3 : 11;
  const calibration = await loadCalibration();
  const params = await kernelParams();

  // 1. Overhead, per kernel.
  const kernels: RuntimeBench['kernels'] = [];
  const rates: RuntimeBench['fidelity'] = [];
  for (const name of KERNEL_NAMES) {
    log(`overhead: ${name} `);
    const n = params[name];
    const bytes = await kernelBytes(name);
    const unmetered = new Unmetered(new WebAssembly.Module(bytes));
    const compiled = await compileModule(bytes, { cacheDir: '.maxwell/cache' });
    for (let i = 0; i < 3; i++) {
      unmetered.time(n);
      timeMetered(compiled, 'run', [n], DEFAULT_SLICE_FUEL);
    }
    const u: number[] = [];
    const m: number[] = [];
    let fuel = 0;
    let cpuMs = 0;
    let switches = 0;
    let same = true;
    for (let i = 0; i < reps; i++) {
      const a = unmetered.time(n);
      const b = timeMetered(compiled, 'run', [n], DEFAULT_SLICE_FUEL);
      u.push(a.wallMs);
      m.push(b.wallMs);
      fuel += b.fuel;
      cpuMs += b.cpuMs;
      switches = b.switches;
      same &&= a.result === b.result;
      log('.');
    }
    const ratio = median(m) / median(u);
    log(` ${ratio.toFixed(3)}\n`);
    kernels.push({ name, n, unmetered_ms: median(u), metered_ms: median(m), ratio, fuel: fuel / reps, switches, same_result: same });
    const fuelPerCpuS = fuel / (cpuMs / 1000);
    rates.push({ name, kind: 'kernel', fuel_per_cpu_s: fuelPerCpuS, j_per_cpu_s: fuelPerCpuS * calibration.jPerFuel });
  }

  // 2. Fidelity on the sample agents (the kernels' rates come from step 1).
  for (const a of AGENT_WORKLOADS) {
    log(`fidelity: ${a.name}\n`);
    const compiled = await agent(a.name);
    timeMetered(compiled, '_start', [], DEFAULT_SLICE_FUEL, a.args); // warm-up
    let fuel = 0;
    let cpuMs = 0;
    while (cpuMs < (opts.quick ? 200 : 1000)) {
      const r = timeMetered(compiled, '_start', [], DEFAULT_SLICE_FUEL, a.args);
      fuel += r.fuel;
      cpuMs += r.cpuMs;
    }
    const fuelPerCpuS = fuel / (cpuMs / 1000);
    rates.push({ name: a.name, kind: 'agent', fuel_per_cpu_s: fuelPerCpuS, j_per_cpu_s: fuelPerCpuS * calibration.jPerFuel });
  }
  const js = rates.map((r) => r.j_per_cpu_s);
  const mean = js.reduce((s, x) => s + x, 0) / js.length;

  // 3. Switch time.
  log('switch\n');
  const looper = await agent('looper');
  const slice = 2_000;
  const batch = opts.quick ? 20_000 : 100_000;
  const switchSamples: number[] = [];
  for (let rep = 0; rep < (opts.quick ? 3 : 7) + 1; rep++) {
    const a = new Process(looper, { pid: 1, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 16, args: ['looper'] });
    const b = new Process(looper, { pid: 2, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 16, args: ['looper'] });
    const t0 = performance.now();
    for (let i = 0; i < batch / 2; i++) {
      a.runSlice(slice);
      b.runSlice(slice);
    }
    const switched = performance.now() - t0;
    // The same fuel in one process that never suspends: same yields, no unwind or rewind.
    const c = new Process(looper, { pid: 3, budgetFuel: a.fuelUsed + b.fuelUsed, memoryLimitPages: 16, args: ['looper'] });
    c.onSliceEnd = () => 'continue';
    const t1 = performance.now();
    c.runSlice(slice);
    const inline = performance.now() - t1;
    if (rep > 0) switchSamples.push(((switched - inline) * 1000) / batch); // rep 0 warms up
  }

  // 4. Spawn time and 5. RSS of 1,000 live processes.
  log('spawn\n');
  const infer = await agent('infer');
  const spawnUs: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const t0 = performance.now();
    new Process(infer, { pid: i + 1, budgetFuel: 1e9, memoryLimitPages: 64, args: ['infer', '1000'] });
    spawnUs.push((performance.now() - t0) * 1000);
  }
  log('rss: 1,000 live processes on a node\n');
  const rssBefore = process.memoryUsage().rss;
  const pool = new WorkerPool({ sliceFuel: 200_000, statsEveryMs: 50 });
  await pool.start();
  let rss1000: number;
  try {
    const done: Promise<unknown>[] = [];
    for (let i = 0; i < 1_000; i++) {
      const p = await pool.spawn(infer, { budgetFuel: 1e15, memoryLimitPages: 64, args: ['infer', '2000000000'] });
      done.push(p.done.catch(() => {}));
    }
    // Wait until every process has run and been suspended at least once.
    const deadline = performance.now() + 60_000;
    while (pool.list().some((r) => r.switches === 0 && r.state !== 'suspended') && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    rss1000 = process.memoryUsage().rss;
  } finally {
    await pool.stop();
  }

  const ratios = kernels.map((k) => k.ratio);
  return {
    suite: 'runtime',
    date: new Date().toISOString(),
    machine: machine(),
    figures: 'measured',
    energy_basis: calibration.basis,
    kernels,
    overhead_median: median(ratios),
    overhead_worst: Math.max(...ratios),
    fidelity: rates,
    fidelity_spread: Math.max(...js) / Math.min(...js),
    fidelity_max_dev_pct: Math.max(...js.map((x) => Math.abs(x - mean) / mean)) * 100,
    switch_us: median(switchSamples),
    spawn_us: median(spawnUs),
    spawn_us_p99: percentile(spawnUs, 99),
    rss_mib_1000: rss1000 / 2 ** 20,
    rss_mib_before: rssBefore / 2 ** 20,
    goals: {
      overhead_median: '<= 1.10', overhead_worst: '<= 1.35', fidelity_max_dev_pct: '<= 25',
      switch_us: '<= 5', spawn_us: '<= 200', rss_mib_1000: '<= 2048',
    },
  };
}

export function formatRuntime(r: RuntimeBench): string {
  const lines = [`maxwell bench runtime — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node} (all figures measured)`, ''];
  lines.push('kernel    n        unmetered ms  metered ms  ratio');
  for (const k of r.kernels) {
    lines.push(`${k.name.padEnd(9)} ${String(k.n).padEnd(8)} ${k.unmetered_ms.toFixed(2).padStart(12)}  ${k.metered_ms.toFixed(2).padStart(10)}  ${k.ratio.toFixed(3)}${k.same_result ? '' : '  RESULTS DIFFER'}`);
  }
  lines.push(`overhead: median ${r.overhead_median.toFixed(3)} (goal ${r.goals.overhead_median}), worst ${r.overhead_worst.toFixed(3)} (goal ${r.goals.overhead_worst})`, '');
  lines.push(`energy per CPU-second (${r.energy_basis} model: joules estimated from measured fuel and CPU time):`);
  for (const f of r.fidelity) lines.push(`  ${f.name.padEnd(9)} ${f.kind.padEnd(6)} ${f.j_per_cpu_s.toFixed(2)} J/CPU-s   (${f.fuel_per_cpu_s.toExponential(3)} fuel/CPU-s)`);
  lines.push(`fidelity: spread ${r.fidelity_spread.toFixed(3)} (max/min), max deviation from mean ${r.fidelity_max_dev_pct.toFixed(1)}% (goal ${r.goals.fidelity_max_dev_pct}%)`, '');
  lines.push(`switch: ${r.switch_us.toFixed(3)} µs per suspend + resume (goal ${r.goals.switch_us})`);
  lines.push(`spawn: ${r.spawn_us.toFixed(1)} µs median, ${r.spawn_us_p99.toFixed(1)} µs p99 (goal ${r.goals.spawn_us})`);
  lines.push(`rss: ${r.rss_mib_1000.toFixed(0)} MiB with 1,000 live processes (${r.rss_mib_before.toFixed(0)} MiB before; goal ${r.goals.rss_mib_1000})`);
  return lines.join('\n');
}
