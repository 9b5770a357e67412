/**
 * What happens to the cluster, drawn once from the seed before the run and shared by every
 * policy: the same jobs arrive at the same times with the same work, values and bids, the same
 * nodes fail and come back at the same times, the same nodes are slow, the same alarms are
 * raised. A policy changes where work runs and when; it never changes what the world does.
 *
 * The workload:
 *  - inference jobs arrive as a Poisson process whose rate swings ±`swing` over `periodS`, with
 *    bursts (a burst multiplies the rate by `burstFactor` for 2 to 4 minutes, ~4 an hour). A job
 *    needs `workS` core-seconds (log-normal, mean `inferWorkMeanS`), yields `igBits` bits of
 *    information gain when it finishes (its value density, bits per core-second, log-normal
 *    around 1), and bids for energy in proportion to that density (a rational agent bids its
 *    value: 2 + 3 × density tokens/J, at most 20);
 *  - useless loopers arrive the same way (without bursts): information gain 0, a budget of
 *    tokens that buys `looperLifeS` core-seconds at the base price 1 token/J, a bid uniform in
 *    [0.8, 2.2] tokens/J (funded by someone who does not care), and a deadline of
 *    `looperDeadlineS` after which its owner stops it;
 *  - the rates are set from the target loads: `inferLoad` and `looperLoad` are the offered
 *    work as a fraction of the cluster's cores.
 *
 * Failures: each node fails as a Poisson process (mean time between failures `mtbfH` hours)
 * and is repaired after an exponential time (mean `repairS`). Slow nodes: a fraction
 * `slowFraction` of the nodes is slow (mean extra delay `slowMs` on every message, and stalls
 * of 0.5 to 3 s, ~every 5 minutes, during which they neither send nor read). Alarms: `alarms`
 * times spread over the run, each naming a node (never a slow one) that declares "I am dying".
 *
 * Cooling: the supply air does not reach every rack alike (docs/heat-sim.md, "Cooling"). A
 * static row gradient: rack r's supply is `rowGradientC × r ÷ (racks − 1)` warmer than the
 * first rack's (the far end of the row from the cooling units). Cooling failures: a Poisson
 * process (`coolingFailuresPerH` over the room) of events, each a cooling unit failing or
 * degrading: it hits 1 to `coolingRacksMax` adjacent racks (uniform), whose supply air warms by
 * `riseC` (uniform in [riseMinC, riseMaxC]) over `rampS`, holds for a time uniform in
 * [holdMinS, holdMaxS], and cools back over `rampS`. Drawn from their own stream, so turning
 * them on or changing them draws nothing from any other purpose.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { seededRandom, type Random } from '../market/random.js';

export interface ScenarioInit {
  seed: number;
  durationS: number;
  nodes: number;
  coresPerNode: number;
  inferLoad: number;
  looperLoad: number;
  inferWorkMeanS: number;
  looperLifeS: number;
  looperDeadlineS: number;
  /** Core power (W per busy core at full speed): a looper's budget is its life × this. */
  corePowerW: number;
  swing: number;
  periodS: number;
  burstFactor: number;
  mtbfH: number;
  repairS: number;
  slowFraction: number;
  slowMs: number;
  alarms: number;
  racks: number;
  cooling: CoolingInit;
}

export interface CoolingInit {
  /** Cooling failures per hour over the whole room (0: none). */
  failuresPerH: number;
  /** One failure hits 1 to this many adjacent racks. */
  racksMax: number;
  riseMinC: number;
  riseMaxC: number;
  /** Time at the full rise (s), uniform in [holdMinS, holdMaxS]. */
  holdMinS: number;
  holdMaxS: number;
  /** The supply warms (and later cools) linearly over this long (s). */
  rampS: number;
  /** The last rack's supply is this much warmer than the first's, the others in between (°C). */
  rowGradientC: number;
}

/** A cooling unit failing: racks [rack, rack + racks) breathe warmer supply air for a while. */
export interface CoolingEvent {
  startMs: number;
  rack: number;
  racks: number;
  riseC: number;
  rampMs: number;
  holdMs: number;
}

/** An event's supply offset at tMs (°C): a trapezoid, 0 outside [startMs, startMs + 2·ramp + hold]. */
export function coolingRiseC(e: CoolingEvent, tMs: number): number {
  const x = tMs - e.startMs;
  if (x <= 0) return 0;
  if (x < e.rampMs) return (e.riseC * x) / e.rampMs;
  if (x <= e.rampMs + e.holdMs) return e.riseC;
  const down = x - e.rampMs - e.holdMs;
  if (down >= e.rampMs) return 0;
  return e.riseC * (1 - down / e.rampMs);
}

export function coolingEndMs(e: CoolingEvent): number {
  return e.startMs + 2 * e.rampMs + e.holdMs;
}

export const JOB_INFER = 0;
export const JOB_LOOPER = 1;

export interface Arrivals {
  count: number;
  tMs: Float64Array;
  kind: Uint8Array;
  workS: Float64Array;
  igBits: Float64Array;
  bid: Float64Array;
  /** Loopers: tokens; inference jobs: Infinity (they are paid for what they find, docs/proof.md). */
  budget: Float64Array;
  memGiB: Float64Array;
}

export interface Failure {
  tMs: number;
  node: number;
  downMs: number;
}

export interface Stall {
  tMs: number;
  node: number;
  durMs: number;
}

export interface Scenario {
  init: ScenarioInit;
  arrivals: Arrivals;
  failures: Failure[];
  /** Per node: the mean extra delay of its messages (ms), 0 for a normal node. */
  slowMs: Float64Array;
  slowNodes: number[];
  stalls: Stall[];
  alarms: { tMs: number; node: number }[];
  /** Cooling failures, by start time. */
  cooling: CoolingEvent[];
  /** Per rack: the static supply offset of the row gradient (°C). */
  rackSupplyOffsetC: Float64Array;
}

/** Independent streams from one seed: one per purpose, so that changing one draws nothing from another. */
export function stream(seed: number, purpose: number): Random {
  return seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca77)) >>> 0);
}
export const STREAM_ARRIVALS = 1;
export const STREAM_FAILURES = 2;
export const STREAM_SLOW = 3;
export const STREAM_ALARMS = 4;
export const STREAM_NETWORK = 5;
export const STREAM_HEAT = 6;
export const STREAM_MARKET = 7;
export const STREAM_POLICY = 8;
export const STREAM_COOLING = 9;

function exponential(r: Random, mean: number): number {
  return -mean * Math.log(1 - r());
}

/** A standard normal draw (Box–Muller; one of the pair is thrown away: simplicity over speed). */
function normal(r: Random): number {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Log-normal with the given mean and σ of the log. */
function logNormal(r: Random, mean: number, sigma: number): number {
  return mean * Math.exp(sigma * normal(r) - (sigma * sigma) / 2);
}

/** At most this many arrivals in one run (a limit on everything). */
export const MAX_ARRIVALS = 20_000_000;

export function makeScenario(init: ScenarioInit): Scenario {
  assert(init.durationS > 0 && init.nodes > 0 && init.coresPerNode > 0, 'a scenario has a duration, nodes and cores');
  const cores = init.nodes * init.coresPerNode;
  const durMs = init.durationS * 1000;
  const r = stream(init.seed, STREAM_ARRIVALS);

  // Bursts first (their times), then arrivals by thinning a Poisson process at the peak rate.
  const bursts: { s: number; e: number }[] = [];
  for (let t = exponential(r, 900); t < init.durationS; t += exponential(r, 900)) bursts.push({ s: t, e: t + 120 + 120 * r() });
  const inBurst = (tS: number) => bursts.some((b) => tS >= b.s && tS < b.e);
  const swingAt = (tS: number) => 1 + init.swing * Math.sin((2 * Math.PI * tS) / init.periodS);
  // The mean rate is scaled so that the offered work over the run averages to the target load.
  const burstShare = bursts.reduce((s, b) => s + Math.min(b.e, init.durationS) - b.s, 0) / init.durationS;
  const inferRate = (init.inferLoad * cores) / init.inferWorkMeanS / (1 + burstShare * (init.burstFactor - 1));
  const looperRate = (init.looperLoad * cores) / init.looperLifeS;
  const peakInfer = inferRate * (1 + init.swing) * init.burstFactor;
  const peakLooper = looperRate * (1 + init.swing);

  const expected = Math.ceil((peakInfer + peakLooper) * init.durationS * 1.1 + 1000);
  if (expected > MAX_ARRIVALS) throw new MaxwellError(ErrorCode.SIM_LIMIT, `the workload would have ~${expected} arrivals, more than the simulator's limit of ${MAX_ARRIVALS}: fewer nodes or a shorter run`);
  const a: Arrivals = {
    count: 0,
    tMs: new Float64Array(expected),
    kind: new Uint8Array(expected),
    workS: new Float64Array(expected),
    igBits: new Float64Array(expected),
    bid: new Float64Array(expected),
    budget: new Float64Array(expected),
    memGiB: new Float64Array(expected),
  };
  const push = (tS: number, kind: number, workS: number, igBits: number, bid: number, budget: number, memGiB: number) => {
    const i = a.count++;
    a.tMs[i] = Math.round(tS * 1000);
    a.kind[i] = kind;
    a.workS[i] = workS;
    a.igBits[i] = igBits;
    a.bid[i] = bid;
    a.budget[i] = budget;
    a.memGiB[i] = memGiB;
  };
  // Two thinned streams, merged by time as they are drawn.
  let tInfer = 0;
  let tLooper = 0;
  const nextInfer = () => {
    for (;;) {
      tInfer += exponential(r, 1 / peakInfer);
      if (tInfer >= init.durationS) return Infinity;
      const rate = inferRate * swingAt(tInfer) * (inBurst(tInfer) ? init.burstFactor : 1);
      if (r() * peakInfer < rate) return tInfer;
    }
  };
  const nextLooper = () => {
    for (;;) {
      tLooper += exponential(r, 1 / peakLooper);
      if (tLooper >= init.durationS) return Infinity;
      if (r() * peakLooper < looperRate * swingAt(tLooper)) return tLooper;
    }
  };
  let ni = peakInfer > 0 ? nextInfer() : Infinity;
  let nl = peakLooper > 0 ? nextLooper() : Infinity;
  while (ni !== Infinity || nl !== Infinity) {
    if (ni <= nl) {
      const workS = Math.min(20 * init.inferWorkMeanS, Math.max(1, logNormal(r, init.inferWorkMeanS, 0.8)));
      const density = logNormal(r, 1, 0.6);
      const bid = Math.min(20, 2 + 3 * density);
      push(ni, JOB_INFER, workS, workS * density, bid, Infinity, Math.min(64, logNormal(r, 2, 0.5)));
      ni = nextInfer();
    } else {
      const lifeS = Math.max(10, logNormal(r, init.looperLifeS, 0.5));
      push(nl, JOB_LOOPER, Infinity, 0, 0.8 + 1.4 * r(), lifeS * init.corePowerW, 1);
      nl = nextLooper();
    }
  }

  const rf = stream(init.seed, STREAM_FAILURES);
  const failures: Failure[] = [];
  if (init.mtbfH > 0) {
    for (let node = 0; node < init.nodes; node++) {
      for (let t = exponential(rf, init.mtbfH * 3600); t < init.durationS; ) {
        const downS = Math.max(10, exponential(rf, init.repairS));
        failures.push({ tMs: Math.round(t * 1000), node, downMs: Math.round(downS * 1000) });
        t += downS + exponential(rf, init.mtbfH * 3600);
      }
    }
    failures.sort((x, y) => x.tMs - y.tMs || x.node - y.node);
  }

  const rs = stream(init.seed, STREAM_SLOW);
  const slowMs = new Float64Array(init.nodes);
  const slowNodes: number[] = [];
  const stalls: Stall[] = [];
  for (let node = 0; node < init.nodes; node++) {
    if (rs() < init.slowFraction) {
      slowMs[node] = init.slowMs;
      slowNodes.push(node);
      for (let t = exponential(rs, 300); t < init.durationS; t += exponential(rs, 300)) {
        stalls.push({ tMs: Math.round(t * 1000), node, durMs: Math.round(500 + 2500 * rs()) });
      }
    }
  }
  stalls.sort((x, y) => x.tMs - y.tMs || x.node - y.node);

  const ra = stream(init.seed, STREAM_ALARMS);
  const alarms: { tMs: number; node: number }[] = [];
  for (let k = 0; k < init.alarms; k++) {
    let node = Math.floor(ra() * init.nodes);
    for (let tries = 0; slowMs[node]! > 0 && tries < init.nodes; tries++) node = (node + 1) % init.nodes;
    alarms.push({ tMs: Math.round(((k + 0.5) / init.alarms) * durMs), node });
  }

  const { cooling, rackSupplyOffsetC } = makeCooling(init);
  return { init, arrivals: a, failures, slowMs, slowNodes, stalls, alarms, cooling, rackSupplyOffsetC };
}

function makeCooling(init: ScenarioInit): { cooling: CoolingEvent[]; rackSupplyOffsetC: Float64Array } {
  const c = init.cooling;
  const racks = init.racks;
  assert(Number.isInteger(racks) && racks >= 1 && init.nodes % racks === 0, 'racks divide the nodes');
  assert(c.riseMinC <= c.riseMaxC && c.holdMinS <= c.holdMaxS && c.racksMax >= 1, 'cooling ranges are ordered (checked by simConfig)');
  const rackSupplyOffsetC = new Float64Array(racks);
  for (let k = 0; k < racks; k++) rackSupplyOffsetC[k] = racks === 1 ? 0 : (c.rowGradientC * k) / (racks - 1);
  const cooling: CoolingEvent[] = [];
  if (!(c.failuresPerH > 0)) return { cooling, rackSupplyOffsetC };
  const rc = stream(init.seed, STREAM_COOLING);
  for (let t = exponential(rc, 3600 / c.failuresPerH); t < init.durationS; t += exponential(rc, 3600 / c.failuresPerH)) {
    const span = Math.min(racks, 1 + Math.floor(rc() * c.racksMax));
    // The first rack hit: any rack from which `span` adjacent racks fit in the row.
    const rack = Math.floor(rc() * (racks - span + 1));
    const riseC = c.riseMinC + (c.riseMaxC - c.riseMinC) * rc();
    const holdS = c.holdMinS + (c.holdMaxS - c.holdMinS) * rc();
    cooling.push({ startMs: Math.round(t * 1000), rack, racks: span, riseC, rampMs: Math.round(c.rampS * 1000), holdMs: Math.round(holdS * 1000) });
  }
  return { cooling, rackSupplyOffsetC };
}
