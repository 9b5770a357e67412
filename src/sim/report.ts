/**
 * What a simulation reports: the JSON summary (one shape for `maxwell sim --json` and
 * `maxwell bench sim --json`) and the SVG plots.
 *
 * The summary's deterministic part is everything but `wall_s` and `timing`: the same seed and
 * configuration give the same bytes. Figures are rounded to 6 significant digits, which hides
 * nothing a reader needs and keeps the file readable.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_THERMAL_PARAMS } from '../thermal/model.js';
import type { RunResult } from './engine.js';
import { heatMap, lineChart } from './svg.js';

export interface PolicyEntry {
  name: string;
  peak_temp_c: number;
  throttled_node_s: number;
  /** Bits of information gain per joule the cluster drew (idle, work and migrations). */
  ig_per_j: number;
  /** Inference jobs completed per second. */
  throughput: number;
  mean_peak_temp_c: number;
  mean_temp_c: number;
  energy_j: number;
  ig_bits: number;
  jobs_completed: number;
  jobs_arrived: number;
  useful_work_core_s: number;
  infer_energy_j: number;
  looper_energy_j: number;
  loopers_arrived: number;
  loopers_ran: number;
  migrations: number;
  migration_energy_j: number;
  capped_node_s: number;
  restarted_by_failure: number;
  refused: number;
  /** Loopers whose deadline passed while they waited for a node. */
  loopers_expired_in_queue: number;
  queue_max: number;
  mean_sojourn_s: number;
  node_failures: number;
  /** Jobs the dispatcher sent to a node that refused them (down, or full): sent on elsewhere. */
  placements_bounced: number;
  /** Cooling failures in the run (the scenario's: the same for every policy). */
  cooling_events: number;
  /** Node-seconds on racks under a cooling failure, and of them throttled. */
  event_node_s: number;
  event_throttled_node_s: number;
  /** During failures, per live node: arrivals placed (busy cores) on a hit rack ÷ on the others; 1 = blind. Null without failures. */
  event_arrivals_ratio: number | null;
  event_busy_ratio: number | null;
}

export interface SimSummary {
  seed: number;
  nodes: number;
  racks: number;
  duration_s: number;
  loss: number;
  policies: PolicyEntry[];
  /** The slowest alarm's time to reach 99% of the live nodes (s); null if one never did within the window. */
  alarm_p99_s: number | null;
  alarm_trials: { node: number; at_s: number; p50_s: number | null; p99_s: number | null; reached: number; of: number }[];
  bandwidth_bytes_per_node_s: number | null;
  bandwidth_bytes_per_node_s_max: number | null;
  messages_per_node_s: number | null;
  /** maxwell's dispatcher: its protocol traffic, bytes sent and received per second. */
  dispatcher_bytes_sent_per_s: number | null;
  dispatcher_bytes_received_per_s: number | null;
  false_dead_per_node_h: number | null;
  false_dead_verdicts: number | null;
  false_dead_on_slow_nodes: number | null;
  watched_node_h: number | null;
  true_dead_verdicts: number | null;
  network: Record<string, number> | null;
  rejected: Record<string, number> | null;
  /**
   * Outside the deterministic part: the wall time of the slowest single run (one policy: N
   * nodes × the duration, the speed goal's unit), and per run where the time went
   * (`timing.total.wall_ms` is the whole command's).
   */
  wall_s: number;
  timing: Record<string, Record<string, number>>;
}

/** 6 significant digits (integers as they are). */
export function sig(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}

export function policyEntry(r: RunResult): PolicyEntry {
  const m = r.metrics;
  const d = r.config.durationS;
  return {
    name: m.policy,
    peak_temp_c: sig(m.peakTempC),
    throttled_node_s: sig(m.throttledNodeS),
    ig_per_j: sig(m.energyJ > 0 ? m.igBits / m.energyJ : 0),
    throughput: sig(m.inferCompleted / d),
    mean_peak_temp_c: sig(m.meanMaxTempC),
    mean_temp_c: sig(m.meanTempC),
    energy_j: sig(m.energyJ),
    ig_bits: sig(m.igBits),
    jobs_completed: m.inferCompleted,
    jobs_arrived: m.inferArrived,
    useful_work_core_s: sig(m.inferWorkS),
    infer_energy_j: sig(m.inferEnergyJ),
    looper_energy_j: sig(m.looperEnergyJ),
    loopers_arrived: m.loopersArrived,
    loopers_ran: m.loopersRan,
    migrations: m.migrations,
    migration_energy_j: sig(m.migrationEnergyJ),
    capped_node_s: sig(m.cappedNodeS),
    restarted_by_failure: m.restartedByFailure,
    refused: m.refused,
    loopers_expired_in_queue: m.loopersExpiredQueued,
    queue_max: m.queueMax,
    mean_sojourn_s: sig(m.meanSojournS),
    node_failures: m.failures,
    placements_bounced: m.bounced,
    cooling_events: m.coolingEvents,
    event_node_s: sig(m.eventNodeS),
    event_throttled_node_s: sig(m.eventThrottledNodeS),
    event_arrivals_ratio: Number.isFinite(m.eventArrivalsRatio) ? sig(m.eventArrivalsRatio) : null,
    event_busy_ratio: Number.isFinite(m.eventBusyRatio) ? sig(m.eventBusyRatio) : null,
  };
}

function timingEntry(r: RunResult): Record<string, number> {
  const t = r.timing;
  const ms = (x: number) => Math.round(x);
  return {
    wall_ms: ms(t.wallMs),
    setup_ms: ms(t.setupMs),
    physics_ms: ms(t.physicsMs),
    schedule_ms: ms(t.scheduleMs),
    heat_observe_and_price_ms: ms(t.heatObserveMs),
    gossip_events_ms: ms(t.eventsMs),
    placement_and_drain_ms: ms(t.placementMs),
    dispatcher_view_poll_ms: ms(t.viewPollMs),
    metrics_ms: ms(t.metricsMs),
    signs: t.signs,
    sign_ms: ms(t.signMs),
    verifies: t.verifies,
    verify_ms: ms(t.verifyMs),
    verify_cache_hits: t.verifyCacheHits,
    events: t.events,
    events_pending_max: t.eventsHighWater,
  };
}

/** The summary of runs with one seed and workload; the gossip figures come from the run that gossiped (maxwell). */
export function summarise(runs: RunResult[], totalWallS: number): SimSummary {
  const first = runs[0]!;
  const g = runs.find((r) => r.gossip !== null)?.gossip ?? null;
  let alarm: number | null = null;
  if (g !== null && g.alarmTrials.length > 0) {
    alarm = g.alarmTrials.some((t) => t.p99S === null) ? null : sig(Math.max(...g.alarmTrials.map((t) => t.p99S!)));
  }
  const timing: Record<string, Record<string, number>> = {};
  for (const r of runs) timing[r.metrics.policy] = timingEntry(r);
  timing.total = { wall_ms: Math.round(totalWallS * 1000) };
  return {
    seed: first.config.seed,
    nodes: first.config.nodes,
    racks: first.config.racks,
    duration_s: first.config.durationS,
    loss: first.config.network.loss,
    policies: runs.map(policyEntry),
    alarm_p99_s: alarm,
    alarm_trials: g === null ? [] : g.alarmTrials.map((t) => ({ node: t.node, at_s: sig(t.atS), p50_s: t.p50S === null ? null : sig(t.p50S), p99_s: t.p99S === null ? null : sig(t.p99S), reached: t.reached, of: t.of })),
    bandwidth_bytes_per_node_s: g === null ? null : sig(g.bytesSentPerNodeS),
    bandwidth_bytes_per_node_s_max: g === null ? null : sig(g.bytesSentPerNodeSMax),
    messages_per_node_s: g === null ? null : sig(g.messagesPerNodeS),
    dispatcher_bytes_sent_per_s: g === null ? null : sig(g.dispatcherBytesSentPerS),
    dispatcher_bytes_received_per_s: g === null ? null : sig(g.dispatcherBytesReceivedPerS),
    false_dead_per_node_h: g === null ? null : sig(g.falseDeadPerNodeH),
    false_dead_verdicts: g === null ? null : sig(g.falseDeadVerdicts),
    false_dead_on_slow_nodes: g === null ? null : g.falseDeadOnSlowNodes,
    watched_node_h: g === null ? null : sig(g.watchedNodeH),
    true_dead_verdicts: g === null ? null : sig(g.trueDeadVerdicts),
    network: g === null ? null : { ...g.network },
    rejected: g === null ? null : { ...g.rejected },
    wall_s: sig(Math.max(...runs.map((r) => r.timing.wallMs)) / 1000),
    timing,
  };
}

/** The summary without what varies from run to run (wall time, timing): what a seed determines. */
export function deterministicPart(s: SimSummary): Omit<SimSummary, 'wall_s' | 'timing'> {
  const { wall_s: _w, timing: _t, ...rest } = s;
  return rest;
}

/**
 * Writes summary.json (the deterministic part: the same seed gives the same file, byte for
 * byte), timing.json (wall time and where it went: measured, so never the same twice) and the
 * plots of one run into `dir`; returns the files written.
 */
export async function writeReport(dir: string, summary: SimSummary, run: RunResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['summary.json', `${JSON.stringify(deterministicPart(summary), null, 2)}\n`],
    ['timing.json', `${JSON.stringify({ wall_s: summary.wall_s, timing: summary.timing }, null, 2)}\n`],
    ...plots(run),
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

/** The SVG plots of one run: [file name, SVG text]. */
export function plots(run: RunResult): [string, string][] {
  const s = run.samples;
  const c = run.config;
  const cols = s.tS.length;
  const tMin = Float64Array.from(s.tS, (t) => t / 60);
  const label = `${c.policy}, ${c.nodes} nodes in ${c.racks} racks, seed ${c.seed}`;
  const xEdges = new Float64Array(cols + 1);
  for (let k = 0; k < cols; k++) xEdges[k + 1] = tMin[k]!;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s.heat) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const tMax = c.thermal.tMaxC ?? DEFAULT_THERMAL_PARAMS.tMaxC;
  const nodesPerRack = c.nodes / c.racks;
  const step = Math.max(1, Math.ceil(c.racks / 40));
  const groups: { row: number; label: string }[] = [];
  for (let r = 0; r < c.racks; r += step) groups.push({ row: s.rackRow[r]!, label: `rack ${r}` });
  const out: [string, string][] = [];
  out.push(['temperature.svg', heatMap({
    title: `Node temperature over time (each rack a band, its top node at the top) — ${label}`,
    values: s.heat,
    rows: s.heatRows,
    cols,
    xEdges,
    xLabel: 'time (min)',
    yLabel: `nodes by rack (${nodesPerRack} per rack${s.heatRows < c.nodes ? `, ${Math.ceil(c.nodes / s.heatRows)} per row` : ''})`,
    groups,
    min: Math.floor(Math.min(lo, tMax - 15)),
    max: Math.ceil(Math.max(hi, tMax + 2)),
    unit: '°C',
    markAt: { value: tMax, label: 'tMax' },
  })]);
  out.push(['prices.svg', lineChart({
    title: `Prices per node (tokens/J) — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'price (tokens/J)',
    series: [
      { name: 'median', xs: tMin, ys: s.priceP50, color: '#000', width: 2 },
      { name: 'max', xs: tMin, ys: s.priceMax, color: '#d62728', dash: true },
      ...s.tracked.map((t) => ({ name: `node ${t.node} (${t.label})`, xs: tMin, ys: t.price })),
    ],
    bands: [{ xs: tMin, lo: s.priceP10, hi: s.priceP90, color: '#1f77b4', name: 'p10–p90' }],
    ...(Number.isFinite(s.priceP50[0] ?? NaN) ? {} : { yMin: 0, yMax: 2, title: `Prices per node — ${label}: this policy sets no prices` }),
  })]);
  out.push(['power.svg', lineChart({
    title: `Cluster power — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'power (kW)',
    series: [
      { name: 'drawn', xs: tMin, ys: Float64Array.from(s.powerW, (p) => p / 1000), width: 2 },
      { name: 'sum of caps (live nodes)', xs: tMin, ys: Float64Array.from(s.capW, (p) => p / 1000), dash: true, color: '#555' },
    ],
  })]);
  out.push(['throughput.svg', lineChart({
    title: `Throughput: inference jobs completed — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'jobs per second',
    series: [{ name: 'jobs/s', xs: tMin, ys: s.throughput, width: 2 }],
    yMin: 0,
  })]);
  out.push(['ig-per-joule.svg', lineChart({
    title: `Information gain per joule (cumulative) — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'bits per joule',
    series: [{ name: 'bits/J', xs: tMin, ys: s.igPerJ, width: 2 }],
    yMin: 0,
  })]);
  out.push(['throttled.svg', lineChart({
    title: `Throttling — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'node-seconds (cumulative) / nodes',
    series: [
      { name: 'throttled node-s (cumulative)', xs: tMin, ys: s.throttledNodeS, width: 2 },
      { name: 'nodes throttled now', xs: tMin, ys: s.throttledNodes, color: '#d62728' },
    ],
    yMin: 0,
  })]);
  out.push(['hottest.svg', lineChart({
    title: `Hottest node and tracked nodes (°C) — ${label}`,
    xLabel: 'time (min)',
    yLabel: 'temperature (°C)',
    series: [
      { name: 'hottest node', xs: tMin, ys: s.maxTempC, color: '#000', width: 2 },
      ...s.tracked.map((t) => ({ name: `node ${t.node} (${t.label})`, xs: tMin, ys: t.tempC })),
    ],
    hLines: [{ y: tMax, label: `tMax ${tMax} °C`, color: '#d62728' }],
  })]);
  return out;
}

/** The cooling failures and where the heat and the work went during them. */
export function coolingLine(p: PolicyEntry): string {
  if (p.cooling_events === 0) return 'none';
  const head = `${p.cooling_events}: ${p.event_node_s.toFixed(0)} node-s on hit racks, ${p.event_throttled_node_s.toFixed(0)} of them throttled`;
  // No ratio when no rack was left unhit to compare with (a one-rack room, or every rack hit).
  if (p.event_arrivals_ratio === null || p.event_busy_ratio === null) return `${head}; no unhit rack to compare with`;
  return `${head}; per node there, ${p.event_arrivals_ratio.toFixed(2)} × the arrivals and ${p.event_busy_ratio.toFixed(2)} × the busy cores of a node elsewhere`;
}
