/**
 * `maxwell demo` (what `npm start` runs): the sample agents on one node running the kernel loop
 * (src/kernel): slots sold by auction, every joule charged to the agent's wallet in the ledger,
 * rent every second, the entropy tax on erasure, death for those who cannot pay, and the node's
 * reserve price held against its power cap.
 *
 * The cast: three `infer` agents with different urgencies (they bid 4, 2 and 1 tokens/J), each
 * answering a requester's queries (noisy iris samples) with inference claims that the node checks
 * (Freivalds) and pays for by their verified information gain (proof of useful work,
 * docs/proof.md); a `churner`, which erases every array it drops and so pays the most tax; and
 * two useless agents funded for a while: a `looper` and a `miner` hunting a nonce it will never
 * find. A user must see the infer agents end richer than they started, the useless ones die of
 * apoptosis when their money runs out, the node stay under its cap, and the ledger verify.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, MaxwellError } from '../errors.js';
import { readModuleFile, compileModule } from '../runtime/module.js';
import { alignColumns } from './table.js';
import { positiveInteger, positiveNumber, usage } from './args.js';
import { generateKey, loadKey, saveNewKey, signWith } from '../ledger/keys.js';
import { DEFAULT_POWER_CAP_W, ledgerPath, walletKeyPath } from '../ledger/node-files.js';
import { transferMessage, UJ_PER_J } from '../ledger/format.js';
import { SqliteStore } from '../ledger/sqlite-store.js';
import { verifyLedger } from '../ledger/verify.js';
import { NodeHost, type ProcessView } from '../kernel/host.js';
import { RaplPowerMeter } from '../kernel/measured-power.js';
import { DEFAULT_KERNEL_CONFIG } from '../kernel/config.js';
import { NodePowerModel } from '../energy/power-model.js';
import { availableParallelism } from 'node:os';
import { readInferModel, quantiseInput } from '../proof/files.js';
import { modelHash } from '../proof/model.js';
import { DEFAULT_REWARD_CONFIG, toSampleMajor } from '../proof/queries.js';
import { seededRandom } from '../market/random.js';

export const summary = 'run the sample agents on one node: an auction for every slot, rent, tax, apoptosis, a power cap, a ledger';

const HELP = `usage: maxwell demo [--duration S] [--power-cap W] [--workers K] [--json] [--state DIR]

Starts a node (the kernel loop on K workers, default: the number of cores) with the sample
agents from agents/build/ (built by \`npm run build\`): three infer agents with different
urgencies, a churner, a looper and a miner. Each pays for every joule from its own wallet in the
node's ledger (DIR/ledger.db, default ./.maxwell), plus rent and the entropy tax; those that
cannot pay are told to die (apoptosis). A requester (wallet demo-requester) pays the node a fee
for queries to the infer agents; the node checks every answer (Freivalds' check, bound 2^-40)
and pays each agent the information gain it verified, at ${DEFAULT_REWARD_CONFIG.rewardUjPerBit} µJ per bit. A live table
shows each process; a summary follows.

options:
  --duration S    stop after S seconds even if agents are still running (default 60)
  --power-cap W   the node's power budget (default: idle power — measured where the node has
                  RAPL, else the model's — plus half the modelled active range, so that the cap
                  binds and the reserve price has to work)
  --workers K     worker threads (default: the number of cores)
  --sys-root DIR  read power meters (RAPL) from DIR/sys instead of /sys (a fixture tree; an
                  empty directory means: no meter, use the model)
  --json          no table: one JSON object at the end, for scripts
  --state DIR     the node's state directory (default ./.maxwell)
  -h, --help      this help

Energy and power are estimated by the node's model (calibrated by \`maxwell calibrate\`, else
nominal): this machine has no power sensor the node can read. Check the ledger afterwards with
\`maxwell ledger verify\`; bill an agent with \`maxwell receipt get demo-infer-urgent\`.`;

const AGENTS_DIR = fileURLToPath(new URL('../../../agents/build/', import.meta.url));

interface Cast {
  /** The wallet's name (STATE/wallets/NAME.pem). */
  wallet: string;
  agent: 'infer' | 'looper' | 'miner' | 'churner';
  args: string[];
  bid: number;
  /** The wallet is topped up (or trimmed) to this before the run (J). */
  budgetJ: number;
  /** Queries of QUERY_BATCH samples the requester gives it (infer agents). */
  queries?: number;
}

/** The requester's queries: batches of noisy held-out iris samples (seeded: every run the same). */
const QUERY_BATCH = 256;
const QUERY_NOISE_MM = 3;

// Budgets sized for the nominal model (about 7 J per core-second at the base price): an infer
// agent starts with a little and lives on what its answers earn (about 1.3 bits a sample, paid at
// the reward rate, against a few µJ of energy a sample); the looper and the miner burn theirs in
// about a core-second at their bids.
const CAST: Cast[] = [
  { wallet: 'demo-infer-urgent', agent: 'infer', args: ['0'], bid: 4, budgetJ: 2, queries: 1_200 },
  { wallet: 'demo-infer', agent: 'infer', args: ['0'], bid: 2, budgetJ: 2, queries: 1_200 },
  { wallet: 'demo-infer-patient', agent: 'infer', args: ['0'], bid: 1, budgetJ: 2, queries: 1_200 },
  { wallet: 'demo-churner', agent: 'churner', args: ['30000'], bid: 1.5, budgetJ: 4 },
  { wallet: 'demo-looper', agent: 'looper', args: [], bid: 2, budgetJ: 8 },
  { wallet: 'demo-miner', agent: 'miner', args: ['60'], bid: 3, budgetJ: 10 },
];

export async function run(argv: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      'power-cap': { type: 'string' },
      workers: { type: 'string' },
      'sys-root': { type: 'string', default: '/' },
      json: { type: 'boolean', default: false },
      state: { type: 'string', default: '.maxwell' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const durationS = positiveNumber('duration', values.duration, 60);
  if (durationS > 3600) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--duration is at most 3600 s');
  const workers = values.workers === undefined ? availableParallelism() : positiveInteger('workers', values.workers, 1);
  const model = NodePowerModel.forCores(workers);
  const say = values.json ? () => {} : (s: string) => console.log(s);
  const sysRoot = values['sys-root'];
  // A node with a power meter: the cap is set above what it measures at rest, so that it binds
  // on the agents' work, not on the machine's idle draw.
  let measuredIdleW: number | undefined;
  if (values['power-cap'] === undefined) {
    const probe = await RaplPowerMeter.open({ root: sysRoot });
    if (probe.meter !== undefined) {
      for (let i = 0; i < 5; i++) {
        probe.meter.poll(Date.now());
        await sleep(110);
      }
      measuredIdleW = probe.meter.powerW(Date.now());
    }
  }
  const activeRangeW = model.maxPowerW - model.idlePowerW;
  // Without a meter: the model's idle plus half its active range, at most the default cap (a
  // ledger made by another command allows no more: its maximum is fixed at genesis).
  // The ledger's maximum cap is fixed when it is created (at least the default): a default above
  // an existing ledger's maximum is brought down to it.
  const ledgerMaxW = existingLedgerMaxCapW(values.state) ?? Math.max(DEFAULT_POWER_CAP_W, measuredIdleW === undefined ? 0 : measuredIdleW + 0.5 * activeRangeW);
  const powerCapW = positiveNumber('power-cap', values['power-cap'], Math.min(ledgerMaxW, measuredIdleW === undefined
    ? Math.round((model.idlePowerW + 0.5 * activeRangeW) * 10) / 10
    : Math.round((measuredIdleW + 0.5 * activeRangeW) * 10) / 10));
  if (measuredIdleW !== undefined && measuredIdleW >= 0.95 * powerCapW) {
    say(`warning: the node draws ${measuredIdleW.toFixed(1)} W (measured) at rest, at or above its cap's target (95% of ${powerCapW} W): little will run; use --power-cap or another --state`);
  }

  const infer = await readInferModel();
  const inferHash = modelHash(infer.model).toString('hex');
  const host = await NodeHost.open({ stateDir: values.state, workers, sysRoot, models: [infer.model], config: { ...DEFAULT_KERNEL_CONFIG, powerCapW } });
  const views: ProcessView[] = [];
  let avgPowerW = 0;
  let avgMeasuredW: number | undefined;
  let powerSource = '';
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.once('SIGINT', onSignal);
  const started = performance.now();
  try {
    if (host.lost.length > 0) say(`the node stopped last time with ${host.lost.length} process(es) alive: recorded as lost (${host.lost.map((p) => `${p.pid} ${p.agent}`).join(', ')})`);
    say(`maxwell demo: ${CAST.length} agents on one node, ${workers} worker(s), power cap ${powerCapW} W (${measuredIdleW === undefined ? `the model's peak is ${model.maxPowerW.toFixed(1)} W, idle ${model.idlePowerW.toFixed(1)} W` : `${measuredIdleW.toFixed(1)} W measured at rest`}); node power ${host.powerSource}; process energy: ${host.calibration.basis === 'calibrated' ? `calibrated ${host.calibration.measuredAt}` : 'nominal model (run `maxwell calibrate` to measure this machine)'}, estimated`);
    // The requester holds exactly the fees of the queries it gives (the most their answers can earn).
    const classes = infer.model.layers[infer.model.layers.length - 1]!.outputs;
    const feeUj = CAST.reduce((s, c) => s + (c.queries === undefined ? 0 : host.node.proofs!.feeUj(classes, c.queries * QUERY_BATCH)), 0);
    const wallets = await fund(host, values.state, [...CAST, { wallet: 'demo-requester', budgetJ: feeUj / UJ_PER_J }], say);
    const requester = wallets.get('demo-requester')!;
    const rand = seededRandom(0x51);
    const queriesFor = (n: number): Int8Array[] => Array.from({ length: n }, (_, q) => {
      const samples = Array.from({ length: QUERY_BATCH }, (_, k) => infer.testX[(q * QUERY_BATCH + k) % infer.testX.length]!
        .map((v) => v + Math.floor(rand() * (2 * QUERY_NOISE_MM + 1)) - QUERY_NOISE_MM));
      return toSampleMajor(quantiseInput(samples, infer.inputZero), infer.inputZero.length, QUERY_BATCH);
    });
    const modules = new Map<string, Awaited<ReturnType<typeof compileModule>>>();
    for (const c of CAST) {
      if (!modules.has(c.agent)) modules.set(c.agent, await compileModule(await readModuleFile(join(AGENTS_DIR, `${c.agent}.wasm`)), { cacheDir: join(values.state, 'cache') }));
    }
    const pids: number[] = [];
    for (const c of CAST) {
      const v = await host.submit({
        module: modules.get(c.agent)!, agent: c.agent, wallet: wallets.get(c.wallet)!, bid: c.bid, memoryMiB: 64, args: [c.agent, ...c.args],
        ...(c.queries === undefined ? {} : { queries: { requester, modelHash: inferHash, batches: queriesFor(c.queries), batch: QUERY_BATCH } }),
      });
      pids.push(v.pid);
    }
    const table = new LiveTable(!values.json && process.stdout.isTTY === true);
    const runStart = performance.now();
    const deadline = runStart + durationS * 1000;
    for (;;) {
      const now = pids.map((pid) => host.inspect(pid));
      const live = now.filter((v) => v.state !== 'dead').length;
      const elapsedS = (performance.now() - runStart) / 1000;
      if (!values.json) table.show(now, `${elapsedS.toFixed(1)} s of at most ${durationS} s · price ${host.node.reservePrice.toFixed(2)} tokens/J · power ${lastPower(host)}, cap ${powerCapW} W · ${live} of ${pids.length} alive`);
      if (live === 0 || interrupted || performance.now() >= deadline) break;
      await sleep(values.json ? 100 : 250);
    }
    const leftAlive = pids.filter((pid) => host.inspect(pid).state !== 'dead');
    if (leftAlive.length > 0) say(`${interrupted ? 'interrupted' : `${durationS} s are up`}: stopping ${leftAlive.length} process(es) still alive (${leftAlive.join(', ')})`);
    for (const pid of leftAlive) host.kill(pid);
    const waitUntil = performance.now() + 3_000;
    while (pids.some((pid) => host.inspect(pid).state !== 'dead') && performance.now() < waitUntil) await sleep(20);
    for (const pid of pids) views.push(host.inspect(pid));
  } finally {
    process.off('SIGINT', onSignal);
    avgMeasuredW = host.node.avgMeasuredPowerW;
    avgPowerW = avgMeasuredW ?? host.node.avgPowerW;
    powerSource = host.powerSource;
    await host.close();
  }
  const wallS = (performance.now() - started) / 1000;
  // What was written, checked the way `maxwell ledger verify` checks it.
  const db = ledgerPath(values.state);
  const store = new SqliteStore(db, { readonly: true });
  let verified: boolean;
  let verifyProblem: string | undefined;
  try {
    const v = verifyLedger(store);
    verified = v.ok;
    verifyProblem = v.problem?.message;
  } finally {
    store.close();
  }
  const rows = views.map((v, i) => ({ v, cast: CAST[i]! }));
  if (values.json) {
    console.log(JSON.stringify({
      processes: rows.map(({ v, cast }) => ({
        pid: v.pid, agent: v.agent, wallet_name: cast.wallet, bid: cast.bid,
        exit: v.exit === null ? null : { reason: v.exit.reason, code: v.exit.code, error_code: v.exit.errorCode, message: v.exit.message },
        energy_j: v.energyJ, energy_source: v.energySource, rent_j: v.rentJ, tax_j: v.taxJ, charged_j: v.chargedJ,
        rewarded_j: v.proof?.rewardJ ?? 0,
        // Information gain verified by the node, per joule of the process's (estimated) energy.
        ig_bits: v.proof?.bits ?? 0, ig_bits_per_j: v.proof?.bitsPerJ ?? 0,
        claims: { accepted: v.proof?.accepted ?? 0, rejected: v.proof?.rejected ?? 0 },
        balance_start_j: cast.budgetJ, balance_end_j: v.balanceJ,
        memory_bytes: v.memoryBytes, stdout: (v.stdout ?? '').trim(),
      })),
      power_cap_w: powerCapW,
      avg_power_w: avgPowerW,
      power_source: avgMeasuredW === undefined ? 'estimated' : 'measured',
      wall_s: wallS,
      ledger_db: db,
      ledger_verified: verified,
      ...(verifyProblem === undefined ? {} : { ledger_problem: verifyProblem }),
    }, null, 2));
    return verified ? 0 : 1;
  }
  console.log('');
  for (const { v, cast } of rows) {
    // The line that says what the agent did: an infer agent's answers to the requester, else its last.
    const lines = (v.stdout ?? '').trim().split('\n');
    const out = lines.find((l) => l.startsWith('infer: served=')) ?? lines.pop() ?? '';
    const earned = v.proof === undefined ? '' : `, earned ${v.proof.rewardJ.toFixed(4)} J for ${v.proof.bits.toFixed(0)} verified bits (${v.proof.bitsPerJ.toFixed(0)} bits/J est.; balance ${cast.budgetJ} → ${v.balanceJ.toFixed(4)} J)`;
    console.log(`${String(v.pid).padStart(4)} ${cast.wallet.padEnd(19)} ${describeExit(v).padEnd(38)} paid ${(v.chargedJ + v.rentJ + v.taxJ).toFixed(4)} J (charges ${v.chargedJ.toFixed(4)}, rent ${v.rentJ.toFixed(4)}, tax ${v.taxJ.toFixed(4)})${earned}${out ? `  ${out.slice(0, 80)}` : ''}`);
  }
  console.log(`power: ${avgPowerW.toFixed(1)} W on average (${powerSource}) against a cap of ${powerCapW} W: ${avgPowerW <= powerCapW ? 'under the cap' : 'OVER the cap'}; ${wallS.toFixed(1)} s`);
  console.log(`ledger: ${db} ${verified ? 'verifies' : `DOES NOT VERIFY: ${verifyProblem}`} (every charge, rent, tax, query fee, reward and death above is a signed entry); check it yourself: maxwell ledger verify --state ${values.state}`);
  return verified ? 0 : 1;
}

/** The maximum power cap of the ledger in STATE, if there is one (fixed at its genesis). */
function existingLedgerMaxCapW(stateDir: string): number | undefined {
  const path = ledgerPath(stateDir);
  if (!existsSync(path)) return undefined;
  const store = new SqliteStore(path, { readonly: true });
  try {
    const g = store.genesis();
    return g === undefined ? undefined : g.maxPowerCapMw / 1000;
  } finally {
    store.close();
  }
}

function describeExit(v: ProcessView): string {
  if (v.exit === null) return v.state;
  if (v.exit.reason === 'exit') return `finished (exit ${v.exit.code})`;
  if (v.exit.reason === 'apoptosis') return `died: ${v.exit.message}`;
  return `${v.exit.reason}: ${v.exit.message}`.slice(0, 38);
}

function lastPower(host: NodeHost): string {
  const last = host.priceHistory().at(-1);
  return last === undefined ? 'not sampled yet' : `${last.powerW.toFixed(1)} W (${last.powerSource === 'measured' ? 'meas.' : 'est.'})`;
}

/**
 * The live table: on a terminal, redrawn in place; otherwise a line of progress every few
 * seconds (a log file should not fill with tables).
 */
class LiveTable {
  private drawn = 0;
  private lastPrintMs = -Infinity;
  private readonly lastEnergy = new Map<number, { j: number; t: number; w: number }>();
  constructor(private readonly tty: boolean) {}

  show(views: ProcessView[], progress: string): void {
    const t = performance.now();
    const header = ['pid', 'agent', 'state', 'bid', 'balance J', 'energy J (est.)', 'rent J', 'tax J', 'earned J', 'bits/J (est.)', 'price', 'power W (est.)'];
    const rows = views.map((v) => {
      const last = this.lastEnergy.get(v.pid);
      // The process's power: its energy over the last redraw (estimated, like the energy).
      const w = last === undefined || t - last.t < 200 ? last?.w ?? 0 : ((v.energyJ - last.j) * 1000) / (t - last.t);
      if (last === undefined || t - last.t >= 200) this.lastEnergy.set(v.pid, { j: v.energyJ, t, w });
      return [
        String(v.pid), v.agent, v.exit === null ? v.state : v.exit.reason === 'exit' ? 'finished' : v.exit.reason,
        v.bid.toFixed(2), v.balanceJ.toFixed(4), v.energyJ.toFixed(4), v.rentJ.toFixed(4), v.taxJ.toFixed(4),
        (v.proof?.rewardJ ?? 0).toFixed(4), (v.proof?.bitsPerJ ?? 0).toFixed(0), v.priceTokensPerJ.toFixed(2), v.exit === null ? w.toFixed(2) : '-',
      ];
    });
    if (!this.tty) {
      if (t - this.lastPrintMs < 5_000) return;
      this.lastPrintMs = t;
      console.log(progress);
      return;
    }
    const text = [...alignColumns(header, rows, (i) => i >= 3), progress];
    if (this.drawn > 0) process.stdout.write(`\x1b[${this.drawn}F`);
    process.stdout.write(text.map((l) => `${l}\x1b[K`).join('\n') + '\n');
    this.drawn = text.length;
  }
}

/**
 * Gives each cast member its wallet (made once, kept in STATE/wallets/NAME.pem) holding exactly
 * its budget: topped up from the treasury (which mints what the power cap has accrued, waiting
 * for it if need be), or trimmed by a transfer the wallet signs to the wallet `demo-savings`
 * (the treasury takes no transfers), so that every run starts from the same balances.
 */
async function fund(host: NodeHost, stateDir: string, budgets: readonly { wallet: string; budgetJ: number }[], say: (s: string) => void): Promise<Map<string, Buffer>> {
  const ledger = host.ledger;
  const wallets = new Map<string, Buffer>();
  const savingsPath = walletKeyPath(stateDir, 'demo-savings');
  if (!existsSync(savingsPath)) saveNewKey(savingsPath, generateKey());
  const savings = loadKey(savingsPath).raw;
  // A transfer's payee must be known to the ledger: a first µJ makes it so.
  if (ledger.balanceOf(savings) === undefined) {
    ledger.mint();
    host.fund(savings, 1e-6);
  }
  let waited = false;
  for (const c of budgets) {
    const path = walletKeyPath(stateDir, c.wallet);
    if (!existsSync(path)) saveNewKey(path, generateKey());
    const key = loadKey(path);
    wallets.set(c.wallet, key.raw);
    const targetUj = Math.round(c.budgetJ * UJ_PER_J);
    const haveUj = ledger.balanceOf(key.raw) ?? 0;
    if (haveUj > targetUj) {
      const amountUj = haveUj - targetUj;
      const nonce = ledger.nextNonce(key.raw);
      const r = ledger.transfer({ from: key.raw, to: savings, amountUj, nonce, signature: signWith(key, transferMessage(ledger.nodeWallet, key.raw, savings, amountUj, nonce)) });
      if (r.kind !== 'ok') throw new Error(`trimming ${c.wallet} failed: ${r.kind}`);
      continue;
    }
    if (haveUj === targetUj) continue;
    const deadline = Date.now() + 60_000;
    for (;;) {
      ledger.mint();
      if ((ledger.balanceOf(ledger.nodeWallet) ?? 0) >= targetUj - haveUj) break;
      if (Date.now() > deadline) throw new Error(`the treasury did not accrue ${c.wallet}'s budget within a minute`);
      if (!waited) say(`the treasury is waiting for the power cap (${ledger.powerCapW} W) to accrue the agents' budgets…`);
      waited = true;
      await sleep(50);
    }
    host.fund(key.raw, (targetUj - haveUj) / UJ_PER_J);
  }
  ledger.seal();
  return wallets;
}
