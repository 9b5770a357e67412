/**
 * `maxwell calibrate`: measure how much fuel this machine burns per CPU-second and store the
 * joules-per-fuel constant that makes the model's joules for a CPU-bound process equal
 * P_active × its CPU time (src/energy/calibration.ts explains the model).
 *
 * Method: run each benchmark kernel metered for about `--seconds` of CPU, sum fuel and CPU
 * time, and fit one constant over all of them (a ratio of sums, so long kernels weigh more).
 * Then check it on a workload that was not used to fit it (the miner agent): the model's
 * joules against P_active × the CPU time it really took. The check must come within 5%.
 */
import { parseArgs } from 'node:util';
import { compileModule } from '../runtime/module.js';
import { KERNEL_NAMES, kernelBytes, kernelParams, machine, REPO_ROOT, timeMetered } from '../bench/measure.js';
import { saveCalibration, type Calibration } from '../energy/calibration.js';
import { ACTIVE_POWER_PER_CORE_W_DEFAULT } from '../energy/power-model.js';
import { positiveNumber, usage } from './args.js';
import { readModuleFile } from '../runtime/module.js';
import { join } from 'node:path';
import { DEFAULT_SLICE_FUEL } from '../runtime/executor.js';

export const summary = 'measure fuel per CPU-second on this machine and store the fuel-to-joules constant';

const HELP = `usage: maxwell calibrate [--seconds S] [--p-active W] [--state DIR] [--json]

Runs the benchmark kernels (matmul, sha256, fib, interp) metered for about S CPU-seconds each
(default 1), fits joules per fuel unit = P_active / (fuel per CPU-second), checks it on the
miner agent, and stores it in DIR/calibration.json (default ./.maxwell).

  --p-active W   power one busy core draws above idle, in W (default ${ACTIVE_POWER_PER_CORE_W_DEFAULT}, the power
                 model's default; give the figure for your CPU if you know it)`;

/** Runs a kernel repeatedly until it has used `seconds` of CPU (after one warm-up run). */
async function burn(name: string, entry: string, args: number[], seconds: number, processArgs?: string[], bytesIn?: Uint8Array) {
  const compiled = await compileModule(bytesIn ?? await kernelBytes(name), { cacheDir: join('.maxwell', 'cache') });
  timeMetered(compiled, entry, args, DEFAULT_SLICE_FUEL, processArgs); // warm-up: let V8 tier the code up
  let fuel = 0;
  let cpuMs = 0;
  while (cpuMs < seconds * 1000) {
    const t = timeMetered(compiled, entry, args, DEFAULT_SLICE_FUEL, processArgs);
    fuel += t.fuel;
    cpuMs += t.cpuMs;
  }
  return { name, fuel, cpuS: cpuMs / 1000, fuelPerCpuSecond: fuel / (cpuMs / 1000) };
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
  const seconds = positiveNumber('seconds', values.seconds, 1);
  const pActiveW = positiveNumber('p-active', values['p-active'], ACTIVE_POWER_PER_CORE_W_DEFAULT);
  const params = await kernelParams();
  const kernels = [];
  for (const k of KERNEL_NAMES) {
    if (!values.json) process.stderr.write(`calibrate: ${k} ... `);
    const r = await burn(k, 'run', [params[k]], seconds);
    kernels.push(r);
    if (!values.json) process.stderr.write(`${r.fuelPerCpuSecond.toExponential(3)} fuel per CPU-second (measured)\n`);
  }
  const fuel = kernels.reduce((s, k) => s + k.fuel, 0);
  const cpuS = kernels.reduce((s, k) => s + k.cpuS, 0);
  const fuelPerCpuSecond = fuel / cpuS;
  const jPerFuel = pActiveW / fuelPerCpuSecond;

  // Hold-out check on an agent the fit never saw.
  const minerBytes = await readModuleFile(`${REPO_ROOT}agents/build/miner.wasm`);
  const check = await burn('miner', '_start', [], Math.min(seconds, 1), ['miner', '18'], minerBytes);
  const modelJ = check.fuel * jPerFuel;
  const expectedJ = pActiveW * check.cpuS;
  const errorPct = ((modelJ - expectedJ) / expectedJ) * 100;

  const c: Calibration = {
    version: 1,
    jPerFuel,
    fuelPerCpuSecond,
    pActiveW,
    basis: 'calibrated',
    measuredAt: new Date().toISOString(),
    machine: machine(),
    kernels,
    check: { name: 'miner', modelJ, expectedJ, errorPct },
  };
  const path = await saveCalibration(c, values.state);
  if (values.json) {
    console.log(JSON.stringify({ ...c, path }, null, 2));
  } else {
    console.log(`calibrated: ${fuelPerCpuSecond.toExponential(4)} fuel per CPU-second (measured), ` +
      `${(jPerFuel * 1e12).toFixed(1)} pJ per fuel unit at P_active = ${pActiveW} W per core`);
    console.log(`check on miner (not used to fit): model ${modelJ.toFixed(3)} J vs P_active × CPU time ${expectedJ.toFixed(3)} J: ${errorPct >= 0 ? '+' : ''}${errorPct.toFixed(1)}% ${Math.abs(errorPct) <= 5 ? '(within 5%)' : '(OUTSIDE the 5% target)'}`);
    console.log(`stored in ${path}`);
  }
  return Math.abs(errorPct) <= 5 ? 0 : 1;
}
