/**
 * `maxwell demo` (what `npm start` runs): the sample agents on one embedded node.
 * Each runs as a metered process with an energy budget; the looper, which never stops, dies of
 * apoptosis when its budget is spent, while the useful agents finish on theirs.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModule, readModuleFile } from '../runtime/module.js';
import { WorkerPool } from '../runtime/pool.js';
import { fuelToJoules, joulesToFuel, loadCalibration } from '../energy/calibration.js';
import { positiveInteger, usage } from './args.js';
import type { FinishedProcess } from '../runtime/protocol.js';
import { WASM_PAGE_BYTES } from '../runtime/instrument.js';

export const summary = 'run the sample agents (infer, miner, churner, looper) on one node and show what each did and spent';

const HELP = `usage: maxwell demo [--workers K] [--json] [--state DIR]

Runs the sample agents from agents/build/ (built by \`npm run build\`) as metered processes on an
embedded node with K workers (default: the number of cores), and prints what each did and spent.
Energy is estimated by the node's model (measured only where the node has RAPL, hwmon or NVML).`;

const AGENTS_DIR = fileURLToPath(new URL('../../../agents/build/', import.meta.url));

interface AgentSpec { name: string; args: string[]; budgetJ: number; copies: number }

const AGENTS: AgentSpec[] = [
  { name: 'infer', args: ['5000'], budgetJ: 5, copies: 2 },
  { name: 'miner', args: ['18'], budgetJ: 5, copies: 2 },
  { name: 'churner', args: ['2000'], budgetJ: 5, copies: 2 },
  // The looper never finishes: it is there to be starved. A small budget shows apoptosis.
  { name: 'looper', args: [], budgetJ: 0.2, copies: 2 },
];

export async function run(argv: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' },
      json: { type: 'boolean', default: false },
      state: { type: 'string', default: '.maxwell' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const calibration = await loadCalibration(values.state);
  const pool = new WorkerPool({
    jPerFuel: calibration.jPerFuel,
    ...(values.workers === undefined ? {} : { workers: positiveInteger('workers', values.workers, 1) }),
  });
  const started = performance.now();
  if (!values.json) {
    console.log(`maxwell demo: ${AGENTS.reduce((n, a) => n + a.copies, 0)} processes on one node, ${pool.size} worker(s); energy model: ${calibration.basis === 'calibrated' ? `calibrated ${calibration.measuredAt}` : 'nominal (run `maxwell calibrate` to measure this machine)'}`);
  }
  await pool.start();
  const rows: Array<{ agent: string; f: FinishedProcess; budgetJ: number }> = [];
  try {
    const runs: Promise<void>[] = [];
    for (const a of AGENTS) {
      const compiled = await compileModule(await readModuleFile(join(AGENTS_DIR, `${a.name}.wasm`)), { cacheDir: join(values.state, 'cache') });
      for (let i = 0; i < a.copies; i++) {
        const p = await pool.spawn(compiled, {
          budgetFuel: joulesToFuel(a.budgetJ, calibration),
          memoryLimitPages: (64 * 2 ** 20) / WASM_PAGE_BYTES,
          args: [a.name, ...a.args],
        });
        runs.push(p.done.then((f) => { rows.push({ agent: a.name, f, budgetJ: a.budgetJ }); }));
      }
    }
    await Promise.all(runs);
  } finally {
    await pool.stop();
  }
  rows.sort((x, y) => x.f.pid - y.f.pid);
  const wallMs = performance.now() - started;
  if (values.json) {
    console.log(JSON.stringify({
      workers: pool.size,
      energy_basis: calibration.basis,
      wall_ms: wallMs,
      processes: rows.map(({ agent, f, budgetJ }) => ({
        pid: f.pid, agent, exit: f.exit, fuel: f.fuelUsed, energy_j: fuelToJoules(f.fuelUsed, calibration).energyJ,
        energy_source: 'estimated', budget_j: budgetJ, wall_ms: f.wallMs, run_ms: f.runMs, switches: f.switches, stdout: f.stdout.trim(),
      })),
    }, null, 2));
    return 0;
  }
  const header = ['pid', 'agent', 'exit', 'fuel', 'energy J (est.)', 'budget J', 'run ms', 'switches', 'output'];
  const table = rows.map(({ agent, f, budgetJ }) => [
    String(f.pid), agent,
    f.exit.reason === 'exit' ? `exit ${f.exit.code}` : `${f.exit.reason} (${f.exit.errorCode})`,
    f.fuelUsed.toLocaleString('en-US'),
    fuelToJoules(f.fuelUsed, calibration).energyJ.toFixed(4),
    budgetJ.toString(),
    f.runMs.toFixed(1),
    String(f.switches),
    (f.stdout.trim().split('\n').pop() ?? '').slice(0, 70),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  for (const r of table) console.log(line(r));
  const totalJ = rows.reduce((s, r) => s + fuelToJoules(r.f.fuelUsed, calibration).energyJ, 0);
  console.log(`total: ${totalJ.toFixed(3)} J estimated over ${(wallMs / 1000).toFixed(2)} s measured wall time; run ms is each process's measured share of its worker`);
  return 0;
}
