/**
 * `maxwell run FILE.wasm`: run one WASI command on an embedded node until it exits or dies.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ErrorCode, MaxwellError } from '../errors.js';
import { compileModule, readModuleFile } from '../runtime/module.js';
import { WorkerPool } from '../runtime/pool.js';
import { WASM_PAGE_BYTES } from '../runtime/instrument.js';
import { fuelToJoules, joulesToFuel, loadCalibration } from '../energy/calibration.js';
import { positiveInteger, positiveNumber, usage } from './args.js';
import type { ExitReason } from '../runtime/process.js';

export const summary = 'run one WebAssembly (WASI) program on an embedded node until it exits or dies';

const HELP = `usage: maxwell run FILE.wasm [--budget J] [--memory MiB] [--json] [-- ARGS...]

Runs FILE.wasm (a WASI preview1 command: its _start) as a metered process on an embedded node.

options:
  --budget J       energy budget in joules (default 100); running out is apoptosis
  --memory MiB     memory limit (default 256)
  --json           print one JSON object: pid, exit, fuel, energy_j, energy_source, wall_ms, stdout
  --state DIR      where the calibration is read from (default ./.maxwell)
  -h, --help       this help

exit status: the program's own exit code when it exits; 3 apoptosis, 4 trap, 5 killed,
65 invalid module, 64 bad usage. Energy figures are estimated by the calibrated model
(run \`maxwell calibrate\` first for this machine's constant).`;

const STATUS: Record<ExitReason, number> = { exit: 0, apoptosis: 3, trap: 4, killed: 5, invalid: 65 };

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      budget: { type: 'string' },
      memory: { type: 'string' },
      json: { type: 'boolean', default: false },
      state: { type: 'string', default: '.maxwell' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [file, ...args] = positionals;
  if (file === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `missing FILE.wasm\n\n${HELP}`);
  const budgetJ = positiveNumber('budget', values.budget, 100);
  const memoryMiB = positiveInteger('memory', values.memory, 256);
  if (memoryMiB > 4096) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--memory is at most 4096 MiB (a 32-bit Wasm memory)');
  const calibration = await loadCalibration(values.state);
  const started = performance.now();

  const report = (r: {
    pid: number | null; reason: ExitReason; code: number | string | null; message: string; fuel: number; stdout: string; stderr: string;
    wallMs: number;
  }): number => {
    const energy = fuelToJoules(r.fuel, calibration);
    const wallMs = r.wallMs;
    if (values.json) {
      console.log(JSON.stringify({
        pid: r.pid,
        exit: { reason: r.reason, code: r.code, message: r.message },
        fuel: r.fuel,
        energy_j: energy.energyJ,
        energy_source: energy.source,
        energy_basis: energy.basis,
        wall_ms: Math.round(wallMs * 1000) / 1000,
        stdout: r.stdout,
        stderr: r.stderr,
      }));
    } else {
      if (r.stdout) process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
      if (r.stderr) process.stderr.write(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`);
      const how = r.reason === 'exit' ? `exited with code ${r.code}` : `${r.reason} (${r.code}): ${r.message}`;
      console.error(`maxwell: ${file} ${how}`);
      console.error(`maxwell: fuel ${r.fuel.toLocaleString('en-US')}, energy ${energy.energyJ.toFixed(4)} J (estimated, ${energy.basis} model), ran ${wallMs.toFixed(1)} ms (measured wall time; load ${(performance.now() - started - wallMs).toFixed(0)} ms)`);
    }
    return r.reason === 'exit' ? (typeof r.code === 'number' ? r.code & 0xff : 0) : STATUS[r.reason];
  };

  let compiled;
  try {
    compiled = await compileModule(await readModuleFile(file), { cacheDir: join(values.state, 'cache') });
  } catch (err) {
    if (err instanceof MaxwellError && err.code !== ErrorCode.FILE_UNREADABLE) {
      return report({ pid: null, reason: 'invalid', code: err.code, message: err.message, fuel: 0, stdout: '', stderr: '', wallMs: 0 });
    }
    throw err;
  }
  const pool = new WorkerPool({ workers: 1, jPerFuel: calibration.jPerFuel });
  await pool.start();
  try {
    let spawned;
    try {
      spawned = await pool.spawn(compiled, {
        budgetFuel: joulesToFuel(budgetJ, calibration),
        memoryLimitPages: Math.floor((memoryMiB * 2 ** 20) / WASM_PAGE_BYTES),
        args: [file, ...args],
        env: [],
      });
    } catch (err) {
      if (err instanceof MaxwellError) {
        return report({ pid: null, reason: 'invalid', code: err.code, message: err.message, fuel: 0, stdout: '', stderr: '', wallMs: 0 });
      }
      throw err;
    }
    const onSignal = () => pool.kill(spawned.pid, 'interrupted (SIGINT)');
    process.once('SIGINT', onSignal);
    const f = await spawned.done;
    process.off('SIGINT', onSignal);
    return report({
      pid: f.pid,
      reason: f.exit.reason,
      code: f.exit.reason === 'exit' ? f.exit.code : f.exit.errorCode,
      message: f.exit.message,
      fuel: f.fuelUsed,
      stdout: f.stdout,
      stderr: f.stderr,
      wallMs: f.wallMs,
    });
  } finally {
    await pool.stop();
  }
}
