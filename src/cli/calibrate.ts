/**
 * `maxwell calibrate`: measure how much fuel this machine burns per CPU-second and store the
 * joules-per-fuel constant that makes the model's joules for a CPU-bound process equal
 * P_active × its CPU time (src/energy/calibration.ts explains the model).
 *
 * Method: run each CPU-bound workload (the four benchmark kernels and four sample agents)
 * metered for about `--seconds` of CPU, and fit one constant over all of them (a ratio of
 * sums). Then run every workload again and check the stored constant on those fresh runs: the
 * model's joules against P_active × the CPU time they really took, in total (the 5% target)
 * and per workload (which shows the cost table's fidelity: how far one instruction mix is from
 * another in fuel per CPU-second).
 */
import { parseArgs } from 'node:util';
import { compileModule, type CompiledModule } from '../runtime/module.js';
import { AGENT_WORKLOADS, agentBytes, KERNEL_NAMES, kernelBytes, kernelParams, machine, timeMetered } from '../bench/measure.js';
import { saveCalibration, type Calibration } from '../energy/calibration.js';
import { ACTIVE_POWER_PER_CORE_W_DEFAULT } from '../energy/power-model.js';
import { positiveNumber, usage } from './args.js';
import { join } from 'node:path';
import { DEFAULT_SLICE_FUEL } from '../runtime/executor.js';

export const summary = 'measure fuel per CPU-second on this machine and store the fuel-to-joules constant';

const HELP = `usage: maxwell calibrate [--seconds S] [--p-active W] [--state DIR] [--json]

Runs the CPU-bound workloads (kernels matmul, sha256, fib, interp; agents miner, infer,
churner, looper)
metered for about S CPU-seconds each (default 0.5), fits joules per fuel unit =
P_active / (fuel per CPU-second), checks it on fresh runs of every workload (target: within 5%
in total; exit status 1 if not), and stores it in DIR/calibration.json (default ./.maxwell).

  --p-active W   power one busy core draws above idle, in W (default ${ACTIVE_POWER_PER_CORE_W_DEFAULT}, the power
                 model's default; give the figure for your CPU if you know it)`;

interface Workload { name: string; compiled: CompiledModule; entry: string; entryArgs: number[]; args: readonly string[] }

/** Runs a workload repeatedly until it has used `seconds` of CPU (after one warm-up run). */
function burn(w: Workload, seconds: number, warm: boolean) {
  if (warm) timeMetered(w.compiled, w.entry, w.entryArgs, DEFAULT_SLICE_FUEL, w.args); // let V8 tier the code up
  let fuel = 0;
  let cpuMs = 0;
  while (cpuMs < seconds * 1000) {
    const t = timeMetered(w.compiled, w.entry, w.entryArgs, DEFAULT_SLICE_FUEL, w.args);
    fuel += t.fuel;
    cpuMs += t.cpuMs;
  }
  return { name: w.name, fuel, cpuS: cpuMs / 1000, fuelPerCpuSecond: fuel / (cpuMs / 1000) };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      'p-active': { type: 'string' },
      state: { type: 'string', default: '.maxwell' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const seconds = positiveNumber('seconds', values.seconds, 0.5);
  const pActiveW = positiveNumber('p-active', values['p-active'], ACTIVE_POWER_PER_CORE_W_DEFAULT);
  const log = values.json ? () => {} : (s: string) => process.stderr.write(s);
  const cacheDir = join(values.state, 'cache');
  const params = await kernelParams();
  const workloads: Workload[] = [];
  for (const k of KERNEL_NAMES) {
    workloads.push({ name: k, compiled: await compileModule(await kernelBytes(k), { cacheDir }), entry: 'run', entryArgs: [params[k]], args: ['kernel'] });
  }
  for (const a of AGENT_WORKLOADS) {
    workloads.push({ name: a.name, compiled: await compileModule(await agentBytes(a.name), { cacheDir }), entry: '_start', entryArgs: [], args: a.args });
  }

  const fits = workloads.map((w) => {
    log(`calibrate: ${w.name.padEnd(8)} `);
    const r = burn(w, seconds, true);
    log(`${r.fuelPerCpuSecond.toExponential(3)} fuel per CPU-second (measured)\n`);
    return r;
  });
  const fuelPerCpuSecond = fits.reduce((s, k) => s + k.fuel, 0) / fits.reduce((s, k) => s + k.cpuS, 0);
  const jPerFuel = pActiveW / fuelPerCpuSecond;

  // The check: fresh runs of every workload, judged with the stored constant.
  log('calibrate: checking on fresh runs ...\n');
  const checks = workloads.map((w) => {
    const r = burn(w, seconds, false);
    const modelJ = r.fuel * jPerFuel;
    const expectedJ = pActiveW * r.cpuS;
    return { name: w.name, modelJ, expectedJ, errorPct: ((modelJ - expectedJ) / expectedJ) * 100 };
  });
  const modelJ = checks.reduce((s, c) => s + c.modelJ, 0);
  const expectedJ = checks.reduce((s, c) => s + c.expectedJ, 0);
  const errorPct = ((modelJ - expectedJ) / expectedJ) * 100;

  const c: Calibration = {
    version: 1,
    jPerFuel,
    fuelPerCpuSecond,
    pActiveW,
    basis: 'calibrated',
    measuredAt: new Date().toISOString(),
    machine: machine(),
    kernels: fits,
    check: { name: 'all workloads, fresh runs', modelJ, expectedJ, errorPct },
    perWorkloadCheck: checks,
  };
  const path = await saveCalibration(c, values.state);
  if (values.json) {
    console.log(JSON.stringify({ ...c, path }, null, 2));
  } else {
    console.log(`calibrated: ${fuelPerCpuSecond.toExponential(4)} fuel per CPU-second (measured), ` +
      `${(jPerFuel * 1e12).toFixed(1)} pJ per fuel unit at P_active = ${pActiveW} W per core`);
    console.log(`check on fresh runs: model ${modelJ.toFixed(3)} J (estimated) vs P_active × measured CPU time ${expectedJ.toFixed(3)} J: ` +
      `${errorPct >= 0 ? '+' : ''}${errorPct.toFixed(1)}% ${Math.abs(errorPct) <= 5 ? '(within the 5% target)' : '(OUTSIDE the 5% target)'}`);
    console.log(`per workload (the cost table's fidelity): ${checks.map((k) => `${k.name} ${k.errorPct >= 0 ? '+' : ''}${k.errorPct.toFixed(1)}%`).join(', ')}`);
    console.log(`stored in ${path}`);
  }
  return Math.abs(errorPct) <= 5 ? 0 : 1;
}
