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

  return { init, arrivals: a, failures, slowMs, slowNodes, stalls, alarms };
}
