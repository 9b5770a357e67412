/**
 * A running node, assembled: the ledger (./.maxwell/ledger.db), a slotted worker pool, the
 * kernel loop over them, and the node's own small record of its processes (node.db). The demo,
 * `maxwell run` on an embedded node and `maxwell up` (the HTTP API, src/api) all run one of these.
 *
 * The process record is what lets a restart be honest: every process is written down when it is
 * admitted and when it ends, so a node that was killed mid-run finds, when it starts again, the
 * processes that were alive, records each one's death as `lost` in the ledger, and reports them
 * (`NodeHost.lost`). Pids are never reused on the same state directory: a ledger's pid names one
 * process.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { ErrorCode, MaxwellError } from '../errors.js';
import { compileModule, type CompiledModule } from '../runtime/module.js';
import { WorkerPool } from '../runtime/pool.js';
import { WASM_PAGE_BYTES } from '../runtime/instrument.js';
import { loadCalibration, type Calibration } from '../energy/calibration.js';
import { defaultPowerModelParams, NodePowerModel } from '../energy/power-model.js';
import { openNodeLedger } from '../ledger/node-files.js';
import { hex, UJ_PER_J } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';
import { DEFAULT_KERNEL_CONFIG, validateKernelConfig, type KernelConfig } from './config.js';
import { KernelNode, type PriceSample, type QueriesInput } from './node.js';
import { ClaimVerifier } from '../proof/claim.js';
import { QueryBook, type RewardConfig } from '../proof/queries.js';
import type { Model } from '../proof/model.js';
import { RaplPowerMeter } from './measured-power.js';

export interface HostInit {
  /** The node's state directory (default ./.maxwell). */
  stateDir?: string;
  /** Worker threads (default: the number of cores). */
  workers?: number;
  config?: KernelConfig;
  /** Default: the state directory's calibration, else the nominal model. */
  calibration?: Calibration;
  /** The most live processes (default 10,000). */
  maxProcesses?: number;
  /** Where /sys is (tests point it at a fixture tree); default '/'. */
  sysRoot?: string;
  /** Models the node checks inference claims for (proof of useful work); default none. */
  models?: Model[];
  /** How claims are checked and paid (default DEFAULT_REWARD_CONFIG). */
  rewards?: RewardConfig;
}

/** One process as the node shows it (API, `maxwell ps`, the demo's table). Amounts in J. */
export interface ProcessView {
  pid: number;
  agent: string;
  /** The paying wallet, 64 hex digits. */
  wallet: string;
  state: 'waiting' | 'running' | 'dying' | 'dead';
  bid: number;
  /** The price its last slot cleared at (tokens/J); 0 before its first slot. */
  priceTokensPerJ: number;
  /** The wallet's balance not held by bonds (J of tokens). */
  balanceJ: number;
  /** Energy used (estimated by the calibrated model). */
  energyJ: number;
  energySource: 'estimated';
  chargedJ: number;
  rentJ: number;
  taxJ: number;
  memoryBytes: number;
  fuel: number;
  startedMs: number;
  exit: { reason: string; code: number | null; errorCode: string | null; message: string } | null;
  /** Its answers to requesters' queries, if it was given any: checked claims and what they earned. */
  proof?: {
    claims: number;
    accepted: number;
    rejected: number;
    samples: number;
    /** Verified information gain, bits, and per joule of the process's (estimated) energy. */
    bits: number;
    bitsPerJ: number;
    rewardJ: number;
    lastRejection: string | null;
    /** −log2 of the largest chance that one of its accepted claims was false (null before any). */
    soundnessBits: number | null;
  };
  stdout?: string;
  stderr?: string;
}

export interface LostProcess {
  pid: number;
  agent: string;
  wallet: string;
  startedMs: number;
}

/** Dead processes kept for `ps` and the API (the oldest are forgotten first). */
export const KEEP_DEAD = 1_000;
/** The largest module the node accepts (bytes). */
export const MAX_MODULE_BYTES = 16 * 2 ** 20;

export class NodeHost {
  readonly stateDir: string;
  readonly ledger: Ledger;
  readonly node: KernelNode;
  readonly calibration: Calibration;
  readonly config: KernelConfig;
  /** Where the power the cap controller holds comes from, for people. */
  powerSource = 'estimated by the model';
  /** Processes that were alive when the node last stopped without closing them. */
  readonly lost: LostProcess[];
  private readonly pool: WorkerPool;
  private readonly db: Database.Database;
  private readonly dead = new Map<number, ProcessView>();
  private endedRows: { pid: number; reason: string; ms: number }[] = [];
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(o: { stateDir: string; ledger: Ledger; pool: WorkerPool; node: KernelNode; db: Database.Database; calibration: Calibration; config: KernelConfig; lost: LostProcess[] }) {
    this.stateDir = o.stateDir;
    this.ledger = o.ledger;
    this.pool = o.pool;
    this.node = o.node;
    this.db = o.db;
    this.calibration = o.calibration;
    this.config = o.config;
    this.lost = o.lost;
    this.flushTimer = setInterval(() => {
      try {
        this.flushEnded();
      } catch (err) {
        console.error(`maxwell node: could not record ended processes: ${(err as Error).message}`);
      }
    }, 100);
    this.flushTimer.unref();
  }

  static async open(init: HostInit = {}): Promise<NodeHost> {
    const stateDir = init.stateDir ?? '.maxwell';
    const config = init.config ?? { ...DEFAULT_KERNEL_CONFIG };
    const problem = validateKernelConfig(config);
    if (problem !== undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, problem);
    mkdirSync(stateDir, { recursive: true });
    const calibration = init.calibration ?? await loadCalibration(stateDir);
    const ledger = openNodeLedger({ stateDir, powerCapW: config.powerCapW });
    let db: Database.Database | undefined;
    let pool: WorkerPool | undefined;
    try {
      db = new Database(join(stateDir, 'node.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE IF NOT EXISTS processes (
        pid INTEGER PRIMARY KEY, agent TEXT NOT NULL, wallet BLOB NOT NULL, started_ms INTEGER NOT NULL,
        ended_ms INTEGER, reason TEXT)`);
      // Found alive: the node stopped without closing them. Their deaths are recorded as lost.
      const lostRows = db.prepare('SELECT pid, agent, wallet, started_ms FROM processes WHERE ended_ms IS NULL ORDER BY pid').all() as { pid: number; agent: string; wallet: Buffer; started_ms: number }[];
      const lost: LostProcess[] = [];
      const end = db.prepare('UPDATE processes SET ended_ms = ?, reason = ? WHERE pid = ?');
      for (const r of lostRows) {
        if (ledger.balanceOf(r.wallet) !== undefined) ledger.death({ wallet: r.wallet, pid: r.pid, reason: 'lost', amountUj: 0 });
        lost.push({ pid: r.pid, agent: r.agent, wallet: hex(r.wallet), startedMs: r.started_ms });
      }
      ledger.seal();
      db.transaction(() => { for (const r of lostRows) end.run(Date.now(), 'lost', r.pid); })();
      const maxPid = (db.prepare('SELECT MAX(pid) AS m FROM processes').get() as { m: number | null }).m ?? 0;
      const fuelPerMs = (calibration.fuelPerCpuSecond ?? calibration.pActiveW / calibration.jPerFuel) / 1000;
      let node!: KernelNode;
      pool = new WorkerPool({
        slotted: true,
        // Slices of about a millisecond: where a slot can be cut short for a higher bid.
        sliceFuel: Math.max(10_000, Math.round(fuelPerMs)),
        firstPid: maxPid + 1,
        jPerFuel: calibration.jPerFuel,
        ...(init.workers === undefined ? {} : { workers: init.workers }),
        ...(init.maxProcesses === undefined ? {} : { maxProcesses: init.maxProcesses }),
        onSlotEnd: (e) => node.onSlotEnd(e),
      });
      await pool.start();
      // The power model's active power per core is the calibration's, so that a busy core's
      // energy by the model is the energy its fuel is charged for.
      const power = new NodePowerModel(defaultPowerModelParams(pool.size, calibration.pActiveW));
      const measured = await RaplPowerMeter.open(init.sysRoot === undefined ? {} : { root: init.sysRoot });
      const verifier = new ClaimVerifier();
      for (const m of init.models ?? []) verifier.register(m);
      const proofs = new QueryBook({ verifier, ...(init.rewards ? { config: init.rewards } : {}) });
      node = new KernelNode({ pool, ledger, config, jPerFuel: calibration.jPerFuel, fuelPerMs, power, proofs, ...(measured.meter ? { meter: measured.meter } : {}) });
      const host = new NodeHost({ stateDir, ledger, pool, node, db, calibration, config, lost });
      host.powerSource = measured.meter === undefined
        ? `estimated by the model${measured.problem === undefined ? ', no RAPL on this node' : `: ${measured.problem}`}`
        : `measured (${measured.meter.describe})`;
      ledger.start();
      node.start();
      return host;
    } catch (err) {
      await pool?.stop();
      db?.close();
      ledger.close();
      throw err;
    }
  }

  /**
   * Admits a process paying from `wallet` (a funded wallet), with a standing bid (tokens/J,
   * default the base price). Rejects bad modules and unfunded wallets with their codes.
   */
  async submit(o: { module: Uint8Array | CompiledModule; agent: string; wallet: Buffer; bid?: number; memoryMiB?: number; args?: string[]; queries?: QueriesInput }): Promise<ProcessView> {
    this.assertOpen();
    if (o.module instanceof Uint8Array && o.module.byteLength > MAX_MODULE_BYTES) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the module is ${o.module.byteLength} bytes; the node accepts at most ${MAX_MODULE_BYTES}`);
    }
    const memoryMiB = o.memoryMiB ?? 64;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > 4096) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `memory is a whole number of MiB in [1, 4096], not ${o.memoryMiB}`);
    const bid = o.bid ?? this.config.basePriceTokensPerJ;
    if (!Number.isFinite(bid) || bid <= 0 || bid > 1e9) throw new MaxwellError(ErrorCode.BID_INVALID, `a bid is a price in (0, 10^9] tokens/J, not ${o.bid}`);
    if (this.ledger.balanceOf(o.wallet) === undefined) throw new MaxwellError(ErrorCode.WALLET_UNKNOWN, `the wallet ${hex(o.wallet)} has never been funded on this node`);
    const compiled = o.module instanceof Uint8Array ? await compileModule(o.module, { cacheDir: join(this.stateDir, 'cache') }) : o.module;
    // The process is on record from the moment it has a pid, before it can run or be refused:
    // a pid the ledger has seen is never handed out again.
    let pid: number | undefined;
    let p;
    try {
      p = await this.node.spawn(compiled, {
        agent: o.agent, wallet: o.wallet, bid, memoryLimitPages: (memoryMiB * 2 ** 20) / WASM_PAGE_BYTES, args: o.args ?? [o.agent],
        ...(o.queries ? { queries: o.queries } : {}),
        onPid: (n) => {
          pid = n;
          this.db.prepare('INSERT INTO processes (pid, agent, wallet, started_ms) VALUES (?, ?, ?, ?)').run(n, o.agent, o.wallet, Date.now());
        },
      });
    } catch (err) {
      if (pid !== undefined) this.ended(pid, 'refused');
      throw err;
    }
    const admitted = p;
    const remember = (f?: { stdout: string; stderr: string }) => {
      const view = this.view(admitted.pid);
      if (view !== undefined) {
        if (f !== undefined) {
          view.stdout = f.stdout;
          view.stderr = f.stderr;
        }
        this.dead.set(admitted.pid, view);
        if (this.dead.size > KEEP_DEAD) this.dead.delete(this.dead.keys().next().value!);
      }
    };
    admitted.done.then((f) => {
      remember(f);
      this.ended(admitted.pid, f.exit.reason);
    }, () => {
      // The pool lost it (its worker crashed); the kernel has closed its account as killed.
      remember();
      this.ended(admitted.pid, 'killed');
    });
    return this.view(admitted.pid)!;
  }

  /**
   * A process ended: its row is closed once the ledger entries of its end are durable (the next
   * flush seals the ledger first), so that a crash in between reports it lost rather than
   * forgetting it.
   */
  private ended(pid: number, reason: string): void {
    this.endedRows.push({ pid, reason, ms: Date.now() });
  }

  private flushEnded(): void {
    if (this.endedRows.length === 0) return;
    this.ledger.seal();
    const rows = this.endedRows;
    this.endedRows = [];
    const end = this.db.prepare('UPDATE processes SET ended_ms = ?, reason = ? WHERE pid = ? AND ended_ms IS NULL');
    this.db.transaction(() => { for (const r of rows) end.run(r.ms, r.reason, r.pid); })();
  }

  /** Live processes and the last KEEP_DEAD dead ones, newest first. */
  list(): ProcessView[] {
    const out: ProcessView[] = [];
    for (const p of this.node.list()) out.push(this.view(p.pid)!);
    for (const v of this.dead.values()) if (!out.some((x) => x.pid === v.pid)) out.push(v);
    return out.sort((a, b) => b.pid - a.pid);
  }

  inspect(pid: number): ProcessView {
    const v = this.dead.get(pid) ?? this.view(pid);
    if (v === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no process ${pid} on this node`, { pid });
    return v;
  }

  /** Kills a live process (the operator's kill: its death is recorded as killed). */
  kill(pid: number): ProcessView {
    this.assertOpen();
    this.node.kill(pid);
    return this.inspect(pid);
  }

  /** Sets a live process's standing bid (tokens/J). */
  setBid(pid: number, bid: number): ProcessView {
    this.assertOpen();
    this.node.setBid(pid, bid);
    return this.inspect(pid);
  }

  /** The node's reserve price and power over the last minute (a sample every 100 ms). */
  priceHistory(): PriceSample[] {
    return this.node.priceHistory();
  }

  /**
   * Grants `amountJ` from the treasury to `wallet`, minting first what the power cap has
   * accrued. Refused (insufficient funds) when the treasury has not accrued it yet.
   */
  fund(wallet: Buffer, amountJ: number): { balanceJ: number } {
    this.assertOpen();
    const amountUj = Math.round(amountJ * UJ_PER_J);
    if (!Number.isSafeInteger(amountUj) || amountUj <= 0) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `an amount is a positive number of J, not ${amountJ}`);
    this.ledger.mint();
    const r = this.ledger.grant(wallet, amountUj);
    if (r.kind !== 'ok') {
      const waitS = Math.ceil((amountUj - r.haveUj) / (this.ledger.powerCapW * 1e6));
      throw new MaxwellError(ErrorCode.TREASURY_SHORT, `the treasury holds ${r.haveUj / UJ_PER_J} J, less than ${amountJ} J; it accrues ${this.ledger.powerCapW} J/s at the power cap: try again in ${waitS} s`, { retryAfterS: waitS });
    }
    return { balanceJ: (this.ledger.balanceOf(wallet) ?? 0) / UJ_PER_J };
  }

  /**
   * Stops the node: the loop, then every live process (killed, their deaths recorded), then the
   * ledger (sealed: all of it durable).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const live = this.node.list();
    for (const p of live) this.node.kill(p.pid, 'the node is stopping');
    await Promise.race([Promise.allSettled(live.map((p) => p.done)), new Promise((r) => setTimeout(r, 2_000))]);
    this.closed = true;
    clearInterval(this.flushTimer);
    this.node.stop();
    await this.pool.stop();
    // Anything that did not end in time is closed here, so that no process is left unrecorded.
    for (const p of this.node.list()) this.node.forceClose(p.pid, 'killed');
    for (const p of live) this.ended(p.pid, 'killed');
    this.flushEnded(); // seals the ledger, then closes the rows
    this.ledger.close();
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new MaxwellError(ErrorCode.NODE_STOPPED, 'the node is stopped');
  }

  private view(pid: number): ProcessView | undefined {
    const p = this.node.find(pid);
    const a = this.node.accounts.get(pid);
    if (p === undefined || a === undefined) return undefined;
    const r = this.pool.get(pid);
    const exit = p.exit ?? null;
    const st = this.node.proofStats(pid);
    return {
      pid,
      agent: p.agent,
      wallet: a.walletHex,
      state: exit !== null ? 'dead' : a.dueToDie !== null ? 'dying' : this.node.holdsSlot(pid) ? 'running' : 'waiting',
      bid: p.bid,
      priceTokensPerJ: a.lastPriceUtPerJ / 1e6,
      balanceJ: this.node.accounts.availableUj(a.wallet) / UJ_PER_J,
      energyJ: a.energyUj / UJ_PER_J,
      energySource: 'estimated',
      chargedJ: a.chargedUj / UJ_PER_J,
      rentJ: a.rentUj / UJ_PER_J,
      taxJ: a.taxUj / UJ_PER_J,
      memoryBytes: a.memoryBytes,
      fuel: r?.fuelUsed ?? 0,
      startedMs: p.startedMs,
      exit: exit === null ? null : { reason: exit.reason, code: exit.code, errorCode: exit.errorCode, message: exit.message },
      ...(st === undefined ? {} : {
        proof: {
          claims: st.claims, accepted: st.accepted, rejected: st.rejected, samples: st.samples, bits: st.bits,
          bitsPerJ: a.energyUj > 0 ? st.bits / (a.energyUj / UJ_PER_J) : 0, rewardJ: st.rewardUj / UJ_PER_J, lastRejection: st.lastRejection,
          // JSON has no Infinity: a spot check's re-execution is exact, shown as null like "none yet".
          soundnessBits: Number.isFinite(st.soundnessBits) ? st.soundnessBits : null,
        },
      }),
    };
  }
}
