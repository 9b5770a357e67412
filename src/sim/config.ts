/**
 * The simulator's configuration: every knob, its unit in its name, its default and the reason
 * for it, and the checks that turn a bad value into E_BAD_ARGUMENT before anything runs.
 */
import { ErrorCode, MaxwellError } from '../errors.js';
import { DEFAULT_THERMAL_PARAMS, type ThermalParams } from '../thermal/model.js';
import type { HeatConfig } from '../thermal/protocol.js';
import type { Partition } from './network.js';
import type { CoolingInit } from './scenario.js';

export type PolicyName = 'maxwell' | 'no-gossip' | 'fair-share' | 'round-robin';
export const POLICIES: readonly PolicyName[] = ['maxwell', 'no-gossip', 'fair-share', 'round-robin'];

/** Whether a policy sells cores by auction at the node's price (and drains when it rises). */
export function isMarketPolicy(p: PolicyName): boolean {
  return p === 'maxwell' || p === 'no-gossip';
}

export interface SimConfig {
  seed: number;
  nodes: number;
  racks: number;
  durationS: number;
  policy: PolicyName;
  /** The physics step: power, temperature, work and prices advance in steps of this (s). */
  stepS: number;
  coresPerNode: number;
  /** A node's power with every core busy at full speed (W); idle power is the thermal model's. */
  peakPowerW: number;
  /** Every node's power cap (W). */
  powerCapW: number;
  /**
   * The power-cap controller's tuning (src/kernel/power-cap.ts) under the market policies. Its
   * defaults are for the kernel's 5 ms rounds; the simulator updates it once a step (1 s), where
   * those gains overshoot (the price swung ×20 in a few seconds), so it is slowed down here.
   */
  powerCap: { tauMs: number; kp: number; ki: number; maxStepUp: number; maxStepDown: number };
  /** rackCoupling's recirculation: the share of a node's inlet air that is its lower neighbour's exhaust. */
  recirculation: number;
  thermal: Partial<ThermalParams>;
  heat: Partial<HeatConfig>;
  network: { intraRackMs: number; interRackMs: number; jitterMs: number; loss: number; partitions: Partition[] };
  workload: {
    inferLoad: number;
    looperLoad: number;
    inferWorkMeanS: number;
    looperLifeS: number;
    looperDeadlineS: number;
    swing: number;
    periodS: number;
    burstFactor: number;
  };
  failures: { mtbfH: number; repairS: number };
  /**
   * Cooling that is not uniform (scenario.ts, docs/heat-sim.md "Cooling"): a static gradient of
   * supply air along the row, and cooling units that fail or degrade, warming the supply of 1 to
   * racksMax adjacent racks by riseMinC..riseMaxC for holdMinS..holdMaxS (plus rampS in and out).
   */
  cooling: CoolingInit;
  slow: { fraction: number; ms: number };
  /** "I am dying" alarms raised during the run, to time their spread. */
  alarms: number;
  /** An alarm's spread is followed for this long (ms). */
  alarmWindowMs: number;
  price: {
    /** The load part of a node's price: 1 + loadWeight × u², u = busy cores ÷ cores, smoothed. */
    loadWeight: number;
    /** The time constant of that smoothing (s). */
    utilTauS: number;
  };
  /**
   * maxwell's dispatcher: it places arrivals (and picks the targets of moves) by the prices it
   * learns through the heat protocol. Between two claims of a node it projects the jobs it sent
   * there onto the claimed price (see engine.ts, `viewLeaf`).
   */
  dispatcher: {
    /**
     * The dispatcher's estimate of a node's busy cores (set by each claim, one more for each job
     * it sends there) decays with this time constant (s): jobs finish or leave, and the dispatcher
     * does not see them go. About a job's mean time on a core (120 s: an inference job's mean
     * work; by Little's law, busy cores ÷ arrivals per node comes out the same in the runs).
     */
    loadTauS: number;
    /** A node that refused a job (it was down or full) gets none for this long, or until its next claim (s). */
    blockS: number;
    /** A node held suspect costs this much more (tokens/J): it is taken only when every node it knows alive is dearer. */
    suspectPenaltyTokensPerJ: number;
  };
  drain: {
    /** How often nodes look at their price to drain (s). */
    intervalS: number;
    /**
     * A node looks to drain when its price rose by this factor since its last look (or its own
     * heat raises its price, or a job on it cannot pay), and moves a job only to a node whose
     * price is lower by this factor.
     */
    ratio: number;
    maxMovesPerNode: number;
    /** Jobs with less work left than this finish where they are (s of a core). */
    minWorkLeftS: number;
  };
  migration: { fixedS: number; sPerGiB: number; jPerGiB: number };
  /** Rent a job pays under the market policies while it lives (tokens per GiB of memory per second). */
  rentTokensPerGiBS: number;
  maxJobsPerNode: number;
  /** Jobs waiting for a node (beyond it, arrivals are refused and counted). */
  maxQueue: number;
  /** Columns of the plots (samples over the run). */
  samples: number;
  /** Rows of the heat map at most (nodes are binned, hottest of each bin shown). */
  heatMapRows: number;
  /** False "dead" verdicts are counted by this many observers (0: all nodes), polled every pollMs. */
  deadObservers: number;
  deadPollMs: number;
}

export const SIM_NODES_MAX = 100_000;
/**
 * Under maxwell every node's HeatNode holds a claim (108 bytes) and ~50 bytes of membership for
 * every member: n² of memory, ~340 MB in all at 1,000 nodes. 2,000 is where that stays a
 * process's memory.
 */
export const SIM_GOSSIP_NODES_MAX = 2000;
export const SIM_DURATION_S_MAX = 7 * 24 * 3600;
/**
 * Job slots (nodes × maxJobsPerNode + maxQueue): each costs ~106 bytes (the job table's eleven
 * Float64 columns and the rest, and its place in a node's list), so 10 M of them ~1 GB.
 */
export const SIM_JOB_SLOTS_MAX = 10_000_000;
/** Heat-map cells (samples × rows), 8 bytes each. */
export const SIM_HEAT_MAP_CELLS_MAX = 4_000_000;

export const DEFAULT_SIM_CONFIG: Readonly<SimConfig> = Object.freeze({
  seed: 1,
  nodes: 1000,
  racks: 40,
  durationS: 3600,
  policy: 'maxwell' as PolicyName,
  // One second: the thermal time constant (R·C = 300 s with the defaults) is far longer, and
  // the gossip runs between steps on its own event-driven clock.
  stepS: 1,
  coresPerNode: 16,
  peakPowerW: 400,
  // Idle 200 W, peak 400 W: a cap of 380 W binds above 90% of the cores.
  powerCapW: 380,
  powerCap: { tauMs: 3000, kp: 4, ki: 1, maxStepUp: 1.5, maxStepDown: 1.5 },
  // Between rackCoupling's "well contained" and its maximum (0.5): with it, a rack's upper nodes
  // at full load run ~15 °C above its bottom ones, and over tMax on a warm day.
  recirculation: 0.42,
  // Supply air at 27 °C: the top of ASHRAE's recommended range (A1), where operators who save
  // on cooling run; it is what puts a loaded rack's upper nodes near tMax (85 °C).
  thermal: { supplyC: 27 },
  heat: {},
  // A datacenter fabric: ~100 µs within a rack, ~300 µs across, queueing tails of ~200 µs; 1% loss.
  network: { intraRackMs: 0.1, interRackMs: 0.3, jitterMs: 0.2, loss: 0.01, partitions: [] },
  workload: {
    // The offered work is the whole cluster (bursts above it): 55% inference, 45% useless loopers.
    inferLoad: 0.55,
    looperLoad: 0.45,
    inferWorkMeanS: 120,
    looperLifeS: 600,
    looperDeadlineS: 900,
    swing: 0.2,
    periodS: 1800,
    burstFactor: 1.5,
  },
  // 500 h between failures of one node: ~2 failures an hour in 1,000 nodes; 10 minutes to repair.
  failures: { mtbfH: 500, repairS: 600 },
  // About one cooling failure an hour in the room, each warming the supply of one or two adjacent
  // racks by 6-10 °C for 10-20 minutes (plus 90 s ramps in and out), and the row's far end 2 °C
  // warmer than its near end: docs/heat-sim.md ("Cooling") gives the reasons.
  cooling: { failuresPerH: 2, racksMax: 2, riseMinC: 8, riseMaxC: 12, holdMinS: 600, holdMaxS: 1200, rampS: 90, rowGradientC: 2 },
  // 2% of the nodes are slow: ~100 ms extra per message and stalls of up to 3 s.
  slow: { fraction: 0.02, ms: 100 },
  alarms: 5,
  alarmWindowMs: 30_000,
  price: { loadWeight: 4, utilTauS: 20 },
  dispatcher: { loadTauS: 120, blockS: 30, suspectPenaltyTokensPerJ: 1000 },
  drain: { intervalS: 10, ratio: 1.25, maxMovesPerNode: 2, minWorkLeftS: 20 },
  // A job's memory crosses a 10 Gb/s link at ~1.25 GB/s (0.8 s/GiB) after a 2 s pause to
  // checkpoint; moving a GiB costs ~150 J on the two ends.
  migration: { fixedS: 2, sPerGiB: 0.8, jPerGiB: 150 },
  // The kernel's memory rent (src/kernel/config.ts: 400 µJ per MiB·s), per GiB.
  rentTokensPerGiBS: 0.4,
  maxJobsPerNode: 64,
  maxQueue: 200_000,
  samples: 240,
  heatMapRows: 200,
  // 100 observers polled every 2 s: a "dead" verdict is a rumour that reaches everyone within a
  // few rounds, and suspicion lasts ≥ 10 s before it, so no verdict slips between two polls.
  deadObservers: 100,
  deadPollMs: 2000,
});

/** 40 racks, or the largest number up to 40 that divides the nodes evenly (every rack holds as many). */
export function defaultRacks(nodes: number): number {
  for (let r = Math.min(40, nodes); r > 1; r--) if (nodes % r === 0) return r;
  return 1;
}

function bad(message: string): MaxwellError {
  return new MaxwellError(ErrorCode.BAD_ARGUMENT, message);
}

/** The config with defaults filled in, checked. */
export function simConfig(partial: Partial<SimConfig> = {}): SimConfig {
  const d = DEFAULT_SIM_CONFIG;
  const c: SimConfig = {
    ...d,
    ...partial,
    thermal: { ...d.thermal, ...partial.thermal },
    // A node is "dying" where it throttles: at the thermal model's tMax (85 °C by default), not
    // at the protocol's default dyingC (95 °C, a CPU package's), which a node of this model never
    // reaches. Its heat then rises from 0 at hotC − hysteresisC (77 °C) to 1 at tMax, and the
    // alarm goes out as it starts to throttle. Over that 8 °C span a change of heat is material
    // (a new claim) at 0.25, 2 °C: about the protocol default's 0.1 of its 18 °C span (77–95 °C),
    // which here would make a claim of every 0.8 °C.
    heat: { dyingC: partial.thermal?.tMaxC ?? d.thermal.tMaxC ?? DEFAULT_THERMAL_PARAMS.tMaxC, materialHeat: 0.25, ...d.heat, ...partial.heat },
    network: { ...d.network, ...partial.network },
    workload: { ...d.workload, ...partial.workload },
    failures: { ...d.failures, ...partial.failures },
    // A failure warms at most as many racks as there are (a one-rack room's failure warms its one).
    cooling: { ...d.cooling, racksMax: Math.min(d.cooling.racksMax, partial.racks ?? d.racks), ...partial.cooling },
    slow: { ...d.slow, ...partial.slow },
    price: { ...d.price, ...partial.price },
    dispatcher: { ...d.dispatcher, ...partial.dispatcher },
    drain: { ...d.drain, ...partial.drain },
    migration: { ...d.migration, ...partial.migration },
    powerCap: { ...d.powerCap, ...partial.powerCap },
  };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${name} must be an integer in [${lo}, ${hi}], not ${v}`);
  };
  const num = (name: string, v: number, lo: number, hi: number) => {
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw bad(`${name} must be a number in [${lo}, ${hi}], not ${v}`);
  };
  int('seed', c.seed, 0, 2 ** 32 - 1);
  int('nodes', c.nodes, 1, SIM_NODES_MAX);
  int('racks', c.racks, 1, c.nodes);
  if (c.nodes % c.racks !== 0) throw bad(`--nodes (${c.nodes}) must be a multiple of --racks (${c.racks}): every rack holds the same number of nodes`);
  num('stepS', c.stepS, 0.01, 60);
  num('duration', c.durationS, c.stepS, SIM_DURATION_S_MAX);
  // The run is a whole number of steps, and every rate is per simulated second of those steps.
  const steps = c.durationS / c.stepS;
  if (Math.abs(steps - Math.round(steps)) > 1e-9 * steps) throw bad(`--duration (${c.durationS} s) must be a whole number of steps of ${c.stepS} s`);
  if (!POLICIES.includes(c.policy)) throw bad(`--policy must be one of ${POLICIES.join(', ')}, not '${c.policy}'`);
  if (c.policy === 'maxwell' && c.nodes > SIM_GOSSIP_NODES_MAX) {
    throw new MaxwellError(ErrorCode.SIM_LIMIT, `maxwell gossips among all nodes, and at most ${SIM_GOSSIP_NODES_MAX} fit in memory (every node holds every other's claim): --nodes ${c.nodes} is too many`);
  }
  int('coresPerNode', c.coresPerNode, 1, 4096);
  num('peakPowerW', c.peakPowerW, 1, 10_000);
  num('powerCapW', c.powerCapW, 1, 10_000);
  num('recirculation', c.recirculation, 0, 0.5);
  num('loss', c.network.loss, 0, 0.99);
  num('workload.inferLoad', c.workload.inferLoad, 0, 10);
  num('workload.looperLoad', c.workload.looperLoad, 0, 10);
  num('workload.inferWorkMeanS', c.workload.inferWorkMeanS, 1, 1e6);
  num('workload.looperLifeS', c.workload.looperLifeS, 1, 1e6);
  num('workload.swing', c.workload.swing, 0, 0.99);
  num('workload.burstFactor', c.workload.burstFactor, 1, 10);
  num('workload.looperDeadlineS', c.workload.looperDeadlineS, 1, 1e6);
  num('workload.periodS', c.workload.periodS, 1, 1e9);
  num('failures.mtbfH', c.failures.mtbfH, 0, 1e9);
  num('failures.repairS', c.failures.repairS, 0, SIM_DURATION_S_MAX);
  num('slow.fraction', c.slow.fraction, 0, 1);
  num('slow.ms', c.slow.ms, 0, 60_000);
  num('network.intraRackMs', c.network.intraRackMs, 0, 60_000);
  num('network.interRackMs', c.network.interRackMs, 0, 60_000);
  num('network.jitterMs', c.network.jitterMs, 0, 60_000);
  num('powerCap.tauMs', c.powerCap.tauMs, 1, 1e7);
  num('powerCap.kp', c.powerCap.kp, 0, 1e6);
  num('powerCap.ki', c.powerCap.ki, 0, 1e6);
  num('powerCap.maxStepUp', c.powerCap.maxStepUp, 1, 1e3);
  num('powerCap.maxStepDown', c.powerCap.maxStepDown, 1, 1e3);
  num('price.loadWeight', c.price.loadWeight, 0, 1e6);
  num('price.utilTauS', c.price.utilTauS, 0.001, 1e6);
  num('migration.fixedS', c.migration.fixedS, 0, 1e6);
  num('migration.sPerGiB', c.migration.sPerGiB, 0, 1e6);
  num('migration.jPerGiB', c.migration.jPerGiB, 0, 1e6);
  num('rentTokensPerGiBS', c.rentTokensPerGiBS, 0, 1e6);
  // Shorter than a step: nodes look every step.
  num('drain.intervalS', c.drain.intervalS, 0.001, SIM_DURATION_S_MAX);
  int('drain.maxMovesPerNode', c.drain.maxMovesPerNode, 0, 4096);
  num('drain.minWorkLeftS', c.drain.minWorkLeftS, 0, 1e6);
  int('deadObservers', c.deadObservers, 0, SIM_NODES_MAX);
  num('deadPollMs', c.deadPollMs, 1, 3_600_000);
  num('alarmWindowMs', c.alarmWindowMs, 1, 3_600_000);
  const k = c.cooling;
  num('cooling.failuresPerH', k.failuresPerH, 0, 1000);
  int('cooling.racksMax', k.racksMax, 1, c.racks);
  num('cooling.riseMinC', k.riseMinC, 0, 40);
  num('cooling.riseMaxC', k.riseMaxC, k.riseMinC, 40);
  num('cooling.holdMinS', k.holdMinS, 0, SIM_DURATION_S_MAX);
  num('cooling.holdMaxS', k.holdMaxS, k.holdMinS, SIM_DURATION_S_MAX);
  num('cooling.rampS', k.rampS, 0, 3600);
  // With the largest event on the far rack, the supply offset stays within the thermal model's ±50 °C.
  num('cooling.rowGradientC', k.rowGradientC, 0, 10);
  int('alarms', c.alarms, 0, 1000);
  int('maxJobsPerNode', c.maxJobsPerNode, 1, 4096);
  int('maxQueue', c.maxQueue, 1, 10_000_000);
  int('samples', c.samples, 2, 10_000);
  int('heatMapRows', c.heatMapRows, 1, 10_000);
  // The simulator's big tables, bounded so that a config fails here rather than as an
  // out-of-memory crash mid-run: a job slot per node × maxJobsPerNode, and the heat map's cells.
  if (c.nodes * c.maxJobsPerNode + c.maxQueue > SIM_JOB_SLOTS_MAX) throw new MaxwellError(ErrorCode.SIM_LIMIT, `nodes × maxJobsPerNode + maxQueue (${c.nodes} × ${c.maxJobsPerNode} + ${c.maxQueue}) must be at most ${SIM_JOB_SLOTS_MAX}`);
  if (c.samples * c.heatMapRows > SIM_HEAT_MAP_CELLS_MAX) throw new MaxwellError(ErrorCode.SIM_LIMIT, `samples × heatMapRows (${c.samples} × ${c.heatMapRows}) must be at most ${SIM_HEAT_MAP_CELLS_MAX}`);
  num('drain.ratio', c.drain.ratio, 1, 100);
  num('dispatcher.loadTauS', c.dispatcher.loadTauS, 0.001, 1e6);
  num('dispatcher.blockS', c.dispatcher.blockS, 0, 1e6);
  num('dispatcher.suspectPenaltyTokensPerJ', c.dispatcher.suspectPenaltyTokensPerJ, 0, 1e12);
  return c;
}
