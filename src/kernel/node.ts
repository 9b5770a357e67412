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
 *  - A process that cannot pay is told so: its `maxwell_apoptosis` export (if any) runs on the
 *    config's grace fuel, then it dies; its bond pays the tax on its memory; its death and the
 *    reason are a ledger entry. The grace is not charged (the wallet is empty): the node's gift.
 *  - Each slot carries the process's view (abi.ts SlotView: balance, price per fuel, tax rate),
 *    and each slot end what the process did through the ABI: its bid (the market is updated),
 *    memory grown (the erasure bond is posted), bytes discarded (the tax is charged).
 *  - No worker idles while a process that can pay waits: a worker with nothing to sell takes a
 *    bidder waiting on another worker (WorkerPool.migrate moves it, memory and globals).
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { AuctionHeap, isValidPrice, PRICE_MAX, PRICE_MIN, seededRandom, type Random } from '../market/index.js';
import type { DeathReasonName } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';
import type { WorkerPool } from '../runtime/pool.js';
import type { CompiledModule } from '../runtime/module.js';
import type { FinishedProcess, SlotEnd } from '../runtime/protocol.js';
import type { ProcessExit } from '../runtime/process.js';
import { WASM_PAGE_BYTES } from '../runtime/instrument.js';
import { NodePowerModel } from '../energy/power-model.js';
import { Accounts } from './accounts.js';
import type { KernelConfig } from './config.js';
import { PowerCapController } from './power-cap.js';
import type { PowerMeter } from './measured-power.js';
import type { QueryBook, ProofStats } from '../proof/queries.js';

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
  /** A meter of the node's real power (RAPL): the controller follows it while it is fresh. */
  meter?: PowerMeter;
  /** Registered models, open queries and the reward rule (proof of useful work); none: no queries. */
  proofs?: QueryBook;
}

/** A requester's queries for a process: the fee is debited from `requester` when it is admitted. */
export interface QueriesInput {
  requester: Buffer;
  /** The registered model's hash, hex. */
  modelHash: string;
  /** Each batch × the model's inputs, int8, sample-major. */
  batches: Int8Array[];
  batch: number;
}

export interface NodeProcess {
  pid: number;
  agent: string;
  wallet: Buffer;
  bid: number;
  worker: number;
  startedMs: number;
  done: Promise<FinishedProcess>;
  /** Set when it died. */
  exit: ProcessExit | null;
}

/** One sample of the node's reserve price and (estimated) power. */
export interface PriceSample {
  timeMs: number;
  priceTokensPerJ: number;
  /** Measured by the node's meter where it has one, else the model at the period's utilisation. */
  powerW: number;
  powerSource: 'measured' | 'estimated';
  utilisation: number;
}

/** The smallest slot worth selling (fuel): less cannot cross a loop body. */
const MIN_SLOT_FUEL = 10_000;
/** Price samples kept (one every SAMPLE_MS: a minute). */
const PRICE_SAMPLES = 600;
const SAMPLE_MS = 100;
/** Dead processes remembered (for the API and the demo's table); older ones are forgotten. */
const KEEP_DEAD = 1_000;

export class KernelNode {
  private readonly pool: WorkerPool;
  private readonly ledger: Ledger;
  private readonly config: KernelConfig;
  readonly accounts: Accounts;
  readonly cap: PowerCapController;
  private readonly power: NodePowerModel;
  private readonly meter: PowerMeter | undefined;
  readonly proofs: QueryBook | undefined;
  /** Rewards the treasury could not pay when they were earned (µJ): it had not accrued them. */
  unpaidRewardsUj = 0;
  private readonly markets: AuctionHeap[];
  /** Per worker, the slot being run: its process and its price (µtokens/J). */
  private readonly inFlight: ({ pid: number; slot: number; priceUtPerJ: number; walletHex: string; escrowUj: number } | null)[];
  /** The last slot's number (1..2^31−1, never 0: 0 is a slot that cannot be preempted). */
  private slotSeq = 0;
  /**
   * Per wallet (hex), the most its slots now running can cost: a slot is sized to what the wallet
   * can pay less what its other running slots may cost, so that processes sharing a wallet on
   * several workers cannot together run past its balance.
   */
  private readonly escrowUj = new Map<string, number>();
  private readonly processes = new Map<number, NodeProcess>();
  private readonly deadProcesses = new Map<number, NodeProcess>();
  /** Processes found unable to pay since the last reap: the reap looks at these, not at every process. */
  private readonly doomed = new Set<number>();
  /** Processes already sent their death notice. */
  private readonly notified = new Set<number>();
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
  readonly startedMs: number;
  /** The node's energy by the power model (idle included) and its idle part, J: estimated. */
  nodeEnergyJ = 0;
  idleEnergyJ = 0;
  /** Time the loop's own work took (slot settling, clearing, ticks), ms: the kernel's overhead. */
  kernelCpuMs = 0;
  /** Waits from a raised bid to its next slot, ms (the latency figure; the last 10,000). */
  readonly bidToSlotWaitsMs: number[] = [];
  private readonly raisedAtMs = new Map<number, number>();
  private readonly samples: PriceSample[] = [];
  /** Processes being moved to another worker, and per worker whether it is taking one. */
  private readonly moving = new Set<number>();
  private readonly stealing: boolean[];
  private readonly lastStealMs: number[];
  /** Processes moved to an idle worker so far. */
  migrations = 0;
  private lastSampleMs = -Infinity;
  private sampleBusyMs = 0;
  private sampleFromMs: number;

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
    this.meter = init.meter;
    this.proofs = init.proofs;
    this.markets = Array.from({ length: init.pool.size }, () => new AuctionHeap({ maxBids: 65_536, minBidIntervalMs: 0, bidTtlMs: Number.MAX_SAFE_INTEGER }));
    this.inFlight = new Array(init.pool.size).fill(null);
    this.stealing = new Array<boolean>(init.pool.size).fill(false);
    this.lastStealMs = new Array<number>(init.pool.size).fill(-Infinity);
    this.reserve = init.config.basePriceTokensPerJ;
    this.lastTickMs = this.now();
    this.startedMs = this.lastTickMs;
    this.sampleFromMs = this.lastTickMs;
  }

  get reservePrice(): number {
    return this.reserve;
  }

  /**
   * Starts a process paying from `wallet` with a standing bid (tokens/J). Its initial memory's
   * erasure bond is posted first: a wallet that cannot post it is refused (E_AMOUNT_INVALID).
   */
  async spawn(module: CompiledModule, o: { agent: string; wallet: Buffer; bid: number; memoryLimitPages: number; args?: string[]; onPid?: (pid: number) => void; queries?: QueriesInput }): Promise<NodeProcess> {
    if (!Number.isFinite(o.bid) || o.bid <= 0) throw new MaxwellError(ErrorCode.BID_INVALID, `a bid is a positive price in tokens/J, not ${o.bid}`);
    // The treasury pays no charges (the ledger refuses them): a process paying from it could not run.
    if (o.wallet.equals(this.ledger.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'a process cannot pay from the treasury');
    // Queries are checked and their fee known before the process exists; the fee is paid once it has a pid.
    let prepared: ReturnType<QueryBook['prepare']> | undefined;
    if (o.queries !== undefined) {
      if (this.proofs === undefined) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, 'this node takes no queries (no models are registered)');
      const req = o.queries.requester;
      if (this.ledger.balanceOf(req) === undefined) throw new MaxwellError(ErrorCode.WALLET_UNKNOWN, `the requester ${req.toString('hex')} has never been funded on this node`);
      if (req.equals(this.ledger.nodeWallet)) throw new MaxwellError(ErrorCode.WALLET_INVALID, 'the treasury cannot be a requester');
      prepared = this.proofs.prepare(o.queries.modelHash, o.queries.batches, o.queries.batch);
      // Checked again, exactly, right before the fee is taken; this is for a quick refusal.
      if (this.spendableUj(req) < prepared.feeUj) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `the requester can spend ${this.spendableUj(req)} µJ, less than the queries' fee of ${prepared.feeUj} µJ`);
    }
    // Everything that can refuse the process is checked before it exists: a bid the market takes.
    if (!isValidPrice(o.bid)) throw new MaxwellError(ErrorCode.BID_INVALID, `a bid is a price in [${PRICE_MIN}, ${PRICE_MAX}) tokens/J, not ${o.bid}`);
    // The kernel, not a fuel budget, decides how long a process lives: it runs while it pays.
    const s = await this.pool.spawn(module, {
      budgetFuel: Number.MAX_SAFE_INTEGER, bid: o.bid, memoryLimitPages: o.memoryLimitPages, ...(o.args ? { args: o.args } : {}),
      ...(prepared ? { queries: prepared.queries } : {}),
    });
    o.onPid?.(s.pid);
    const worker = this.pool.workerOf(s.pid)!;
    const p: NodeProcess = { pid: s.pid, agent: o.agent, wallet: o.wallet, bid: o.bid, worker, startedMs: this.now(), done: s.done, exit: null };
    try {
      this.accounts.open(s.pid, o.wallet, this.now());
      const initialBytes = module.info.guestInitialPages * WASM_PAGE_BYTES;
      if (initialBytes > 0 && !this.accounts.grow(s.pid, initialBytes, this.now())) {
        throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `the wallet cannot post the erasure bond for the module's ${initialBytes} bytes of memory`);
      }
      this.markets[worker]!.setBid(s.pid, o.bid, this.now());
      // The fee last, once nothing else can refuse the process: a refused admission costs its
      // requester nothing. What the requester can spend excludes its bonds and its processes'
      // running slots, with no await between this check and the entry.
      if (prepared !== undefined) {
        const q = o.queries!;
        const can = this.spendableUj(q.requester);
        if (can < prepared.feeUj) throw new MaxwellError(ErrorCode.AMOUNT_INVALID, `the requester can spend ${can} µJ, less than the queries' fee of ${prepared.feeUj} µJ`);
        const r = this.ledger.queryFee({ wallet: q.requester, pid: s.pid, samples: prepared.samples, amountUj: prepared.feeUj });
        assert(r.kind === 'ok', 'a fee within what the wallet can spend is paid');
        this.proofs!.commit(s.pid, q.modelHash, prepared.queries);
      }
    } catch (err) {
      if (this.markets[worker]!.has(s.pid)) this.markets[worker]!.removeBid(s.pid);
      this.pool.kill(s.pid, 'could not be admitted');
      if (this.accounts.get(s.pid) !== undefined) this.accounts.close(s.pid, 'killed');
      throw err;
    }
    this.processes.set(s.pid, p);
    s.done.then((f) => this.onExit(f), () => this.forceClose(s.pid, 'killed'));
    this.preemptFor(p);
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

  /** The pool's onSlotEnd: settles what the process did on the slot, then sells the worker's next one. */
  onSlotEnd(e: SlotEnd & { worker: number }): void {
    const t0 = performance.now();
    const slot = this.inFlight[e.worker];
    const sold = slot !== null && slot !== undefined && slot.pid === e.pid;
    if (sold) {
      this.inFlight[e.worker] = null;
      this.release(slot);
    }
    const a = this.accounts.get(e.pid);
    const p = this.processes.get(e.pid);
    if (a !== undefined && !a.dead) {
      // Bonds first: the slot's view let the process grow only while its balance covered them.
      if (e.grownBytes > 0 && !this.accounts.grow(e.pid, e.grownBytes, this.now())) this.accounts.markDue(e.pid, 'cannot_pay_charge');
      if (e.discardedBytes > 0 && !this.accounts.discard(e.pid, e.discardedBytes)) this.doomed.add(e.pid);
      const energyUj = Math.ceil(e.fuelUsed * this.jPerFuel * 1e6);
      if (sold) {
        if (energyUj > 0 && !this.accounts.chargeSlice(e.pid, e.fuelUsed, energyUj, slot.priceUtPerJ, 'estimated')) this.doomed.add(e.pid);
      } else {
        this.accounts.recordEnergy(e.pid, energyUj); // a death notice's grace
      }
      if (a.dueToDie !== null) this.doomed.add(e.pid);
      if (p !== undefined && e.bid !== null && e.bid !== p.bid && !e.dead && a.dueToDie === null && !this.moving.has(e.pid)) {
        p.bid = e.bid;
        this.markets[p.worker]!.setBid(e.pid, e.bid, this.now());
      }
    }
    if (e.claims !== undefined && p !== undefined) this.settleClaims(p, e.claims);
    this.busyMs += e.fuelUsed / this.fuelPerMs;
    this.sampleBusyMs += e.fuelUsed / this.fuelPerMs;
    this.reapDoomed();
    this.fill(e.worker);
    this.kernelCpuMs += performance.now() - t0;
  }

  /**
   * Checks a slot's claims and pays what they earned: one `reward` entry per slot, from the
   * treasury (minting what the power cap has accrued first, if it must). A reward the treasury
   * cannot cover is counted as unpaid, not owed. A process caught cheating by a spot check is killed.
   */
  private settleClaims(p: NodeProcess, claims: Uint8Array[]): void {
    const book = this.proofs;
    if (book === undefined) return;
    let milliBits = 0;
    let rewardUj = 0;
    let cheated = false;
    for (const blob of claims) {
      const r = book.settle(p.pid, p.wallet, blob);
      if (r.ok) {
        milliBits += r.milliBits;
        rewardUj += r.rewardUj;
      } else if (r.cheater) {
        cheated = true;
      }
    }
    // A slot in which the process was caught lying pays nothing, not even its other claims.
    if (cheated) {
      book.unpaid(p.pid, rewardUj);
      rewardUj = 0;
    }
    if (rewardUj > 0) {
      let r = this.ledger.reward({ wallet: p.wallet, pid: p.pid, milliBits, amountUj: rewardUj });
      if (r.kind === 'insufficient_funds') {
        this.ledger.mint();
        r = this.ledger.reward({ wallet: p.wallet, pid: p.pid, milliBits, amountUj: rewardUj });
      }
      if (r.kind !== 'ok') {
        this.unpaidRewardsUj += rewardUj;
        book.unpaid(p.pid, rewardUj);
      }
    }
    if (cheated && this.processes.has(p.pid)) this.pool.kill(p.pid, 'a spot check caught a false claim');
  }

  /** What a wallet can spend now: its balance less its bonds and the escrow of its running slots. */
  private spendableUj(wallet: Buffer): number {
    const hex = wallet.toString('hex');
    return this.accounts.availableUj(wallet, hex) - (this.escrowUj.get(hex) ?? 0);
  }

  /** What a process's claims have come to (proof of useful work); undefined if it was given no queries. */
  proofStats(pid: number): ProofStats | undefined {
    return this.proofs?.statsOf(pid);
  }

  /** One tick: rent, the power cap's price, the broke, and any idle worker's next slot. */
  tick(): void {
    const t0 = performance.now();
    const now = this.now();
    for (const pid of this.accounts.accrueRent(now)) this.doomed.add(pid);
    const dt = Math.max(1, now - this.lastTickMs);
    // Slot ends bunch up: busy time beyond this tick's capacity is carried into the next tick
    // (up to a second of it; past that the calibration is off and the excess is booked at once),
    // so that the node's energy accounts for every slot's.
    const capacityMs = dt * this.pool.size;
    const usedMs = Math.min(this.busyMs, capacityMs);
    this.busyMs -= usedMs;
    const activePerCoreW = (this.power.maxPowerW - this.power.idlePowerW) / this.pool.size;
    const overflowMs = Math.max(0, this.busyMs - 1000 * this.pool.size);
    this.busyMs -= overflowMs;
    const utilisation = usedMs / capacityMs;
    this.lastTickMs = now;
    const estimate = this.power.powerAt(utilisation);
    this.nodeEnergyJ += (estimate.powerW * dt + activePerCoreW * overflowMs) / 1000;
    this.idleEnergyJ += (this.power.idlePowerW * dt) / 1000;
    // The controller holds the node's real power under the cap where it is measured.
    this.meter?.poll(now);
    const measuredW = this.meter?.powerW(now);
    this.reserve = this.cap.update(now, measuredW ?? estimate.powerW);
    if (now - this.lastSampleMs >= SAMPLE_MS) this.sample(now);
    this.reapDoomed();
    for (let w = 0; w < this.markets.length; w++) this.fill(w);
    this.kernelCpuMs += performance.now() - t0;
  }

  private sample(now: number): void {
    const span = Math.max(1, now - this.sampleFromMs);
    const utilisation = Math.min(1, this.sampleBusyMs / (span * this.pool.size));
    const measuredW = this.meter?.powerW(now);
    this.samples.push({
      timeMs: now, priceTokensPerJ: this.reserve, utilisation,
      ...(measuredW === undefined ? { powerW: this.power.powerAt(utilisation).powerW, powerSource: 'estimated' as const } : { powerW: measuredW, powerSource: 'measured' as const }),
    });
    if (this.samples.length > PRICE_SAMPLES) this.samples.shift();
    this.lastSampleMs = now;
    this.sampleFromMs = now;
    this.sampleBusyMs = 0;
  }

  /** The reserve price and power over the last minute, oldest first. */
  priceHistory(): PriceSample[] {
    return this.samples.slice();
  }

  /** The node's average measured power (W) over the time its meter has measured, where it has one. */
  get avgMeasuredPowerW(): number | undefined {
    if (this.meter === undefined || this.meter.measuredMs === 0) return undefined;
    return this.meter.energyJ / (this.meter.measuredMs / 1000);
  }

  /** The node's average power since it started (W, estimated: the power model). */
  get avgPowerW(): number {
    const s = Math.max(1e-3, (this.lastTickMs - this.startedMs) / 1000);
    return this.nodeEnergyJ / s;
  }

  /** Sells worker w's slot if it is free and someone bids at or above the reserve. */
  private fill(w: number): void {
    if (this.inFlight[w] !== null) return;
    const market = this.markets[w]!;
    for (let attempts = 0; attempts < 16 && market.size > 0; attempts++) {
      const c = market.clear(1, this.reserve, this.now(), this.random);
      const award = c.awards[0];
      if (award === undefined) break; // nobody here bids at or above the reserve
      const priceUtPerJ = Math.ceil(c.priceTokensPerJ * 1e6);
      const a = this.accounts.get(award.pid);
      if (a === undefined || a.dead || a.dueToDie !== null) {
        market.removeBid(award.pid);
        continue;
      }
      // As much of a quantum as the winner can pay for at this price.
      const ujPerFuel = this.jPerFuel * priceUtPerJ; // µtokens·J/J per fuel = µJ of tokens per fuel
      const availableUj = this.accounts.availableUj(a.wallet, a.walletHex) - (this.escrowUj.get(a.walletHex) ?? 0);
      // Kept 1% and 10 µJ short of the balance: a slot may pass its grant by a loop body, and the
      // charge rounds the energy up, so the last slot must still be payable.
      const affordable = Math.floor((0.99 * (availableUj - 10)) / Math.max(ujPerFuel, 1e-12));
      const fuel = Math.min(Math.floor(this.config.quantumMs * this.fuelPerMs), affordable);
      if (fuel < MIN_SLOT_FUEL) {
        // It won but cannot pay for a slot: out of the market, and due to die.
        market.removeBid(award.pid);
        this.accounts.markDue(award.pid, 'cannot_pay_charge');
        this.doomed.add(award.pid);
        this.reapDoomed();
        continue;
      }
      const escrowUj = Math.ceil(fuel * ujPerFuel * 1.01) + 10;
      this.slotSeq = this.slotSeq >= 2 ** 31 - 1 ? 1 : this.slotSeq + 1;
      const slot = this.slotSeq;
      this.inFlight[w] = { pid: award.pid, slot, priceUtPerJ, walletHex: a.walletHex, escrowUj };
      this.escrowUj.set(a.walletHex, (this.escrowUj.get(a.walletHex) ?? 0) + escrowUj);
      const raised = this.raisedAtMs.get(award.pid);
      if (raised !== undefined) {
        this.raisedAtMs.delete(award.pid);
        this.bidToSlotWaitsMs.push(performance.now() - raised);
        if (this.bidToSlotWaitsMs.length > 10_000) this.bidToSlotWaitsMs.shift();
      }
      this.slotsSold++;
      this.pool.grant(award.pid, fuel, {
        balanceUj: availableUj, ujPerFuel, priceTokensPerJ: this.reserve, taxUjPerByte: this.config.erasureTaxUjPerByte,
      }, slot);
      return;
    }
    this.steal(w);
  }

  /**
   * Worker w has nothing to sell: it takes a process waiting on another worker (one bidding at
   * or above the reserve while its own worker runs someone else's slot), the highest bid first,
   * so that no worker idles while a process that can pay waits. At most one move per worker at
   * a time, and a look at most once per tick (the scan is over every process).
   */
  private steal(w: number): void {
    if (this.pool.size < 2 || this.stealing[w] || this.now() - this.lastStealMs[w]! < this.config.quantumMs) return;
    this.lastStealMs[w] = this.now();
    let best: NodeProcess | undefined;
    for (const p of this.processes.values()) {
      if (p.worker === w || this.moving.has(p.pid) || p.bid < this.reserve) continue;
      const slot = this.inFlight[p.worker];
      if (slot === null || slot === undefined || slot.pid === p.pid) continue; // its own worker is free, or it is running
      const a = this.accounts.get(p.pid);
      if (a === undefined || a.dead || a.dueToDie !== null || !this.markets[p.worker]!.has(p.pid)) continue;
      if (best === undefined || p.bid > best.bid) best = p;
    }
    if (best === undefined) return;
    const p = best;
    const from = p.worker;
    this.markets[from]!.removeBid(p.pid);
    this.moving.add(p.pid);
    this.stealing[w] = true;
    this.pool.migrate(p.pid, w).then((moved) => {
      this.moving.delete(p.pid);
      this.stealing[w] = false;
      if (moved) {
        p.worker = w;
        this.migrations++;
      }
      const a = this.accounts.get(p.pid);
      if (this.processes.has(p.pid) && a !== undefined && !a.dead && a.dueToDie === null) this.markets[p.worker]!.setBid(p.pid, p.bid, this.now());
      this.fill(p.worker);
    }, (err) => {
      this.moving.delete(p.pid);
      this.stealing[w] = false;
      throw err;
    });
  }

  /** Tells the processes that could not pay to die (apoptosis), with the config's grace fuel. */
  private reapDoomed(): void {
    for (const pid of this.doomed) {
      const p = this.processes.get(pid);
      const a = this.accounts.get(pid);
      if (p === undefined || a === undefined || a.dead || a.dueToDie === null || this.notified.has(pid)) continue;
      if (this.markets[p.worker]!.has(pid)) this.markets[p.worker]!.removeBid(pid);
      this.notified.add(pid);
      // The handler sees an empty wallet: it cannot grow (no bond) or discard (no tax) on credit.
      this.pool.notifyDeath(pid, {
        reason: 'apoptosis', code: null, errorCode: ErrorCode.BUDGET_EXHAUSTED, message: `apoptosis: ${a.dueToDie.replaceAll('_', ' ')}`,
      }, this.config.graceFuel, { balanceUj: 0, ujPerFuel: 0, priceTokensPerJ: this.reserve, taxUjPerByte: this.config.erasureTaxUjPerByte });
    }
    this.doomed.clear();
  }

  private onExit(f: FinishedProcess): void {
    const p = this.processes.get(f.pid);
    if (p === undefined) return;
    const market = this.markets[p.worker]!;
    if (market.has(f.pid)) market.removeBid(f.pid);
    const slot = this.inFlight[p.worker];
    if (slot?.pid === f.pid) {
      this.inFlight[p.worker] = null;
      this.release(slot);
    }
    const reason: DeathReasonName = f.exit.reason === 'exit' ? 'exited' : f.exit.reason === 'killed' ? 'killed' : f.exit.reason === 'apoptosis' ? 'cannot_pay_charge' : 'trapped';
    this.accounts.close(f.pid, reason, this.now());
    this.proofs?.close(f.pid);
    p.exit = f.exit;
    this.retire(p);
    this.fill(p.worker);
  }

  private release(slot: { walletHex: string; escrowUj: number }): void {
    const left = (this.escrowUj.get(slot.walletHex) ?? 0) - slot.escrowUj;
    assert(left >= 0, 'escrow is released once per slot');
    if (left === 0) this.escrowUj.delete(slot.walletHex);
    else this.escrowUj.set(slot.walletHex, left);
  }

  private retire(p: NodeProcess): void {
    this.processes.delete(p.pid);
    this.doomed.delete(p.pid);
    this.notified.delete(p.pid);
    this.raisedAtMs.delete(p.pid);
    this.moving.delete(p.pid);
    this.deadProcesses.set(p.pid, p);
    if (this.deadProcesses.size > KEEP_DEAD) {
      const oldest = this.deadProcesses.keys().next().value!;
      this.deadProcesses.delete(oldest);
      this.accounts.forget(oldest);
      this.proofs?.forget(oldest);
    }
  }

  /**
   * Closes the account of a process whose end the pool will not report (the node stopped under
   * it): its tax and its death entry are written, so that nothing is left unrecorded.
   */
  forceClose(pid: number, reason: DeathReasonName): void {
    const p = this.processes.get(pid);
    if (p === undefined) return;
    const a = this.accounts.get(pid);
    if (a !== undefined && !a.dead) this.accounts.close(pid, reason, this.now());
    this.proofs?.close(pid);
    // Its bid and its slot (if it held one) are over: the escrow goes back to the wallet. (After a
    // worker crash no slot end will come for it.)
    if (this.markets[p.worker]!.has(pid)) this.markets[p.worker]!.removeBid(pid);
    const slot = this.inFlight[p.worker];
    if (slot?.pid === pid) {
      this.inFlight[p.worker] = null;
      this.release(slot);
    }
    p.exit ??= { reason: 'killed', code: null, errorCode: ErrorCode.NODE_STOPPED, message: 'the node stopped' };
    this.retire(p);
  }

  /** The operator kills a live process. */
  kill(pid: number, message = 'killed by the operator'): void {
    this.get(pid);
    this.pool.kill(pid, message);
  }

  /** The operator sets a live process's standing bid (tokens/J). */
  setBid(pid: number, bid: number): void {
    const p = this.get(pid);
    if (!Number.isFinite(bid) || bid <= 0 || bid > 1e9) throw new MaxwellError(ErrorCode.BID_INVALID, `a bid is a price in (0, 10^9] tokens/J, not ${bid}`);
    if (bid > p.bid) this.raisedAtMs.set(pid, performance.now());
    p.bid = bid;
    const a = this.accounts.get(pid);
    if (a !== undefined && a.dueToDie === null && !this.moving.has(pid)) this.markets[p.worker]!.setBid(pid, bid, this.now());
    this.preemptFor(p);
    this.fill(p.worker);
  }

  /** Whether the process holds a slot now (a worker is running it, or about to). */
  holdsSlot(pid: number): boolean {
    const p = this.processes.get(pid);
    return p !== undefined && this.inFlight[p.worker]?.pid === pid;
  }

  /**
   * A bid now above that of the process running on its worker does not wait out that slot: the
   * slot is cut at its next slice end (a millisecond or so), paid for what it used.
   */
  private preemptFor(p: NodeProcess): void {
    const slot = this.inFlight[p.worker];
    if (slot === null || slot === undefined || slot.pid === p.pid || p.bid < this.reserve || this.notified.has(p.pid)) return;
    const running = this.processes.get(slot.pid);
    if (running !== undefined && running.bid < p.bid) this.pool.preempt(slot.pid, slot.slot);
  }

  /** The live processes. */
  list(): NodeProcess[] {
    return [...this.processes.values()];
  }

  /** A live or recently dead process. */
  find(pid: number): NodeProcess | undefined {
    return this.processes.get(pid) ?? this.deadProcesses.get(pid);
  }

  /** A live process; throws E_NO_SUCH_PROCESS. */
  get(pid: number): NodeProcess {
    const p = this.processes.get(pid);
    if (p === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no live process ${pid}`, { pid });
    return p;
  }
}
