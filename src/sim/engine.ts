/**
 * The datacenter simulator: racks of nodes that heat each other, a workload, a network, and one
 * placement policy, advanced deterministically from a seed. It drives the real code: the thermal
 * model (src/thermal/model.ts) for every node's temperature and throttling, the heat protocol
 * (src/thermal/protocol.ts: HeatNode, one per node, with real Ed25519 signatures) for the
 * gossip, the auction heap (src/market) for the sale of a node's cores when more jobs want them
 * than it has, the kernel's power-cap controller (src/kernel/power-cap.ts) for the part of the
 * price that holds a node under its cap.
 *
 * Time. Physics advances in fixed steps of `stepS` (1 s): arrivals are placed, each node's cores
 * are shared among its jobs, its power demand goes through the hardware cap and the thermal
 * model (which may throttle it), work progresses at the speed the node delivered, jobs finish,
 * prices are recomputed and drained. Between two steps the gossip runs on an event queue
 * (events.ts): each node's HeatNode ticks on its own clock (a random phase, ±10% jitter), and
 * every message it sends is routed by the network model (network.ts: latency, loss, partitions,
 * dead and stalled nodes) and delivered at its own time. Events at equal times run in the order
 * they were scheduled: a seed replays exactly.
 *
 * The policies (config.ts):
 *  - maxwell: a node's price = cap price (PowerCapController) × HeatNode.priceFactor (its heat and
 *    its neighbours', learnt by gossip) × load price (1 + w·u², u = busy cores ÷ cores, smoothed).
 *    The node sells its cores by auction at that reserve price: every bid at or above it runs
 *    while they fit, and the auction heap picks the winners and the price when they do not.
 *    Arrivals go to a dispatcher, one more member of the heat protocol (a HeatNode of its own,
 *    no compute), which sends each to the node with the lowest price in its view: the prices in
 *    the claims it has heard, each raised by the jobs it sent there since (viewLeaf). It never
 *    reads the simulator's arrays. Every `drain.intervalS` a node whose price rose by
 *    `drain.ratio`, or whose own heat raises it, or that holds jobs that cannot pay it, asks the
 *    dispatcher for the cheapest node and moves jobs there (a migration: the job stops for
 *    fixedS + sPerGiB × its memory, and the move costs jPerGiB × its memory in energy);
 *  - no-gossip: nobody hears anyone. Each node sells its cores at its own price (its price
 *    factor is its own heat only); the dispatcher, knowing no price, sends arrivals round-robin;
 *    no node drains (it knows no cheaper node to move work to);
 *  - fair-share: arrivals go to the node with the fewest jobs; a node shares its cores equally
 *    among its jobs; no prices, no heat awareness, no migration;
 *  - round-robin: arrivals go to the nodes in turn; cores shared equally.
 *
 * Under every policy the physics is the same: the hardware caps a node's power at its cap
 * (slowing its work in proportion), the thermal model throttles a node above tMax (its work
 * slows by deliveredW ÷ demand), loopers spend their budget on the energy they use (at the
 * node's price under the market policies, 1 token/J otherwise) and stop when it is spent or at
 * their deadline, inference jobs finish and yield their information gain, failed nodes lose
 * their jobs (inference jobs start again elsewhere, loopers die).
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { AuctionHeap } from '../market/index.js';
import type { Random } from '../market/random.js';
import { PowerCapController } from '../kernel/power-cap.js';
import { ThermalModel, rackCoupling } from '../thermal/model.js';
import { NODE_POWER_W_MAX } from '../energy/power-model.js';
import { HeatNode, DEFAULT_HEAT_CONFIG, ed25519Crypto, type HeatConfig } from '../thermal/protocol.js';
import { EventQueue, poppedEvent } from './events.js';
import { Network } from './network.js';
import { MinTree } from './mintree.js';
import { PayloadPool } from './payloads.js';
import { PROCESS_VERIFY_CACHE, simKey, type VerifyCache } from './crypto.js';
import { isMarketPolicy, type PolicyName, type SimConfig } from './config.js';
import {
  JOB_INFER,
  JOB_LOOPER,
  STREAM_HEAT,
  STREAM_MARKET,
  STREAM_NETWORK,
  STREAM_POLICY,
  coolingRiseC,
  makeScenario,
  stream,
  type Scenario,
} from './scenario.js';

const EV_TICK = 1;
const EV_MESSAGE = 2;

/** maxwell's dispatcher: a member of the heat protocol like the nodes, with a key of its own. */
export const DISPATCHER_ID = 'dispatcher';
/** What the dispatcher holds of a node: no usable claim (none, expired, without a reading), alive, suspect, or not to be sent work (dead, or alarmed). */
const VIEW_UNKNOWN = 0;
const VIEW_ALIVE = 1;
const VIEW_SUSPECT = 2;
const VIEW_EXCLUDED = 3;
/** The power-cap controller's default target: 5% below the cap (src/kernel/power-cap.ts). */
const CAP_MARGIN = 0.05;

/** What one run measured (the deterministic part: no wall time). */
export interface RunMetrics {
  policy: PolicyName;
  peakTempC: number;
  /** The hottest node's temperature, averaged over the run. */
  meanMaxTempC: number;
  meanTempC: number;
  throttledNodeS: number;
  energyJ: number;
  looperEnergyJ: number;
  inferEnergyJ: number;
  migrationEnergyJ: number;
  igBits: number;
  inferCompleted: number;
  inferArrived: number;
  /** Core-seconds of inference work done (completed or not). */
  inferWorkS: number;
  loopersArrived: number;
  loopersRan: number;
  migrations: number;
  /** Inference jobs restarted because their node failed. */
  restartedByFailure: number;
  refused: number;
  /** Loopers whose deadline passed while they waited for a node. */
  loopersExpiredQueued: number;
  queueMax: number;
  /** Mean time from arrival to completion of the inference jobs that completed (s). */
  meanSojournS: number;
  failures: number;
  /** Seconds nodes spent with their power held at the cap by the hardware. */
  cappedNodeS: number;
  /** Jobs (arrivals or moves) the dispatcher sent to a node that refused them (down, or full), and sent elsewhere. */
  bounced: number;
  /** Cooling failures that began during the run (the scenario's, the same under every policy). */
  coolingEvents: number;
  /** Node-seconds of nodes on racks under a cooling failure (ramps included). */
  eventNodeS: number;
  /** Of those, node-seconds throttled. */
  eventThrottledNodeS: number;
  /** Per live node-second during failures: arrivals placed on a node of a hit rack ÷ on another node (NaN: no failure). */
  eventArrivalsRatio: number;
  /** Per live node-second during failures: busy cores of a node of a hit rack ÷ of another node (NaN: no failure). */
  eventBusyRatio: number;
}

export interface GossipMetrics {
  /** Per alarm: seconds until 99% of the live nodes had it (null: not within the window). */
  alarmTrials: { node: number; atS: number; p99S: number | null; p50S: number | null; reached: number; of: number }[];
  bytesSentPerNodeS: number;
  /** The busiest node's bytes sent per second. */
  bytesSentPerNodeSMax: number;
  messagesPerNodeS: number;
  falseDeadVerdicts: number;
  /** Of which on slow nodes. */
  falseDeadOnSlowNodes: number;
  /** Observer-hours of live subjects that were watched, divided by observers: node-hours watched. */
  watchedNodeH: number;
  falseDeadPerNodeH: number;
  trueDeadVerdicts: number;
  /** The dispatcher's own protocol traffic: bytes sent and received per second. */
  dispatcherBytesSentPerS: number;
  dispatcherBytesReceivedPerS: number;
  network: Network['counters'];
  rejected: Record<string, number>;
}

export interface Samples {
  /** Time of each sample (s from the start). */
  tS: Float64Array;
  /** Heat map: rows × samples, row-major: the hottest node of each row's bin over the interval. */
  heatRows: number;
  heat: Float32Array;
  /** The first row of each rack in the heat map. */
  rackRow: Int32Array;
  powerW: Float64Array;
  capW: Float64Array;
  /** Inference jobs completed per second over each interval. */
  throughput: Float64Array;
  /** Cumulative bits ÷ cumulative joules. */
  igPerJ: Float64Array;
  /** Cumulative throttled node-seconds. */
  throttledNodeS: Float64Array;
  throttledNodes: Float64Array;
  maxTempC: Float64Array;
  /** Prices (market policies): percentiles over the nodes, and a few tracked nodes. */
  priceP10: Float64Array;
  priceP50: Float64Array;
  priceP90: Float64Array;
  priceMax: Float64Array;
  tracked: { node: number; label: string; price: Float64Array; tempC: Float64Array }[];
}

export interface Timing {
  wallMs: number;
  setupMs: number;
  physicsMs: number;
  scheduleMs: number;
  heatObserveMs: number;
  eventsMs: number;
  placementMs: number;
  /** maxwell: the dispatcher reading its view of every node (HeatNode.peer), once a step. */
  viewPollMs: number;
  metricsMs: number;
  signs: number;
  signMs: number;
  verifies: number;
  verifyMs: number;
  verifyCacheHits: number;
  events: number;
  eventsHighWater: number;
}

export interface RunResult {
  config: SimConfig;
  metrics: RunMetrics;
  gossip: GossipMetrics | null;
  samples: Samples;
  timing: Timing;
}

export interface RunOptions {
  /** Called every ~1% of the run with the simulated seconds done. */
  onProgress?: (doneS: number, totalS: number) => void;
  /** A scenario built already (the benchmark shares one between policies). */
  scenario?: Scenario;
  verifyCache?: VerifyCache;
  /** Test hook: called after each physics step with the simulator. */
  afterStep?: (sim: Simulator, nowMs: number) => void;
}

export function scenarioFor(c: SimConfig): Scenario {
  return makeScenario({
    seed: c.seed,
    durationS: c.durationS,
    nodes: c.nodes,
    coresPerNode: c.coresPerNode,
    inferLoad: c.workload.inferLoad,
    looperLoad: c.workload.looperLoad,
    inferWorkMeanS: c.workload.inferWorkMeanS,
    looperLifeS: c.workload.looperLifeS,
    looperDeadlineS: c.workload.looperDeadlineS,
    corePowerW: (c.peakPowerW - idlePowerOf(c)) / c.coresPerNode,
    swing: c.workload.swing,
    periodS: c.workload.periodS,
    burstFactor: c.workload.burstFactor,
    mtbfH: c.failures.mtbfH,
    repairS: c.failures.repairS,
    slowFraction: c.slow.fraction,
    slowMs: c.slow.ms,
    alarms: c.alarms,
    racks: c.racks,
    cooling: c.cooling,
  });
}

function idlePowerOf(c: SimConfig): number {
  return new ThermalModel({ nodes: 1, params: c.thermal }).params.idlePowerW;
}

export function runSimulation(config: SimConfig, o: RunOptions = {}): RunResult {
  const sim = new Simulator(config, o);
  return sim.run();
}

/** The job table: typed arrays indexed by a job id, ids reused through a free list. */
class Jobs {
  readonly capacity: number;
  readonly kind: Uint8Array;
  readonly work0S: Float64Array;
  readonly workLeftS: Float64Array;
  readonly igBits: Float64Array;
  readonly bid: Float64Array;
  readonly budget: Float64Array;
  readonly memGiB: Float64Array;
  readonly node: Int32Array;
  readonly pos: Int32Array;
  readonly readyMs: Float64Array;
  readonly movedAtMs: Float64Array;
  readonly deadlineMs: Float64Array;
  readonly arrivalMs: Float64Array;
  readonly share: Float64Array;
  readonly ran: Uint8Array;
  private readonly free: Int32Array;
  private freeTop: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.work0S = new Float64Array(capacity);
    this.workLeftS = new Float64Array(capacity);
    this.igBits = new Float64Array(capacity);
    this.bid = new Float64Array(capacity);
    this.budget = new Float64Array(capacity);
    this.memGiB = new Float64Array(capacity);
    this.node = new Int32Array(capacity).fill(-1);
    this.pos = new Int32Array(capacity);
    this.readyMs = new Float64Array(capacity);
    this.movedAtMs = new Float64Array(capacity);
    this.deadlineMs = new Float64Array(capacity);
    this.arrivalMs = new Float64Array(capacity);
    this.share = new Float64Array(capacity);
    this.ran = new Uint8Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  get live(): number {
    return this.capacity - this.freeTop;
  }

  alloc(): number {
    if (this.freeTop === 0) return -1;
    return this.free[--this.freeTop]!;
  }

  release(j: number): void {
    this.node[j] = -1;
    this.free[this.freeTop++] = j;
  }
}

export class Simulator {
  readonly config: SimConfig;
  readonly scenario: Scenario;
  readonly thermal: ThermalModel;
  readonly network: Network;
  /** The nodes' HeatNodes (market policies), and under maxwell the dispatcher's at index n. */
  readonly heat: HeatNode[] = [];
  /** The nodes' ids, and under maxwell the dispatcher's at index n. */
  readonly ids: string[] = [];
  /** The node's price (market policies): what its cores sell at now (tokens/J). */
  readonly price: Float64Array;
  readonly jobsOnNode: Int32Array;
  private readonly o: RunOptions;
  private readonly n: number;
  private readonly cores: number;
  private readonly idleW: number;
  private readonly corePowerW: number;
  private readonly market: boolean;
  private readonly gossip: boolean;
  private readonly fair: boolean;
  private readonly jobs: Jobs;
  private readonly nodeJobs: Int32Array;
  private readonly maxJobs: number;
  private readonly queue: Int32Array;
  private qHead = 0;
  private qLen = 0;
  /**
   * Placement's tree. fair-share: each node's job count (the baseline's own oracle). maxwell: the
   * dispatcher's view (viewLeaf), which only the dispatcher's poll and its own placements change.
   */
  private readonly tree: MinTree;
  private readonly tieBreak: Float64Array;
  /** Arrivals placed on each node (moves not counted). */
  private readonly placedOn: Int32Array;
  // The dispatcher's view of each node (maxwell), from its HeatNode's peer(): the newest claim's
  // version, price and the utilisation its power implies; its estimate of the node's busy cores
  // now (viewLoad); the member state (VIEW_*); until when it is skipped after refusing a job.
  private readonly viewVersion: Float64Array;
  private readonly viewPrice: Float64Array;
  private readonly viewU: Float64Array;
  /** Cores the node could add, at the claim, before its power passes 95% of its cap (where its cap controller raises its price). */
  private readonly viewFreeCores: Float64Array;
  private readonly viewLoad: Float64Array;
  private readonly viewState: Uint8Array;
  private readonly viewBlockedUntilMs: Float64Array;
  private viewDecayAtMs = 0;
  private rrNext = 0;
  private readonly nodesPerRack: number;
  /** Per rack: the supply offset of the cooling failures under way (°C), and whether it is > 0. */
  private readonly rackEventC: Float64Array;
  private readonly rackHit: Uint8Array;
  /** Per rack: the supply offset last written into the thermal model (NaN: never). */
  private readonly rackOffsetAppliedC: Float64Array;
  private coolingActive = false;
  /** During cooling failures: sums over steps of live nodes, arrivals placed and busy cores, on hit racks and on the others. */
  private evHitNodeSteps = 0;
  private evOtherNodeSteps = 0;
  private evPlacedHit = 0;
  private evPlacedOther = 0;
  private evBusyHit = 0;
  private evBusyOther = 0;
  private readonly capCtl: PowerCapController[] = [];
  private readonly capPrice: Float64Array;
  private readonly heatFactor: Float64Array;
  private readonly lastDrainPrice: Float64Array;
  /** The node's busy cores ÷ cores, smoothed over price.utilTauS. */
  private readonly util: Float64Array;
  /** The price each node's running jobs pay this step (market policies). */
  private readonly paid: Float64Array;
  private readonly busy: Float64Array;
  private readonly demandW: Float64Array;
  private readonly cappedW: Float64Array;
  /** Migration energy each node still has to draw (J), at most migrationW a step. */
  private readonly extraJ: Float64Array;
  /** A migration's power on each of its two ends (W): jPerGiB ÷ sPerGiB, halved. */
  private readonly migrationW: number;
  private readonly stalledUntilMs: Float64Array;
  private readonly tickAtMs: Float64Array;
  private readonly events: EventQueue;
  private readonly reading = { tempC: 0, powerW: 0, headroomW: 0, price: 0 };
  /** The bytes of the messages in flight (payloads.ts). */
  private readonly payloads = new PayloadPool();
  private readonly ev = poppedEvent();
  private readonly netRandom: Random;
  private readonly heatRandom: Random;
  private readonly marketRandom: Random;
  private readonly scratch: AuctionHeap;
  private readonly verifyCache: VerifyCache;
  private readonly heatConfig: HeatConfig;
  private readonly idIndex = new Map<string, number>();
  private nowMs = 0;
  // Metrics.
  private readonly m: RunMetrics;
  private sojournSumS = 0;
  private tempSum = 0;
  private maxTempSum = 0;
  private steps = 0;
  // Alarm trials and dead verdicts.
  private trial: { node: number; t0Ms: number; reached: Uint8Array; count: number; need50: number; need99: number; p50S: number | null; p99S: number | null; of: number; endMs: number } | null = null;
  private readonly trials: GossipMetrics['alarmTrials'] = [];
  private readonly observers: number[];
  private readonly subjects: number[];
  private readonly deadSeen: Uint8Array;
  private falseDead = 0;
  private falseDeadSlow = 0;
  private trueDead = 0;
  private watchedMs = 0;
  private nextPollMs = 0;
  private lastPollMs = 0;
  private sweptAtMs = -1;
  /** Node-seconds live nodes spent throttled. */
  private throttledUpS = 0;
  // Sampling.
  private readonly samples: Samples;
  private readonly sampleEvery: number;
  private sampleIdx = 0;
  private readonly binMax: Float32Array;
  private readonly rowOf: Int32Array;
  private intervalCompleted = 0;
  private readonly timing: Timing = {
    wallMs: 0, setupMs: 0, physicsMs: 0, scheduleMs: 0, heatObserveMs: 0, eventsMs: 0, placementMs: 0, viewPollMs: 0, metricsMs: 0,
    signs: 0, signMs: 0, verifies: 0, verifyMs: 0, verifyCacheHits: 0, events: 0, eventsHighWater: 0,
  };
  private readonly cryptoAtStart: { signs: number; signMs: number; verifies: number; verifyMs: number; cacheHits: number };

  constructor(config: SimConfig, o: RunOptions = {}) {
    const t0 = performance.now();
    this.config = config;
    this.o = o;
    const c = config;
    const n = c.nodes;
    this.n = n;
    this.cores = c.coresPerNode;
    this.market = isMarketPolicy(c.policy);
    this.gossip = c.policy === 'maxwell';
    this.fair = c.policy === 'fair-share';
    const nodesPerRack = n / c.racks;
    assert(Number.isInteger(nodesPerRack), 'racks divide nodes (checked by simConfig)');
    this.nodesPerRack = nodesPerRack;
    this.rackEventC = new Float64Array(c.racks);
    this.rackHit = new Uint8Array(c.racks);
    this.rackOffsetAppliedC = new Float64Array(c.racks).fill(Number.NaN);
    this.scenario = o.scenario ?? scenarioFor(c);
    assert(this.scenario.init.nodes === n && this.scenario.init.seed === c.seed, 'the scenario is this run\'s');
    const coupling = rackCoupling({ racks: c.racks, nodesPerRack, recirculation: c.recirculation });
    // A warm start: every node at the temperature its share of the offered load would hold it at
    // with supply air (the thermal time constant is minutes: a cold start would make the first
    // part of every run look cool).
    const params = new ThermalModel({ nodes: 1, params: c.thermal }).params;
    const offered = Math.min(1, c.workload.inferLoad + c.workload.looperLoad);
    const warmC = params.supplyC + params.resistanceKPerW * (params.idlePowerW + offered * (c.peakPowerW - params.idlePowerW));
    this.thermal = new ThermalModel({ nodes: n, params: c.thermal, coupling, initialC: Math.min(warmC, params.tMaxC - params.throttleHysteresisC) });
    this.idleW = this.thermal.params.idlePowerW;
    if (!(c.peakPowerW > this.idleW)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `peak power (${c.peakPowerW} W) must be above idle power (${this.idleW} W)`);
    this.corePowerW = (c.peakPowerW - this.idleW) / this.cores;
    this.netRandom = stream(c.seed, STREAM_NETWORK);
    this.heatRandom = stream(c.seed, STREAM_HEAT);
    this.marketRandom = stream(c.seed, STREAM_MARKET);
    // Under maxwell the dispatcher is one more endpoint, outside the racks (index n).
    this.network = new Network({ racks: c.racks, nodesPerRack, ...c.network, slowMs: this.scenario.slowMs, outside: this.gossip ? 1 : 0 }, this.netRandom);
    this.maxJobs = c.maxJobsPerNode;
    this.jobs = new Jobs(n * c.maxJobsPerNode + c.maxQueue);
    this.nodeJobs = new Int32Array(n * c.maxJobsPerNode);
    this.jobsOnNode = new Int32Array(n);
    this.queue = new Int32Array(c.maxQueue);
    this.tree = new MinTree(n);
    const rp = stream(c.seed, STREAM_POLICY);
    this.tieBreak = new Float64Array(n);
    for (let i = 0; i < n; i++) this.tieBreak[i] = rp();
    this.placedOn = new Int32Array(n);
    this.viewVersion = new Float64Array(n);
    this.viewPrice = new Float64Array(n);
    this.viewU = new Float64Array(n);
    this.viewLoad = new Float64Array(n);
    this.viewFreeCores = new Float64Array(n);
    this.viewState = new Uint8Array(n);
    this.viewBlockedUntilMs = new Float64Array(n);
    this.price = new Float64Array(n).fill(1);
    this.capPrice = new Float64Array(n).fill(1);
    this.heatFactor = new Float64Array(n).fill(1);
    this.lastDrainPrice = new Float64Array(n).fill(1);
    this.util = new Float64Array(n);
    this.paid = new Float64Array(n).fill(1);
    this.busy = new Float64Array(n);
    this.demandW = new Float64Array(n);
    this.cappedW = new Float64Array(n);
    this.extraJ = new Float64Array(n);
    this.migrationW = c.migration.sPerGiB > 0 ? c.migration.jPerGiB / c.migration.sPerGiB / 2 : NODE_POWER_W_MAX;
    // One more entry for the dispatcher (index n; never stalled).
    this.stalledUntilMs = new Float64Array(n + 1);
    this.tickAtMs = new Float64Array(n + 1).fill(Infinity);
    this.scratch = new AuctionHeap({ maxBids: c.maxJobsPerNode, minBidIntervalMs: 0, bidTtlMs: 1e15 });
    if (this.market) for (let i = 0; i < n; i++) this.capCtl.push(new PowerCapController({ capW: c.powerCapW, ...c.powerCap }));
    this.heatConfig = { ...DEFAULT_HEAT_CONFIG, ...c.heat };
    this.verifyCache = o.verifyCache ?? PROCESS_VERIFY_CACHE;
    this.cryptoAtStart = { ...this.verifyCache.stats };
    // Every node: an id, a key, a HeatNode (market policies). Under no-gossip a node knows only
    // itself and its transport drops everything: its price factor is its own heat alone.
    this.events = new EventQueue({ maxEvents: Math.max(1 << 16, n * 512) });
    for (let i = 0; i < n; i++) {
      const id = `n${i}`;
      this.ids.push(id);
      this.idIndex.set(id, i);
    }
    if (this.gossip) {
      this.ids.push(DISPATCHER_ID);
      this.idIndex.set(DISPATCHER_ID, n);
    }
    if (this.market) this.makeHeatNodes(coupling);

    this.m = {
      policy: c.policy, peakTempC: -Infinity, meanMaxTempC: 0, meanTempC: 0, throttledNodeS: 0, energyJ: 0, looperEnergyJ: 0, inferEnergyJ: 0,
      migrationEnergyJ: 0, igBits: 0, inferCompleted: 0, inferArrived: 0, inferWorkS: 0, loopersArrived: 0, loopersRan: 0, loopersExpiredQueued: 0, migrations: 0,
      restartedByFailure: 0, refused: 0, queueMax: 0, meanSojournS: 0, failures: 0, cappedNodeS: 0, bounced: 0,
      coolingEvents: 0, eventNodeS: 0, eventThrottledNodeS: 0, eventArrivalsRatio: NaN, eventBusyRatio: NaN,
    };

    // Dead verdicts: the watched subjects are the slow nodes and as many normal ones (at least
    // 10); the observers are all nodes, or an evenly spread sample.
    const sub = new Set<number>(this.scenario.slowNodes);
    const want = Math.min(n, Math.max(10, 2 * this.scenario.slowNodes.length));
    for (let k = 0; sub.size < want && k < n; k++) sub.add(Math.floor((k * n) / want) % n);
    this.subjects = [...sub].sort((a, b) => a - b);
    const obsCount = c.deadObservers === 0 ? n : Math.min(n, c.deadObservers);
    this.observers = [];
    for (let k = 0; k < obsCount; k++) this.observers.push(Math.floor((k * n) / obsCount));
    this.deadSeen = new Uint8Array(this.subjects.length);

    // Sampling.
    const totalSteps = Math.round(c.durationS / c.stepS);
    this.sampleEvery = Math.max(1, Math.ceil(totalSteps / c.samples));
    const sampleCount = Math.ceil(totalSteps / this.sampleEvery);
    const rows = Math.min(n, c.heatMapRows);
    // Heat map rows: rack by rack, and in each rack's band its top node first (at the top), as
    // the rack stands.
    this.rowOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = Math.floor(i / nodesPerRack);
      const pos = r * nodesPerRack + (nodesPerRack - 1 - (i % nodesPerRack));
      this.rowOf[i] = Math.floor((pos * rows) / n);
    }
    const rackRow = new Int32Array(c.racks);
    for (let r = 0; r < c.racks; r++) rackRow[r] = Math.floor((r * nodesPerRack * rows) / n);
    this.binMax = new Float32Array(rows).fill(-Infinity);
    const f64 = () => new Float64Array(sampleCount);
    const trackedNodes: { node: number; label: string }[] = [];
    for (const r of [...new Set([0, Math.floor(c.racks / 2), c.racks - 1])]) {
      trackedNodes.push({ node: r * nodesPerRack, label: `rack ${r} bottom` });
      if (nodesPerRack > 1) trackedNodes.push({ node: r * nodesPerRack + nodesPerRack - 1, label: `rack ${r} top` });
    }
    this.samples = {
      tS: f64(), heatRows: rows, heat: new Float32Array(rows * sampleCount), rackRow, powerW: f64(), capW: f64(), throughput: f64(), igPerJ: f64(),
      throttledNodeS: f64(), throttledNodes: f64(), maxTempC: f64(), priceP10: f64(), priceP50: f64(), priceP90: f64(), priceMax: f64(),
      tracked: trackedNodes.map((t) => ({ ...t, price: f64(), tempC: f64() })),
    };
    this.timing.setupMs = performance.now() - t0;
  }

  private makeHeatNodes(coupling: { from: Int32Array; to: Int32Array }): void {
    const n = this.n;
    // Keys 0..n-1 are the nodes', key n the dispatcher's (maxwell).
    const keys = Array.from({ length: n + 1 }, (_, i) => simKey(this.config.seed, i));
    const allMembers = new Map<string, Uint8Array>();
    for (let i = 0; i < n; i++) allMembers.set(this.ids[i]!, keys[i]!.publicKey);
    if (this.gossip) allMembers.set(DISPATCHER_ID, keys[n]!.publicKey);
    // The dispatcher is every node's "neighbour" in the protocol's sense of push target: a node
    // pushes each claim it issues to its neighbours at once, so the dispatcher hears every new
    // price within a network latency instead of after rounds of gossip (it would learn ~2 claims
    // a second by gossip alone, fewer than the cluster issues). It never looks hot (it observes
    // no reading, so its claims, if any, carry heat 0), so it never moves a node's price.
    const neighbours: Set<string>[] = Array.from({ length: n }, () => new Set(this.gossip ? [DISPATCHER_ID] : []));
    for (let k = 0; k < coupling.from.length; k++) {
      const a = coupling.from[k]!;
      const b = coupling.to[k]!;
      if (a !== b) {
        neighbours[a]!.add(this.ids[b]!);
        neighbours[b]!.add(this.ids[a]!);
      }
    }
    const random = this.heatRandom;
    for (let i = 0; i < n; i++) {
      const id = this.ids[i]!;
      const members = this.gossip ? allMembers : new Map([[id, keys[i]!.publicKey]]);
      const transport = this.gossip ? { send: (to: string, bytes: Uint8Array) => this.send(i, to, bytes), copiesBytes: true } : { send: () => {} };
      this.heat.push(new HeatNode({
        id,
        publicKey: keys[i]!.publicKey,
        crypto: this.verifyCache.wrap(ed25519Crypto(keys[i]!.privateKey)),
        members,
        transport,
        random,
        neighbours: this.gossip ? neighbours[i]! : new Set(),
      }, this.heatConfig));
    }
    if (this.gossip) {
      // The dispatcher: a member that gossips, answers probes and is probed like any node, but
      // observes no reading (it has no heat, and its claims, issued only to refute a suspicion,
      // carry none) and pushes to nobody.
      this.heat.push(new HeatNode({
        id: DISPATCHER_ID,
        publicKey: keys[n]!.publicKey,
        crypto: this.verifyCache.wrap(ed25519Crypto(keys[n]!.privateKey)),
        members: allMembers,
        transport: { send: (to: string, bytes: Uint8Array) => this.send(n, to, bytes), copiesBytes: true },
        random,
        neighbours: new Set(),
      }, this.heatConfig));
      assert(this.heat.length === n + 1 && this.ids[n] === DISPATCHER_ID, 'the dispatcher is member n');
      for (let i = 0; i <= n; i++) this.scheduleTick(i);
    }
  }

  /**
   * Makes sure node i's HeatNode is ticked when it next has something to do (HeatNode.nextTickMs;
   * it changes when a message arrives or a reading is observed). One tick event per node is
   * current (tickAtMs); an earlier one supersedes it, and a superseded event is skipped.
   */
  private scheduleTick(i: number): void {
    let t = this.heat[i]!.nextTickMs();
    if (!(t >= this.nowMs)) t = this.nowMs;
    if (t < this.tickAtMs[i]!) {
      this.tickAtMs[i] = t;
      this.events.push(t, EV_TICK, i, 0);
    }
  }

  private send(from: number, to: string, bytes: Uint8Array): void {
    const j = this.idIndex.get(to);
    if (j === undefined) return;
    const at = this.network.route(from, j, bytes.length, this.nowMs);
    // The node lends its scratch buffer (the transport says it copies): the copy travels.
    if (at >= 0) this.events.push(at, EV_MESSAGE, j, from, this.payloads.copy(bytes));
  }

  // ---------- the run ----------

  run(): RunResult {
    const t0 = performance.now();
    const c = this.config;
    const dtMs = c.stepS * 1000;
    const totalSteps = Math.round(c.durationS / c.stepS);
    const progressEvery = Math.max(1, Math.floor(totalSteps / 100));
    const sc = this.scenario;
    let nextArrival = 0;
    let nextFailure = 0;
    let nextStall = 0;
    let nextAlarm = 0;
    const recoveries: { tMs: number; node: number }[] = [];
    for (let step = 0; step < totalSteps; step++) {
      const tMs = step * dtMs;
      this.nowMs = tMs;
      let tp = performance.now();
      // The world's events due by now: repairs, failures, stalls, alarms, arrivals. Repairs
      // first, so that a node repaired and failing again within one step does fail.
      for (let k = recoveries.length - 1; k >= 0; k--) {
        if (recoveries[k]!.tMs <= tMs) {
          this.recover(recoveries[k]!.node);
          recoveries.splice(k, 1);
        }
      }
      while (nextFailure < sc.failures.length && sc.failures[nextFailure]!.tMs <= tMs) {
        const f = sc.failures[nextFailure++]!;
        if (this.network.up[f.node] === 1) {
          this.fail(f.node);
          recoveries.push({ tMs: f.tMs + f.downMs, node: f.node });
        }
      }
      while (nextStall < sc.stalls.length && sc.stalls[nextStall]!.tMs <= tMs) {
        const s = sc.stalls[nextStall++]!;
        this.stalledUntilMs[s.node] = Math.max(this.stalledUntilMs[s.node]!, s.tMs + s.durMs);
      }
      while (nextAlarm < sc.alarms.length && sc.alarms[nextAlarm]!.tMs <= tMs) this.raiseAlarm(sc.alarms[nextAlarm++]!.node, tMs);
      this.applyCooling(tMs);
      const a = sc.arrivals;
      while (nextArrival < a.count && a.tMs[nextArrival]! <= tMs) this.arrive(nextArrival++, tMs);
      this.timing.placementMs += performance.now() - tp;
      tp = performance.now();
      if (this.gossip) this.pollView(tMs);
      const tv = performance.now();
      this.timing.viewPollMs += tv - tp;
      this.dispatchQueue(tMs);
      this.timing.placementMs += performance.now() - tv;

      tp = performance.now();
      this.schedule(tMs);
      const t1 = performance.now();
      this.timing.scheduleMs += t1 - tp;
      this.physics(tMs, c.stepS);
      if (this.coolingActive) this.measureCooling(c.stepS);
      const t2 = performance.now();
      this.timing.physicsMs += t2 - t1;

      // The gossip of the step (messages and ticks up to its end), then the readings at its
      // end: a claim made of the temperature at tMs + dtMs leaves at tMs + dtMs, not before.
      this.runEvents(tMs + dtMs);
      const t3 = performance.now();
      this.timing.eventsMs += t3 - t2;
      this.updatePrices(tMs + dtMs);
      this.timing.heatObserveMs += performance.now() - t3;

      tp = performance.now();
      // Only maxwell drains: a node moves work to the node the dispatcher names. Under no-gossip
      // nobody knows of a cheaper node, and a move to a node picked blindly is a gamble that
      // costs a migration.
      if (this.gossip && (step + 1) % Math.max(1, Math.round(c.drain.intervalS / c.stepS)) === 0) this.drain(tMs + dtMs);
      this.timing.placementMs += performance.now() - tp;

      tp = performance.now();
      this.measure(step, tMs + dtMs);
      this.timing.metricsMs += performance.now() - tp;
      this.o.afterStep?.(this, tMs + dtMs);
      if (this.o.onProgress !== undefined && (step + 1) % progressEvery === 0) this.o.onProgress(((step + 1) * dtMs) / 1000, c.durationS);
    }
    this.finish();
    this.timing.wallMs = performance.now() - t0 + this.timing.setupMs;
    const cs = this.verifyCache.stats;
    this.timing.signs = cs.signs - this.cryptoAtStart.signs;
    this.timing.signMs = cs.signMs - this.cryptoAtStart.signMs;
    this.timing.verifies = cs.verifies - this.cryptoAtStart.verifies;
    this.timing.verifyMs = cs.verifyMs - this.cryptoAtStart.verifyMs;
    this.timing.verifyCacheHits = cs.cacheHits - this.cryptoAtStart.cacheHits;
    this.timing.events = this.events.scheduled;
    this.timing.eventsHighWater = this.events.highWater;
    return { config: this.config, metrics: this.m, gossip: this.gossip ? this.gossipMetrics() : null, samples: this.samples, timing: this.timing };
  }

  // ---------- jobs and placement ----------

  private arrive(k: number, tMs: number): void {
    const a = this.scenario.arrivals;
    // A full queue is swept of expired loopers at most once a step (a sweep is O(queue)).
    if (this.qLen >= this.queue.length && tMs > this.sweptAtMs) {
      this.sweptAtMs = tMs;
      this.sweepQueue(tMs);
    }
    const j = this.jobs.alloc();
    if (j < 0 || this.qLen >= this.queue.length) {
      if (j >= 0) this.jobs.release(j);
      this.m.refused++;
      return;
    }
    const J = this.jobs;
    J.kind[j] = a.kind[k]!;
    J.work0S[j] = a.workS[k]!;
    J.workLeftS[j] = a.workS[k]!;
    J.igBits[j] = a.igBits[k]!;
    J.bid[j] = a.bid[k]!;
    J.budget[j] = a.budget[k]!;
    J.memGiB[j] = a.memGiB[k]!;
    J.readyMs[j] = 0;
    J.movedAtMs[j] = -Infinity;
    J.arrivalMs[j] = a.tMs[k]!;
    J.deadlineMs[j] = J.kind[j] === JOB_LOOPER ? a.tMs[k]! + this.config.workload.looperDeadlineS * 1000 : Infinity;
    J.ran[j] = 0;
    J.share[j] = 0;
    if (J.kind[j] === JOB_INFER) this.m.inferArrived++;
    else this.m.loopersArrived++;
    this.enqueue(j);
    void tMs;
  }

  private enqueue(j: number): void {
    this.queue[(this.qHead + this.qLen) % this.queue.length] = j;
    this.qLen++;
    this.jobs.node[j] = -1;
    if (this.qLen > this.m.queueMax) this.m.queueMax = this.qLen;
  }

  /** Places the waiting jobs, oldest first, while some node has room. */
  private dispatchQueue(tMs: number): void {
    const J = this.jobs;
    while (this.qLen > 0) {
      const j = this.queue[this.qHead]!;
      if (this.expiredLooper(j, tMs)) {
        // A looper whose deadline passed while it waited is gone: nobody wants it run now.
        this.qHead = (this.qHead + 1) % this.queue.length;
        this.qLen--;
        J.release(j);
        this.m.loopersExpiredQueued++;
        continue;
      }
      const node = this.choose(tMs);
      if (node < 0) return;
      this.qHead = (this.qHead + 1) % this.queue.length;
      this.qLen--;
      this.attach(j, node, tMs);
      this.placedOn[node]! += 1;
      if (this.coolingActive) {
        if (this.rackHit[Math.floor(node / this.nodesPerRack)] === 1) this.evPlacedHit++;
        else this.evPlacedOther++;
      }
      if (this.gossip) this.viewPlaced(node, tMs);
    }
  }

  /**
   * Drops every queued looper whose deadline has passed, wherever it waits (dispatchQueue drops
   * those that reach the head; behind an inference job that finds no node, dead loopers would
   * hold queue slots). Keeps the order of the rest. O(queue).
   */
  private expiredLooper(j: number, tMs: number): boolean {
    return this.jobs.kind[j] !== JOB_INFER && this.jobs.deadlineMs[j]! <= tMs;
  }

  private sweepQueue(tMs: number): void {
    const J = this.jobs;
    const q = this.queue;
    const cap = q.length;
    let kept = 0;
    for (let k = 0; k < this.qLen; k++) {
      const j = q[(this.qHead + k) % cap]!;
      if (this.expiredLooper(j, tMs)) {
        J.release(j);
        this.m.loopersExpiredQueued++;
      } else q[(this.qHead + kept++) % cap] = j;
    }
    this.qLen = kept;
  }

  /** The policy's node for the next job, or -1 if no node has room. */
  private choose(tMs: number): number {
    switch (this.config.policy) {
      case 'maxwell':
        return this.viewTarget(tMs);
      case 'fair-share':
        return this.tree.argmin();
      case 'round-robin':
      case 'no-gossip':
        // A load balancer that knows nothing of the nodes sends to each in turn; a node that is
        // down or full refuses (a connection refused), and the next one is tried.
        for (let k = 0; k < this.n; k++) {
          const i = (this.rrNext + k) % this.n;
          if (this.network.up[i] === 1 && this.jobsOnNode[i]! < this.maxJobs) {
            this.rrNext = (i + 1) % this.n;
            return i;
          }
        }
        return -1;
    }
  }

  /** fair-share's leaf of node i: its job count (ties broken by a seeded draw), Infinity if it cannot take one. */
  private jobsLeaf(i: number): number {
    if (this.network.up[i] === 0 || this.jobsOnNode[i]! >= this.maxJobs) return Infinity;
    return this.jobsOnNode[i]! + 0.5 * this.tieBreak[i]!;
  }

  // ---------- maxwell's dispatcher ----------

  /**
   * Once a step the dispatcher reads its HeatNode's view of every node (`peer`: what the gossip
   * told it, nothing else), and keeps an estimate of each node's busy cores (viewLoad). A new
   * claim resets it to what the claim's power implies. Between claims the dispatcher knows every
   * job that arrives there (it sent them: viewPlaced adds one) but not those that leave, so the
   * estimate decays with loadTauS, a job's mean life. Errors correct themselves towards sending
   * work: a node whose load is underestimated gets jobs until its price rises and it claims
   * again; one whose load is overestimated decays back in view. (Decaying only the jobs sent, and
   * holding the claim's load, starved nodes: a node whose load falls says so only when its price
   * halves, so one held too dear lost its work and never claimed again.)
   */
  private pollView(nowMs: number): void {
    const n = this.n;
    const d = this.heat[n]!;
    const cfg = this.config;
    const decay = Math.exp(-(nowMs - this.viewDecayAtMs) / (cfg.dispatcher.loadTauS * 1000));
    this.viewDecayAtMs = nowMs;
    const idleW = this.idleW;
    const activeW = this.corePowerW * this.cores;
    for (let i = 0; i < n; i++) {
      const v = d.peer(this.ids[i]!);
      assert(v !== undefined, 'every node is a member of the dispatcher\'s cluster');
      this.viewLoad[i]! *= decay;
      if (v.price === undefined || v.powerW === undefined) {
        // No claim, an expired one, or one without a reading: the dispatcher knows no price.
        this.viewState[i] = VIEW_UNKNOWN;
      } else {
        if (v.version !== this.viewVersion[i]) {
          this.viewPrice[i] = v.price;
          // The load the claim implies: the node's active power over what all its cores draw.
          this.viewU[i] = Math.min(1, Math.max(0, (v.powerW - idleW) / activeW));
          this.viewLoad[i] = this.viewU[i]! * this.cores;
          // The claim's power + headroom is the node's cap; its cap controller aims 5% below it.
          const headroomW = v.headroomW ?? 0;
          this.viewFreeCores[i] = (headroomW - CAP_MARGIN * (v.powerW + headroomW)) / this.corePowerW;
          this.viewBlockedUntilMs[i] = 0;
        }
        this.viewState[i] = v.state === 'dead' || v.alarm ? VIEW_EXCLUDED : v.state === 'suspect' ? VIEW_SUSPECT : VIEW_ALIVE;
      }
      this.viewVersion[i] = v.version;
      this.tree.setLeaf(i, this.viewLeaf(i, nowMs));
    }
    this.tree.rebuild();
  }

  /**
   * The price the dispatcher expects a new job to pay on node i: the claimed price with its
   * scarcity term moved from the claim's load u₀ to the load it estimates now with this job,
   * u = (viewLoad + 1) ÷ cores:
   *
   *   claimed × (1 + w·u²) ÷ (1 + w·u₀²)
   *
   * so that between two claims (at most one per 15 s, and only on a 50% change) arrivals spread
   * over the nodes that looked cheapest instead of all going to one. The cap and heat factors in
   * the claimed price are kept as they were, but a node the dispatcher would push past its cap's
   * target (the claim's power + headroom gives the cap) doubles in price for each core beyond:
   * its cap controller would raise the price there until the load left. Infinity for a node it
   * must not send to (dead, alarmed, no usable claim, or it refused a job lately); a suspect node
   * costs suspectPenaltyTokensPerJ more (taken only if no node it holds alive is left).
   */
  private viewLeaf(i: number, nowMs: number): number {
    const st = this.viewState[i]!;
    if (st === VIEW_UNKNOWN || st === VIEW_EXCLUDED || this.viewBlockedUntilMs[i]! > nowMs) return Infinity;
    const w = this.config.price.loadWeight;
    const u0 = this.viewU[i]!;
    const u = (this.viewLoad[i]! + 1) / this.cores;
    let price = ((this.viewPrice[i]! * (1 + w * u * u)) / (1 + w * u0 * u0)) * (1 + 1e-9 * this.tieBreak[i]!);
    // Past its cap's target the node's cap controller raises its price until load leaves: each
    // core the dispatcher would add beyond the headroom the claim showed doubles the price.
    const over = this.viewLoad[i]! + 1 - u0 * this.cores - this.viewFreeCores[i]!;
    if (over > 0) price *= 2 ** over;
    return st === VIEW_SUSPECT ? price + this.config.dispatcher.suspectPenaltyTokensPerJ : price;
  }

  /** The dispatcher sent one more job to node i: its projected price rises. O(log n). */
  private viewPlaced(i: number, nowMs: number): void {
    this.viewLoad[i]! += 1;
    this.tree.set(i, this.viewLeaf(i, nowMs));
  }

  /**
   * The dispatcher's cheapest node that takes a job now, or -1. A node that refuses (down, as a
   * refused connection says, or full) is skipped for blockS or until its next claim, and the
   * next cheapest is tried: what a real dispatcher learns by trying, nothing more.
   */
  private viewTarget(nowMs: number): number {
    for (;;) {
      const i = this.tree.argmin();
      if (i < 0) return -1;
      if (this.network.up[i] === 1 && this.jobsOnNode[i]! < this.maxJobs) return i;
      this.m.bounced++;
      this.viewBlockedUntilMs[i] = nowMs + this.config.dispatcher.blockS * 1000;
      this.tree.set(i, Infinity);
    }
  }

  /** Node i's price at utilisation u: cap price × heat factor × load price. */
  private priceAt(i: number, u: number): number {
    return this.capPrice[i]! * this.heatFactor[i]! * (1 + this.config.price.loadWeight * u * u);
  }

  private attach(j: number, node: number, tMs: number): void {
    const J = this.jobs;
    const k = this.jobsOnNode[node]!;
    assert(k < this.maxJobs, 'a node takes jobs only while it has room');
    this.nodeJobs[node * this.maxJobs + k] = j;
    J.pos[j] = k;
    J.node[j] = node;
    this.jobsOnNode[node] = k + 1;
    if (this.fair) this.tree.set(node, this.jobsLeaf(node));
    void tMs;
  }

  private detach(j: number): void {
    const J = this.jobs;
    const node = J.node[j]!;
    assert(node >= 0, 'a detached job was on a node');
    const base = node * this.maxJobs;
    const last = this.jobsOnNode[node]! - 1;
    const p = J.pos[j]!;
    const moved = this.nodeJobs[base + last]!;
    this.nodeJobs[base + p] = moved;
    J.pos[moved] = p;
    this.jobsOnNode[node] = last;
    J.node[j] = -1;
    // The dispatcher's view does not change: it does not see a job leave.
    if (this.fair) this.tree.set(node, this.jobsLeaf(node));
  }

  private fail(node: number): void {
    this.m.failures++;
    const J = this.jobs;
    while (this.jobsOnNode[node]! > 0) {
      const j = this.nodeJobs[node * this.maxJobs + this.jobsOnNode[node]! - 1]!;
      this.detach(j);
      if (J.kind[j] === JOB_INFER) {
        // Its work is lost: it starts again from the beginning, wherever it is placed next.
        J.workLeftS[j] = J.work0S[j]!;
        J.readyMs[j] = 0;
        this.m.restartedByFailure++;
        if (this.qLen < this.queue.length) this.enqueue(j);
        else {
          this.jobs.release(j);
          this.m.refused++;
        }
      } else {
        this.jobs.release(j);
      }
    }
    this.network.up[node] = 0;
    // A migration to or from it ends with it: the energy it had still to draw is not drawn.
    this.extraJ[node] = 0;
    if (this.market) this.heat[node]!.stop();
    this.util[node] = 0;
    // The dispatcher learns of it from the gossip (dead), or when the node refuses a job.
    if (this.fair) this.tree.set(node, Infinity);
  }

  private recover(node: number): void {
    this.network.up[node] = 1;
    if (this.market) {
      this.heat[node]!.start();
      if (this.gossip) this.scheduleTick(node);
    }
    if (this.fair) this.tree.set(node, this.jobsLeaf(node));
  }

  // ---------- one step of physics ----------

  /** Decides each job's share of a core for this step. */
  private schedule(tMs: number): void {
    const J = this.jobs;
    const M = this.maxJobs;
    const cores = this.cores;
    for (let i = 0; i < this.n; i++) {
      const count = this.jobsOnNode[i]!;
      const base = i * M;
      this.busy[i] = 0;
      if (count === 0 || this.network.up[i] === 0) continue;
      if (!this.market) {
        let ready = 0;
        for (let k = 0; k < count; k++) if (J.readyMs[this.nodeJobs[base + k]!]! <= tMs) ready++;
        const share = ready > cores ? cores / ready : 1;
        for (let k = 0; k < count; k++) {
          const j = this.nodeJobs[base + k]!;
          J.share[j] = J.readyMs[j]! <= tMs ? share : 0;
        }
        this.busy[i] = Math.min(ready, cores);
        continue;
      }
      // The market: every job bidding at least the node's price wants a core. While they fit,
      // each gets one at the node's price (what the auction heap answers when the bids at or
      // above the reserve are no more than the slots: all of them win, at the reserve; a test
      // checks the two agree). When they do not fit, the auction heap sells the cores.
      const reserve = this.price[i]!;
      let wanting = 0;
      for (let k = 0; k < count; k++) {
        const j = this.nodeJobs[base + k]!;
        J.share[j] = 0;
        if (J.readyMs[j]! <= tMs && J.bid[j]! >= reserve) wanting++;
      }
      if (wanting <= cores) {
        for (let k = 0; k < count; k++) {
          const j = this.nodeJobs[base + k]!;
          if (J.readyMs[j]! <= tMs && J.bid[j]! >= reserve) J.share[j] = 1;
        }
        this.busy[i] = wanting;
        this.paid[i] = reserve;
      } else {
        const h = this.scratch;
        for (let k = 0; k < count; k++) {
          const j = this.nodeJobs[base + k]!;
          if (J.readyMs[j]! <= tMs) h.setBid(j, J.bid[j]!, tMs);
        }
        const clearing = h.clear(cores, reserve, tMs, this.marketRandom);
        for (const award of clearing.awards) J.share[award.pid] = 1;
        for (let k = 0; k < count; k++) {
          const j = this.nodeJobs[base + k]!;
          if (h.has(j)) h.removeBid(j);
        }
        this.busy[i] = clearing.awards.length;
        this.paid[i] = clearing.priceTokensPerJ;
        this.auctions++;
      }
    }
  }

  /**
   * The supply air each rack gets now: the row's static gradient plus the cooling failures under
   * way (overlapping failures on one rack: the larger rise, as the units left serve it). Written
   * into the thermal model only for racks whose offset changed: O(racks + events) a step, O(n)
   * at most.
   */
  private applyCooling(tMs: number): void {
    const ev = this.rackEventC;
    ev.fill(0);
    const cooling = this.scenario.cooling;
    for (let k = 0; k < cooling.length; k++) {
      const e = cooling[k]!;
      if (e.startMs > tMs) break; // by start time
      const rise = coolingRiseC(e, tMs);
      if (rise <= 0) continue;
      for (let r = e.rack; r < e.rack + e.racks; r++) if (rise > ev[r]!) ev[r] = rise;
    }
    let active = false;
    const offset = this.thermal.supplyOffsetC;
    const npr = this.nodesPerRack;
    const stat = this.scenario.rackSupplyOffsetC;
    for (let r = 0; r < ev.length; r++) {
      const hit = ev[r]! > 0 ? 1 : 0;
      this.rackHit[r] = hit;
      if (hit === 1) active = true;
      const o = stat[r]! + ev[r]!;
      if (o !== this.rackOffsetAppliedC[r]) {
        this.rackOffsetAppliedC[r] = o;
        offset.fill(o, r * npr, (r + 1) * npr);
      }
    }
    this.coolingActive = active;
  }

  /** During a cooling failure: where the heat and the work went (after the step's physics). */
  private measureCooling(dtS: number): void {
    const npr = this.nodesPerRack;
    const throttled = this.thermal.throttled;
    const up = this.network.up;
    for (let r = 0; r < this.rackHit.length; r++) {
      const hit = this.rackHit[r] === 1;
      let live = 0;
      let busy = 0;
      for (let i = r * npr; i < (r + 1) * npr; i++) {
        if (up[i] === 0) continue;
        live++;
        busy += this.busy[i]!;
        if (hit) {
          this.m.eventNodeS += dtS;
          if (throttled[i] === 1) this.m.eventThrottledNodeS += dtS;
        }
      }
      if (hit) {
        this.evHitNodeSteps += live;
        this.evBusyHit += busy;
      } else {
        this.evOtherNodeSteps += live;
        this.evBusyOther += busy;
      }
    }
  }

  /** Steps on which some node's cores were sold by the auction heap (more bids than cores). */
  auctions = 0;

  private physics(tMs: number, dtS: number): void {
    const n = this.n;
    const J = this.jobs;
    const M = this.maxJobs;
    const capW = this.config.powerCapW;
    const demand = this.demandW;
    const capped = this.cappedW;
    for (let i = 0; i < n; i++) {
      if (this.network.up[i] === 0) {
        demand[i] = 0;
        capped[i] = 0;
        continue;
      }
      demand[i] = this.idleW + this.busy[i]! * this.corePowerW;
      // The hardware holds the node at its cap (RAPL-style): the active part is scaled down.
      // A migration's energy (the NIC and the memory copy: outside the hardware's CPU cap, but in
      // the node's power that its cap controller and its claims see) is drawn at its own power,
      // over as many steps as that takes.
      const base = Math.min(demand[i]!, capW);
      if (this.extraJ[i]! > 0) {
        const extraW = Math.min(this.extraJ[i]! / dtS, this.migrationW, NODE_POWER_W_MAX - base);
        capped[i] = base + extraW;
        this.extraJ[i]! -= extraW * dtS;
        // Counted as drawn: a share a failure or the run's end leaves undrawn was never spent.
        this.m.migrationEnergyJ += extraW * dtS;
        if (this.extraJ[i]! < 1e-9) this.extraJ[i] = 0;
      } else capped[i] = base;
      if (demand[i]! > capW) this.m.cappedNodeS += dtS;
    }
    this.thermal.step(dtS, capped);
    const delivered = this.thermal.deliveredW;
    const temp = this.thermal.tempC;
    const throttledNow = this.thermal.throttled;
    let maxT = -Infinity;
    let sumT = 0;
    for (let i = 0; i < n; i++) {
      const t = temp[i]!;
      sumT += t;
      if (t > maxT) maxT = t;
      const r = this.rowOf[i]!;
      if (t > this.binMax[r]!) this.binMax[r] = t;
      this.m.energyJ += delivered[i]! * dtS;
      // Throttled seconds count on live nodes only: a failed node cooling down is not slowed work.
      if (throttledNow[i] === 1 && this.network.up[i] === 1) this.throttledUpS += dtS;
      const count = this.jobsOnNode[i]!;
      if (count === 0 || this.network.up[i] === 0) continue;
      // Work goes at the speed the node delivers: the cap's share of the active power times the
      // thermal model's delivered ÷ demanded.
      const d = demand[i]!;
      const capSpeed = d > capW ? Math.max(0, capW - this.idleW) / (d - this.idleW) : 1;
      const thermalSpeed = capped[i]! > 0 ? delivered[i]! / capped[i]! : 0;
      const speed = capSpeed * thermalSpeed;
      const jPerCoreS = this.corePowerW * speed;
      const price = this.market ? this.paid[i]! : 1;
      const base = i * M;
      for (let k = count - 1; k >= 0; k--) {
        const j = this.nodeJobs[base + k]!;
        const share = J.share[j]!;
        const energyJ = share * jPerCoreS * dtS;
        if (J.kind[j] === JOB_INFER) {
          if (share > 0) {
            J.workLeftS[j]! -= share * speed * dtS;
            this.m.inferWorkS += share * speed * dtS;
            this.m.inferEnergyJ += energyJ;
          }
          if (J.workLeftS[j]! <= 0) {
            this.m.igBits += J.igBits[j]!;
            this.m.inferCompleted++;
            this.intervalCompleted++;
            this.sojournSumS += (tMs + dtS * 1000 - J.arrivalMs[j]!) / 1000;
            this.detach(j);
            J.release(j);
          }
        } else {
          if (share > 0) {
            this.m.looperEnergyJ += energyJ;
            if (J.ran[j] === 0) {
              J.ran[j] = 1;
              this.m.loopersRan++;
            }
          }
          J.budget[j]! -= energyJ * price + (this.market ? this.config.rentTokensPerGiBS * J.memGiB[j]! * dtS : 0);
          if (J.budget[j]! <= 0 || J.deadlineMs[j]! <= tMs + dtS * 1000) {
            this.detach(j);
            J.release(j);
          }
        }
      }
    }
    if (maxT > this.m.peakTempC) this.m.peakTempC = maxT;
    this.maxTempSum += maxT;
    this.tempSum += sumT / n;
    this.steps++;
    void tMs;
  }

  /** Each node's price for the next step (market policies), which its HeatNode observes (and claims); fair-share's leaves. */
  private updatePrices(nowMs: number): void {
    const n = this.n;
    if (!this.market) {
      if (this.fair) {
        for (let i = 0; i < n; i++) this.tree.setLeaf(i, this.jobsLeaf(i));
        this.tree.rebuild();
      }
      return;
    }
    const temp = this.thermal.tempC;
    const delivered = this.thermal.deliveredW;
    const capW = this.config.powerCapW;
    const utilGain = -Math.expm1(-this.config.stepS / this.config.price.utilTauS);
    for (let i = 0; i < n; i++) {
      if (this.network.up[i] === 0) continue;
      // The cap controller and the claim see all the node's power, a migration's included: the
      // node's power budget is the node's, whatever draws it.
      this.capPrice[i] = this.capCtl[i]!.update(nowMs, delivered[i]!);
      if (this.stalledUntilMs[i]! <= nowMs) {
        const h = this.heat[i]!;
        // One reading object for every node (observe copies it): no allocation per node-step.
        const r = this.reading;
        r.tempC = temp[i]!;
        r.powerW = delivered[i]!;
        r.headroomW = Math.max(0, capW - delivered[i]!);
        r.price = this.price[i]!;
        h.observe(r, nowMs);
        this.heatFactor[i] = h.priceFactor(nowMs);
        if (this.gossip) this.scheduleTick(i);
      }
      // The load: busy cores smoothed (a step's ups and downs must not swing the price).
      this.util[i]! += (this.busy[i]! / this.cores - this.util[i]!) * utilGain;
      this.price[i] = this.priceAt(i, this.util[i]!);
    }
  }

  /**
   * maxwell: work drains from a node whose price rises. Every drain.intervalS a node looks at its
   * price; if it rose by drain.ratio since the last look, or its own heat raises it (heat factor
   * above 1), or jobs on it cannot pay it, it moves up to maxMovesPerNode inference jobs to the
   * node the dispatcher holds cheapest (its view, as for an arrival: the node asks it), if that
   * node is cheaper by drain.ratio (and, for a job that cannot pay here, cheap enough for its
   * bid). A job moves at most once a minute, so that work does not bounce between two nodes
   * whose prices cross.
   */
  private drain(nowMs: number): void {
    const J = this.jobs;
    const M = this.maxJobs;
    const d = this.config.drain;
    const mig = this.config.migration;
    for (let i = 0; i < this.n; i++) {
      if (this.network.up[i] === 0) continue;
      const p = this.price[i]!;
      const rose = p > this.lastDrainPrice[i]! * d.ratio;
      this.lastDrainPrice[i] = p;
      const hot = this.heatFactor[i]! > 1;
      const base = i * M;
      let priced = false;
      for (let k = 0; k < this.jobsOnNode[i]! && !priced; k++) {
        const j = this.nodeJobs[base + k]!;
        priced = J.kind[j] === JOB_INFER && J.bid[j]! < p && J.readyMs[j]! <= nowMs;
      }
      if (!rose && !hot && !priced) continue;
      for (let moves = 0; moves < d.maxMovesPerNode; moves++) {
        // The job to move: one that cannot pay here first, else the one with the most work left
        // (moving costs the same, and it spares the node the most heat).
        let best = -1;
        let bestScore = -Infinity;
        for (let k = 0; k < this.jobsOnNode[i]!; k++) {
          const j = this.nodeJobs[base + k]!;
          if (J.kind[j] !== JOB_INFER || J.readyMs[j]! > nowMs || J.workLeftS[j]! < d.minWorkLeftS || nowMs - J.movedAtMs[j]! < 60_000) continue;
          const cannotPay = J.bid[j]! < p;
          if (!rose && !hot && !cannotPay) continue;
          const score = (cannotPay ? 1e12 : 0) + J.workLeftS[j]!;
          if (score > bestScore) {
            bestScore = score;
            best = j;
          }
        }
        if (best < 0) break;
        const dest = this.viewTarget(nowMs);
        if (dest < 0 || dest === i) break;
        const there = this.tree.get(dest);
        if (there * d.ratio > p || there > J.bid[best]!) break;
        const migS = mig.fixedS + mig.sPerGiB * J.memGiB[best]!;
        const migJ = mig.jPerGiB * J.memGiB[best]!;
        this.detach(best);
        this.attach(best, dest, nowMs);
        this.viewPlaced(dest, nowMs);
        J.readyMs[best] = nowMs + migS * 1000;
        J.movedAtMs[best] = nowMs;
        this.extraJ[i]! += migJ / 2;
        this.extraJ[dest]! += migJ / 2;
        this.m.migrations++;
      }
    }
  }

  // ---------- gossip ----------

  private runEvents(untilMs: number): void {
    const q = this.events;
    const ev = this.ev;
    while (q.peekTimeMs() <= untilMs) {
      q.pop(ev);
      const i = ev.a;
      this.nowMs = ev.timeMs;
      // A stalled node does nothing until its stall ends: what arrives waits for it.
      if (this.stalledUntilMs[i]! > ev.timeMs) {
        if (ev.kind === EV_TICK) {
          if (ev.timeMs !== this.tickAtMs[i]) continue;
          this.tickAtMs[i] = this.stalledUntilMs[i]!;
        }
        q.push(this.stalledUntilMs[i]!, ev.kind, ev.a, ev.b, ev.payload);
        continue;
      }
      if (ev.kind === EV_TICK) {
        if (ev.timeMs !== this.tickAtMs[i]) continue; // superseded by an earlier tick
        this.tickAtMs[i] = Infinity;
        if (this.network.up[i] === 0) continue; // a dead node's clock stops; recover() restarts it
        this.heat[i]!.tick(ev.timeMs);
        this.scheduleTick(i);
      } else {
        const bytes = ev.payload!;
        if (!this.network.arrive(i)) {
          this.payloads.release(bytes);
          continue;
        }
        this.heat[i]!.receive(this.ids[ev.b]!, bytes, ev.timeMs);
        // receive() keeps nothing of the bytes (claims are copied into its store).
        this.payloads.release(bytes);
        this.scheduleTick(i);
        const t = this.trial;
        if (t !== null && i < this.n && t.reached[i] === 0 && ev.timeMs <= t.endMs) {
          const v = this.heat[i]!.peer(this.ids[t.node]!);
          if (v !== undefined && v.alarm) this.reach(t, i, ev.timeMs);
        }
      }
    }
    this.nowMs = untilMs;
  }

  private raiseAlarm(node: number, tMs: number): void {
    if (!this.gossip || this.network.up[node] === 0) return;
    this.closeTrial();
    let live = 0;
    for (let i = 0; i < this.n; i++) live += this.network.up[i]!;
    const of = live - 1;
    const reached = new Uint8Array(this.n);
    reached[node] = 1;
    this.trial = { node, t0Ms: tMs, reached, count: 0, need50: Math.ceil(0.5 * of), need99: Math.ceil(0.99 * of), p50S: null, p99S: null, of, endMs: tMs + this.config.alarmWindowMs };
    this.heat[node]!.alarm(tMs);
    this.scheduleTick(node);
  }

  private reach(t: NonNullable<Simulator['trial']>, i: number, atMs: number): void {
    t.reached[i] = 1;
    t.count++;
    if (t.p50S === null && t.count >= t.need50) t.p50S = (atMs - t.t0Ms) / 1000;
    if (t.p99S === null && t.count >= t.need99) t.p99S = (atMs - t.t0Ms) / 1000;
  }

  private closeTrial(): void {
    const t = this.trial;
    if (t === null) return;
    // The fan is fixed: the node stops saying it is dying (if it is down, it says so when it is back).
    this.heat[t.node]!.clearAlarm(this.nowMs);
    if (this.network.up[t.node] === 1) this.scheduleTick(t.node);
    this.trials.push({ node: t.node, atS: t.t0Ms / 1000, p99S: t.p99S, p50S: t.p50S, reached: t.count, of: t.of });
    this.trial = null;
  }

  /**
   * Polls the watched subjects: a subject is "declared dead" while at least one observer holds
   * it dead. A false verdict is such a declaration starting while the subject is up (a live node,
   * slow or not, taken for dead); a true one, while it is down. The rate is per node-hour of
   * live subject watched. (The protocol spreads a "dead" verdict as a rumour to everyone, so a
   * sample of observers sees every verdict that matters.)
   */
  private pollDead(nowMs: number): void {
    const live = this.network.up;
    // Polls fall on step boundaries, so the time since the last one is not always deadPollMs.
    const sinceMs = nowMs - this.lastPollMs;
    this.lastPollMs = nowMs;
    for (let s = 0; s < this.subjects.length; s++) {
      const subj = this.subjects[s]!;
      const id = this.ids[subj]!;
      let dead = 0;
      for (let o = 0; o < this.observers.length && dead === 0; o++) {
        const obs = this.observers[o]!;
        if (obs === subj || live[obs] === 0) continue;
        if (this.heat[obs]!.memberState(id) === 'dead') dead = 1;
      }
      if (dead === 1 && this.deadSeen[s] === 0) {
        if (live[subj] === 1) {
          this.falseDead++;
          if (this.scenario.slowMs[subj]! > 0) this.falseDeadSlow++;
        } else this.trueDead++;
      }
      this.deadSeen[s] = dead;
      if (live[subj] === 1) this.watchedMs += sinceMs;
    }
  }

  // ---------- metrics ----------

  private measure(step: number, nowMs: number): void {
    if (this.gossip && nowMs >= this.nextPollMs) {
      this.pollDead(nowMs);
      this.nextPollMs = nowMs + this.config.deadPollMs;
    }
    if (this.trial !== null && nowMs > this.trial.endMs) this.closeTrial();
    if ((step + 1) % this.sampleEvery !== 0 && step + 1 !== Math.round(this.config.durationS / this.config.stepS)) return;
    const s = this.samples;
    const k = this.sampleIdx++;
    if (k >= s.tS.length) return;
    const n = this.n;
    const intervalS = (nowMs - (k === 0 ? 0 : s.tS[k - 1]! * 1000)) / 1000;
    s.tS[k] = nowMs / 1000;
    for (let r = 0; r < s.heatRows; r++) {
      s.heat[r * s.tS.length + k] = this.binMax[r]!;
      this.binMax[r] = -Infinity;
    }
    let power = 0;
    let capTotal = 0;
    let throttled = 0;
    let maxT = -Infinity;
    for (let i = 0; i < n; i++) {
      power += this.thermal.deliveredW[i]!;
      if (this.network.up[i] === 1) capTotal += this.config.powerCapW;
      if (this.network.up[i] === 1) throttled += this.thermal.throttled[i]!;
      if (this.thermal.tempC[i]! > maxT) maxT = this.thermal.tempC[i]!;
    }
    s.powerW[k] = power;
    s.capW[k] = capTotal;
    s.throughput[k] = this.intervalCompleted / intervalS;
    this.intervalCompleted = 0;
    s.igPerJ[k] = this.m.energyJ > 0 ? this.m.igBits / this.m.energyJ : 0;
    s.throttledNodeS[k] = this.throttledUpS;
    s.throttledNodes[k] = throttled;
    s.maxTempC[k] = maxT;
    if (this.market) {
      const live: number[] = [];
      for (let i = 0; i < n; i++) if (this.network.up[i] === 1) live.push(this.price[i]!);
      live.sort((x, y) => x - y);
      const q = (p: number) => (live.length === 0 ? NaN : live[Math.min(live.length - 1, Math.floor(p * live.length))]!);
      s.priceP10[k] = q(0.1);
      s.priceP50[k] = q(0.5);
      s.priceP90[k] = q(0.9);
      s.priceMax[k] = live.length === 0 ? NaN : live[live.length - 1]!;
    } else {
      s.priceP10[k] = s.priceP50[k] = s.priceP90[k] = s.priceMax[k] = NaN;
    }
    for (const t of s.tracked) {
      t.price[k] = this.market ? this.price[t.node]! : NaN;
      t.tempC[k] = this.thermal.tempC[t.node]!;
    }
  }

  private finish(): void {
    this.closeTrial();
    // Loopers still queued past their deadline at the end expired there too.
    this.sweepQueue(this.config.durationS * 1000);
    this.m.throttledNodeS = this.throttledUpS;
    const durMs = this.config.durationS * 1000;
    this.m.coolingEvents = this.scenario.cooling.filter((e) => e.startMs < durMs).length;
    const perHit = (x: number) => x / this.evHitNodeSteps;
    const perOther = (x: number) => x / this.evOtherNodeSteps;
    if (this.evHitNodeSteps > 0 && this.evOtherNodeSteps > 0) {
      this.m.eventArrivalsRatio = perHit(this.evPlacedHit) / perOther(this.evPlacedOther);
      this.m.eventBusyRatio = perHit(this.evBusyHit) / perOther(this.evBusyOther);
    }
    this.m.meanSojournS = this.m.inferCompleted > 0 ? this.sojournSumS / this.m.inferCompleted : 0;
    this.m.meanTempC = this.steps > 0 ? this.tempSum / this.steps : 0;
    this.m.meanMaxTempC = this.steps > 0 ? this.maxTempSum / this.steps : 0;
  }

  private gossipMetrics(): GossipMetrics {
    const durS = this.config.durationS;
    let bytes = 0;
    let maxBytes = 0;
    let messages = 0;
    const rejected: Record<string, number> = {};
    // Per node: the nodes' HeatNodes (the dispatcher, at index n, is reported on its own).
    for (let i = 0; i < this.n; i++) {
      const h = this.heat[i]!;
      bytes += h.stats.bytesSent;
      messages += h.stats.messagesSent;
      if (h.stats.bytesSent > maxBytes) maxBytes = h.stats.bytesSent;
      for (const [k, v] of Object.entries(h.stats.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
    }
    const watchedNodeH = this.watchedMs / 3_600_000;
    return {
      alarmTrials: this.trials,
      bytesSentPerNodeS: bytes / this.n / durS,
      bytesSentPerNodeSMax: maxBytes / durS,
      messagesPerNodeS: messages / this.n / durS,
      falseDeadVerdicts: this.falseDead,
      falseDeadOnSlowNodes: this.falseDeadSlow,
      watchedNodeH,
      falseDeadPerNodeH: watchedNodeH > 0 ? this.falseDead / watchedNodeH : 0,
      trueDeadVerdicts: this.trueDead,
      dispatcherBytesSentPerS: this.heat[this.n]!.stats.bytesSent / durS,
      dispatcherBytesReceivedPerS: this.heat[this.n]!.stats.bytesReceived / durS,
      network: { ...this.network.counters },
      rejected,
    };
  }

  // ---------- for tests ----------

  /** Jobs on node i right now. */
  jobsAt(i: number): number {
    return this.jobsOnNode[i]!;
  }

  /** Jobs waiting for a node. */
  get queued(): number {
    return this.qLen;
  }

  /** Job slots in use: every job arrived and not yet completed, expired, refused or lost. */
  get liveJobs(): number {
    return this.jobs.live;
  }

  /** Whether node i is up. */
  isUp(i: number): boolean {
    return this.network.up[i] === 1;
  }

  /** Arrivals placed on node i so far (moves not counted). */
  placedAt(i: number): number {
    return this.placedOn[i]!;
  }

  /** Cores of node i that ran a job in the last step (what heats it). */
  busyAt(i: number): number {
    return this.busy[i]!;
  }

  /** Holds node i at a temperature (a broken fan), as a measurement would. */
  forceTemp(i: number, tempC: number): void {
    this.thermal.observe(i, tempC);
  }
}
