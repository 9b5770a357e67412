/**
 * The node loop (first version): slots sold by auction, paid through the ledger, rent charged,
 * the broke killed, the power cap held by the reserve price.
 *
 *  - Each worker of a slotted pool (src/runtime: a process runs only on fuel granted to it) sells
 *    one slot at a time. Processes stay on the worker they were placed on, so each worker runs
 *    its own auction among its processes (src/market AuctionHeap, k = 1: the winner pays
 *    max(reserve, the second bid)), at the node's reserve price (power-cap.ts).
 *  - A slot is a quantum's worth of fuel, or less if that is all the winner can pay for at the
 *    clearing price; a winner that cannot pay for a minimal slot is due to die. A worker whose
 *    slot ends sells the next one at once (no waiting for a tick).
 *  - When a slot ends, the fuel really used becomes energy (the calibration: estimated) and is
 *    charged at the slot's price (accounts.ts). Every tick charges rent, feeds the node's power
 *    (the model at the round's utilisation) to the power cap controller, and kills the processes
 *    that could not pay. A dead process's account is closed (its memory's tax, its death entry).
 *
 * Not yet: the death notice and grace fuel before the kill, memory growth through the bond, the
 * ABI (a process setting its own bid), moving processes between workers.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { AuctionHeap, seededRandom, type Random } from '../market/index.js';
import type { DeathReasonName } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';
import type { WorkerPool } from '../runtime/pool.js';
import type { CompiledModule } from '../runtime/module.js';
import type { FinishedProcess } from '../runtime/protocol.js';
import { NodePowerModel } from '../energy/power-model.js';
import { Accounts } from './accounts.js';
import type { KernelConfig } from './config.js';
import { PowerCapController } from './power-cap.js';

export interface NodeInit {
  /** A started pool with `slotted: true`, whose onSlotEnd calls node.onSlotEnd. */
  pool: WorkerPool;
  ledger: Ledger;
  config: KernelConfig;
  /** Joules per fuel (the calibration) and fuel per ms of a busy core. */
  jPerFuel: number;
  fuelPerMs: number;
  now?: () => number;
  random?: Random;
  power?: NodePowerModel;
}

export interface NodeProcess {
  pid: number;
  agent: string;
  wallet: Buffer;
  bid: number;
  worker: number;
  done: Promise<FinishedProcess>;
}

/** The smallest slot worth selling (fuel): less cannot cross a loop body. */
const MIN_SLOT_FUEL = 10_000;

export class KernelNode {
  private readonly pool: WorkerPool;
  private readonly ledger: Ledger;
  private readonly config: KernelConfig;
  readonly accounts: Accounts;
  readonly cap: PowerCapController;
  private readonly power: NodePowerModel;
  private readonly markets: AuctionHeap[];
  /** Per worker, the slot being run: its process and its price (µtokens/J). */
  private readonly inFlight: ({ pid: number; priceUtPerJ: number } | null)[];
  private readonly processes = new Map<number, NodeProcess>();
  /** Processes found unable to pay since the last reap: the reap looks at these, not at every process. */
  private readonly doomed = new Set<number>();
  private readonly now: () => number;
  private readonly random: Random;
  private readonly jPerFuel: number;
  private readonly fuelPerMs: number;
  private reserve: number;
  private timer: NodeJS.Timeout | undefined;
  /** Slots sold and busy worker-time, for the power estimate and the figures. */
  slotsSold = 0;
  private busyMs = 0;
  private lastTickMs: number;

  constructor(init: NodeInit) {
    this.pool = init.pool;
    this.ledger = init.ledger;
    this.config = init.config;
    this.now = init.now ?? Date.now;
    this.random = init.random ?? seededRandom(Date.now());
    this.jPerFuel = init.jPerFuel;
    this.fuelPerMs = init.fuelPerMs;
    assert(this.jPerFuel > 0 && this.fuelPerMs > 0, 'the calibration is positive');
    this.accounts = new Accounts(init.config, init.ledger);
    this.cap = new PowerCapController({ capW: init.config.powerCapW, basePrice: init.config.basePriceTokensPerJ });
    this.power = init.power ?? NodePowerModel.forCores(init.pool.size);
    this.markets = Array.from({ length: init.pool.size }, () => new AuctionHeap({ maxBids: 65_536, minBidIntervalMs: 0, bidTtlMs: Number.MAX_SAFE_INTEGER }));
    this.inFlight = new Array(init.pool.size).fill(null);
    this.reserve = init.config.basePriceTokensPerJ;
    this.lastTickMs = this.now();
  }

  get reservePrice(): number {
    return this.reserve;
  }

  /** Starts a process paying from `wallet` with a standing bid (tokens/J). */
  async spawn(module: CompiledModule, o: { agent: string; wallet: Buffer; bid: number; memoryLimitPages: number; args?: string[] }): Promise<NodeProcess> {
    // The kernel, not a fuel budget, decides how long a process lives: it runs while it pays.
    const s = await this.pool.spawn(module, { budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: o.memoryLimitPages, ...(o.args ? { args: o.args } : {}) });
    const worker = this.pool.workerOf(s.pid)!;
    const p: NodeProcess = { pid: s.pid, agent: o.agent, wallet: o.wallet, bid: o.bid, worker, done: s.done };
    this.processes.set(s.pid, p);
    try {
      this.accounts.open(s.pid, o.wallet, this.now());
      this.markets[worker]!.setBid(s.pid, o.bid, this.now());
    } catch (err) {
      this.pool.kill(s.pid, 'could not be admitted');
      throw err;
    }
    s.done.then((f) => this.onExit(f), () => {});
    this.fill(worker);
    return p;
  }

  /** Runs the loop: a tick every quantum (rent, power cap, the broke). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.config.quantumMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The pool's onSlotEnd: charges the slot, then sells the worker's next one. */
  onSlotEnd(e: { pid: number; worker: number; fuelUsed: number; dead: boolean }): void {
    const slot = this.inFlight[e.worker];
    if (slot === null || slot === undefined || slot.pid !== e.pid) return;
    this.inFlight[e.worker] = null;
    const energyUj = Math.ceil(e.fuelUsed * this.jPerFuel * 1e6);
    if (energyUj > 0 && !this.accounts.chargeSlice(e.pid, e.fuelUsed, energyUj, slot.priceUtPerJ, 'estimated')) this.doomed.add(e.pid);
    this.busyMs += e.fuelUsed / this.fuelPerMs;
    this.reapDoomed();
    this.fill(e.worker);
  }

  /** One tick: rent, the power cap's price, the broke, and any idle worker's next slot. */
  tick(): void {
    const now = this.now();
    for (const pid of this.accounts.accrueRent(now)) this.doomed.add(pid);
    const dt = Math.max(1, now - this.lastTickMs);
    const utilisation = Math.min(1, this.busyMs / (dt * this.pool.size));
    this.busyMs = 0;
    this.lastTickMs = now;
    this.reserve = this.cap.update(now, this.power.powerAt(utilisation).powerW);
    this.reapDoomed();
    for (let w = 0; w < this.markets.length; w++) this.fill(w);
  }

  /** Sells worker w's slot if it is free and someone bids at or above the reserve. */
  private fill(w: number): void {
    if (this.inFlight[w] !== null) return;
    const market = this.markets[w]!;
    for (let attempts = 0; attempts < 16 && market.size > 0; attempts++) {
      const c = market.clear(1, this.reserve, this.now(), this.random);
      const award = c.awards[0];
      if (award === undefined) return; // nobody bids at or above the reserve: the worker rests
      const priceUtPerJ = Math.ceil(c.priceTokensPerJ * 1e6);
      const a = this.accounts.get(award.pid);
      if (a === undefined || a.dead) {
        market.removeBid(award.pid);
        continue;
      }
      // As much of a quantum as the winner can pay for at this price.
      const ujPerFuel = this.jPerFuel * priceUtPerJ; // µtokens·J/J per fuel = µJ of tokens per fuel
      // Kept 1% and 10 µJ short of the balance: a slot may pass its grant by a loop body, and the
      // charge rounds the energy up, so the last slot must still be payable.
      const affordable = Math.floor((0.99 * (this.accounts.availableUj(a.wallet) - 10)) / Math.max(ujPerFuel, 1e-12));
      const fuel = Math.min(Math.floor(this.config.quantumMs * this.fuelPerMs), affordable);
      if (fuel < MIN_SLOT_FUEL) {
        // It won but cannot pay for a slot: out of the market, and due to die.
        market.removeBid(award.pid);
        this.accounts.markDue(award.pid, 'cannot_pay_charge');
        this.doomed.add(award.pid);
        this.reapDoomed();
        continue;
      }
      this.inFlight[w] = { pid: award.pid, priceUtPerJ };
      this.slotsSold++;
      this.pool.grant(award.pid, fuel);
      return;
    }
  }

  /** Kills the processes that could not pay (apoptosis). */
  private reapDoomed(): void {
    for (const pid of this.doomed) {
      const p = this.processes.get(pid);
      const a = this.accounts.get(pid);
      if (p === undefined || a === undefined || a.dead || a.dueToDie === null) continue;
      if (this.markets[p.worker]!.has(pid)) this.markets[p.worker]!.removeBid(pid);
      this.pool.kill(pid, `apoptosis: ${a.dueToDie.replaceAll('_', ' ')}`);
    }
    this.doomed.clear();
  }

  private onExit(f: FinishedProcess): void {
    const p = this.processes.get(f.pid);
    if (p === undefined) return;
    const market = this.markets[p.worker]!;
    if (market.has(f.pid)) market.removeBid(f.pid);
    if (this.inFlight[p.worker]?.pid === f.pid) this.inFlight[p.worker] = null;
    const reason: DeathReasonName = f.exit.reason === 'exit' ? 'exited' : f.exit.reason === 'killed' ? 'killed' : f.exit.reason === 'apoptosis' ? 'cannot_pay_charge' : 'trapped';
    this.accounts.close(f.pid, reason);
    this.processes.delete(f.pid);
    this.doomed.delete(f.pid);
    this.fill(p.worker);
  }

  get(pid: number): NodeProcess {
    const p = this.processes.get(pid);
    if (p === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no process ${pid}`);
    return p;
  }
}
