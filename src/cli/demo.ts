/**
 * `maxwell demo` (what `npm start` runs): the sample agents on one embedded node.
 * Each runs as a metered process with an energy budget; the looper, which never stops, dies of
 * apoptosis when its budget is spent, while the useful agents finish on theirs.
 *
 * Every process is paid for through the node's ledger (./.maxwell/ledger.db): each agent has a
 * wallet (a key in .maxwell/wallets/), the treasury mints what the node's power cap has accrued
 * and grants each wallet its budget, and each process's energy is charged to its wallet at
 * 1 token/J when it ends, with a death entry saying how it ended. The scheduler that sells slots
 * by auction is the kernel's (a later issue); here every process runs.
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
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { generateKey, loadKey, saveNewKey, formatUj } from '../ledger/keys.js';
import { openNodeLedger, walletKeyPath } from '../ledger/node-files.js';
import { UJ_PER_J, PRICE_UNIT, type DeathReasonName } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';

export const summary = 'run the sample agents (infer, miner, churner, looper) on one node and show what each did and spent';

const HELP = `usage: maxwell demo [--workers K] [--json] [--state DIR]

Runs the sample agents from agents/build/ (built by \`npm run build\`) as metered processes on an
embedded node with K workers (default: the number of cores), and prints what each did and spent.
Energy is estimated by the node's model (measured only where the node has RAPL, hwmon or NVML).
Each agent pays for its energy from its wallet in the node's ledger (DIR/ledger.db, default
./.maxwell): check it with \`maxwell ledger verify\`, bill an agent with \`maxwell receipt get demo-infer\`.`;

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
  const ledger = openNodeLedger({ stateDir: values.state });
  const wallets = new Map<string, Buffer>();
  try {
    await fund(ledger, values.state, wallets, values.json ? () => {} : (s) => console.log(s));
  } catch (err) {
    ledger.close();
    throw err;
  }
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
  // Each process pays for what it used (rounded up to the µJ), and its end is recorded.
  const paid = new Map<number, string>();
  try {
    for (const { agent, f } of rows) {
      const wallet = wallets.get(agent)!;
      const energyUj = Math.max(1, Math.ceil(fuelToJoules(f.fuelUsed, calibration).energyJ * UJ_PER_J));
      const r = ledger.charge({ wallet, pid: f.pid, fuel: f.fuelUsed, energyUj, priceUtPerJ: PRICE_UNIT, basis: 'estimated' });
      paid.set(f.pid, r.kind === 'ok' ? `paid ${formatUj(r.amountUj)}` : `could not pay ${formatUj(r.needUj)}`);
      ledger.death({ wallet, pid: f.pid, reason: deathReason(f), amountUj: 0 });
    }
  } finally {
    ledger.close(); // seals: everything above is durable when this returns
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
        wallet: wallets.get(agent)!.toString('hex'), ledger: paid.get(f.pid),
      })),
      ledger: { path: `${values.state}/ledger.db`, entries: ledger.size, epoch: ledger.lastEpoch?.epoch ?? null },
    }, null, 2));
    return 0;
  }
  const header = ['pid', 'agent', 'exit', 'fuel', 'energy J (est.)', 'budget J', 'run ms', 'switches', 'ledger', 'output'];
  const table = rows.map(({ agent, f, budgetJ }) => [
    String(f.pid), agent,
    f.exit.reason === 'exit' ? `exit ${f.exit.code}` : `${f.exit.reason} (${f.exit.errorCode})`,
    f.fuelUsed.toLocaleString('en-US'),
    fuelToJoules(f.fuelUsed, calibration).energyJ.toFixed(4),
    budgetJ.toString(),
    f.runMs.toFixed(1),
    String(f.switches),
    paid.get(f.pid) ?? '',
    (f.stdout.trim().split('\n').pop() ?? '').slice(0, 70),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  for (const r of table) console.log(line(r));
  const totalJ = rows.reduce((s, r) => s + fuelToJoules(r.f.fuelUsed, calibration).energyJ, 0);
  console.log(`total: ${totalJ.toFixed(3)} J estimated over ${(wallMs / 1000).toFixed(2)} s measured wall time; run ms is each process's measured share of its worker`);
  console.log(`ledger: ${ledger.size} entries, durable through epoch ${ledger.lastEpoch?.epoch} in ${values.state}/ledger.db; balances: ${[...wallets].map(([a, w]) => `${a} ${formatUj(ledger.balanceOf(w) ?? 0)} J`).join(', ')}`);
  console.log(`check it: maxwell ledger verify; bill an agent: maxwell receipt get demo-infer --out bill.json && maxwell receipt verify bill.json --key ${ledger.nodeWallet.toString('hex')}`);
  return 0;
}

function deathReason(f: FinishedProcess): DeathReasonName {
  switch (f.exit.reason) {
    case 'exit': return 'exited';
    case 'apoptosis': return 'cannot_pay_charge';
    case 'killed': return 'killed';
    default: return 'trapped';
  }
}

/**
 * Gives each agent a wallet (created once, kept in DIR/wallets/demo-NAME.pem) and grants it its
 * budgets from the treasury, minting what the power cap accrues first. A new ledger has accrued
 * nothing: the treasury waits for the cap (100 J/s at the default 100 W) rather than mint from
 * nothing.
 */
async function fund(ledger: Ledger, stateDir: string, wallets: Map<string, Buffer>, say: (s: string) => void): Promise<void> {
  let needUj = 0;
  for (const a of AGENTS) {
    const path = walletKeyPath(stateDir, `demo-${a.name}`);
    if (!existsSync(path)) saveNewKey(path, generateKey());
    wallets.set(a.name, loadKey(path).raw);
    needUj += Math.ceil(a.budgetJ * a.copies * 1.05 * UJ_PER_J);
  }
  const deadline = Date.now() + 60_000;
  let waited = false;
  for (;;) {
    ledger.mint();
    if ((ledger.balanceOf(ledger.nodeWallet) ?? 0) >= needUj) break;
    if (Date.now() > deadline) throw new Error('the treasury did not accrue the agents\' budgets within a minute');
    if (!waited) say(`the treasury is waiting for the power cap (${ledger.powerCapW} W) to accrue ${formatUj(needUj)} J for the agents' budgets…`);
    waited = true;
    await sleep(50);
  }
  for (const a of AGENTS) {
    const r = ledger.grant(wallets.get(a.name)!, Math.ceil(a.budgetJ * a.copies * 1.05 * UJ_PER_J));
    if (r.kind !== 'ok') throw new Error(`granting ${a.name}'s budget failed: ${r.kind}`);
  }
  ledger.seal();
}
