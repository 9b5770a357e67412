/**
 * Measurement helpers shared by `maxwell bench runtime` and `maxwell calibrate`: run a kernel
 * metered (as a process, preempted every slice) or unmetered (the original module in plain V8),
 * and time it. Every figure here is measured: wall time with performance.now(), CPU time with
 * process.cpuUsage() (this thread does all the work; the measurements run on the main thread).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CompiledModule } from '../runtime/module.js';
import { Process } from '../runtime/process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KERNEL_NAMES = ['matmul', 'sha256', 'fib', 'interp'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export async function kernelBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(`${REPO_ROOT}bench/build/${name}.wasm`));
}

export async function kernelParams(): Promise<Record<KernelName, number>> {
  const raw = JSON.parse(await readFile(`${REPO_ROOT}bench/kernels/params.json`, 'utf8')) as Record<string, unknown>;
  const out = {} as Record<KernelName, number>;
  for (const k of KERNEL_NAMES) {
    const v = raw[k];
    const n = typeof v === 'number' ? v : (v as { n?: number } | undefined)?.n;
    if (typeof n !== 'number') throw new Error(`bench/kernels/params.json has no n for ${k}`);
    out[k] = n;
  }
  return out;
}

export interface Timing {
  wallMs: number;
  cpuMs: number;
  result: unknown;
}

function time<T>(f: () => T): Timing & { value: T } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, result: value, value };
}

/**
 * The original module, unmetered: what V8 alone does with it. Each timed run gets a fresh
 * instance, as each metered run gets a fresh process, so both pay for the memory a kernel
 * grows (instantiation itself is outside the timing on both sides).
 */
export class Unmetered {
  constructor(private readonly module: WebAssembly.Module) {}
  time(n: number): Timing {
    const run = new WebAssembly.Instance(this.module, {}).exports.run as (n: number) => unknown;
    return time(() => run(n));
  }
}

export interface MeteredTiming extends Timing {
  fuel: number;
  switches: number;
}

/**
 * One metered run of `entry(args)` as a fresh process, suspended and resumed at the end of
 * every slice (as on a busy node), with no budget limit.
 */
export function timeMetered(compiled: CompiledModule, entry: string, args: number[], sliceFuel: number, processArgs?: readonly string[]): MeteredTiming {
  const p = new Process(compiled, {
    pid: 1, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 16_384, entry, entryArgs: args,
    args: processArgs ?? ['kernel'],
  });
  // Without other processes, a slice end still suspends and resumes the process: the figures
  // include preemption at every slice, as on a busy node.
  const t = time(() => {
    let outcome;
    do outcome = p.runSlice(sliceFuel); while (outcome.kind === 'yielded');
    return outcome;
  });
  if (t.value.exit.reason !== 'exit') throw new Error(`kernel ${entry} did not exit cleanly: ${t.value.exit.message}`);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, result: p.result, fuel: p.fuelUsed, switches: p.switches };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** The machine a figure was measured on (node version, CPU model, cores). */
export { machineInfo as machine } from '../energy/calibration.js';

/**
 * The sample agents as CPU-bound workloads: the one list that scripts/fit-costs.js,
 * `maxwell calibrate` and `maxwell bench runtime` share, each run long enough (tens of ms)
 * that a process's start-up (its first memory growth) does not dominate.
 */
export const AGENT_WORKLOADS: ReadonlyArray<{ name: string; args: readonly string[] }> = [
  { name: 'miner', args: ['miner', '20'] },
  { name: 'infer', args: ['infer', '500000'] },
  { name: 'churner', args: ['churner', '100000'] },
  { name: 'looper', args: ['looper', '100000000'] },
];

export async function agentBytes(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(`${REPO_ROOT}agents/build/${name}.wasm`));
}
