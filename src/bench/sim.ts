/**
 * `maxwell bench sim`: the simulator (src/sim) with every policy on the same seed and the same
 * workload, side by side in one run, and the issue's goals checked against fair-share (the
 * baseline: no prices, no heat awareness, no gossip):
 *
 *  - peak temperature at least 3 °C lower;
 *  - throttled node-seconds at least 50% fewer;
 *  - information gain per joule at least 20% higher;
 *  - throughput within 5% (at least 95% of fair-share's);
 *  - an alarm reaches 99% of the nodes in under 2 s (simulated) at 1% loss;
 *  - at most 1 kB/s of protocol traffic per node;
 *  - a false "dead" verdict on a live (possibly slow) node rarer than once per node-hour;
 *  - 1,000 nodes × 1 simulated hour in at most 60 s of wall time (the slowest policy's run).
 *
 * Every figure but the wall time is estimated by the simulation (a model of heat and power,
 * not a measurement); the wall time is measured.
 */
import { machineInfo } from '../energy/calibration.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultRacks, POLICIES, plots, simulate, type SimConfig, type SimSummary } from '../sim/index.js';
import { coolingLine } from '../sim/report.js';

export interface Goal {
  target: string;
  measured: number | null;
  met: boolean | null;
}

/** One scenario's run of every policy, with the goals checked against fair-share. */
export interface SimScenarioResult extends SimSummary {
  scenario: string;
  goals: Record<string, Goal>;
}

/**
 * The result: the uniform room at the top level (the issue's comparison), and the same room
 * with its cooling failures and row gradient (the default scenario of `maxwell sim`) under
 * `cooling_failures`: a room where placement has somewhere better to send work.
 */
export interface SimBench extends SimScenarioResult {
  suite: 'sim';
  machine: { node: string; cpu: string; cores: number };
  cooling_failures: SimScenarioResult;
}

/** The two scenarios: the cooling settings each overrides (the rest is DEFAULT_SIM_CONFIG). */
export const BENCH_SCENARIOS: Readonly<Record<string, Partial<SimConfig>>> = {
  // Only the two settings: simConfig fills in the rest (racksMax fitted to the room).
  'uniform room': { cooling: { failuresPerH: 0, rowGradientC: 0 } as SimConfig['cooling'] },
  'cooling failures': {},
};

export interface SimBenchOptions {
  quick?: boolean;
  log?: (s: string) => void;
  nodes?: number;
  /** Simulated seconds (default 3600). */
  seconds?: number;
  seed?: number;
  /** Write each policy's plots into plotsDir/<policy>/. */
  plotsDir?: string;
}

export async function benchSim(o: SimBenchOptions = {}): Promise<SimBench> {
  const log = o.log ?? (() => {});
  const nodes = o.nodes ?? (o.quick ? 200 : 1000);
  const racks = defaultRacks(nodes);
  const durationS = o.seconds ?? (o.quick ? 600 : 3600);
  const results: SimScenarioResult[] = [];
  for (const [scenario, partial] of Object.entries(BENCH_SCENARIOS)) {
    let lastPct = -1;
    const { summary, runs } = simulate({ nodes, racks, durationS, seed: o.seed ?? 1, ...partial }, POLICIES, {
      onProgress: (policy, done, total) => {
        const pct = Math.floor((100 * done) / total);
        if (pct % 10 === 0 && pct !== lastPct) log(`sim ${scenario}, ${policy}: ${pct}%\n`);
        lastPct = pct;
      },
    });
    if (o.plotsDir !== undefined) {
      for (const run of runs) {
        const dir = join(o.plotsDir, scenario.replace(/ /g, '-'), run.config.policy);
        await mkdir(dir, { recursive: true });
        for (const [name, text] of plots(run)) await writeFile(join(dir, name), text);
      }
      log(`plots written under ${o.plotsDir}\n`);
    }
    results.push({ scenario, ...summary, goals: evaluateGoals(summary) });
  }
  return { suite: 'sim', machine: machineInfo(), ...results[0]!, cooling_failures: results[1]! };
}

export function evaluateGoals(s: SimSummary): Record<string, Goal> {
  const by = (name: string) => s.policies.find((p) => p.name === name);
  const mx = by('maxwell');
  const fair = by('fair-share');
  const goal = (target: string, measured: number | null | undefined, ok: (x: number) => boolean): Goal => ({
    target,
    measured: measured ?? null,
    met: measured === null || measured === undefined || !Number.isFinite(measured) ? null : ok(measured),
  });
  const both = mx !== undefined && fair !== undefined;
  return {
    peak_temp_lower_c: goal('≥ 3 °C below fair-share', both ? fair.peak_temp_c - mx.peak_temp_c : null, (x) => x >= 3),
    // With fair-share never throttled there is no percentage: met only if maxwell never is either.
    throttled_fewer_pct: both && fair.throttled_node_s === 0
      ? { target: '≥ 50% fewer throttled node-s than fair-share (fair-share: none)', measured: null, met: mx.throttled_node_s === 0 }
      : goal('≥ 50% fewer throttled node-s than fair-share', both ? 100 * (1 - mx.throttled_node_s / fair.throttled_node_s) : null, (x) => x >= 50),
    ig_per_j_higher_pct: goal('≥ 20% more bits/J than fair-share', both ? 100 * (mx.ig_per_j / fair.ig_per_j - 1) : null, (x) => x >= 20),
    throughput_ratio: goal('≥ 0.95 × fair-share (within 5%)', both ? mx.throughput / fair.throughput : null, (x) => x >= 0.95),
    alarm_p99_s: goal('< 2 s to 99% of nodes at 1% loss', s.alarm_p99_s, (x) => x < 2),
    bandwidth_bytes_per_node_s: goal('≤ 1,000 B/s per node', s.bandwidth_bytes_per_node_s, (x) => x <= 1000),
    false_dead_per_node_h: goal('< 1 per node-hour', s.false_dead_per_node_h, (x) => x < 1),
    // The goal is for 1,000 nodes × 1 h; another size's wall time is reported, not judged.
    wall_s: s.nodes === 1000 && s.duration_s === 3600
      ? goal('≤ 60 s for 1,000 nodes × 1 h (the slowest policy)', s.wall_s, (x) => x <= 60)
      : { target: `≤ 60 s, judged only for 1,000 nodes × 1 h; this run is ${s.nodes} × ${s.duration_s} s`, measured: s.wall_s, met: null },
  };
}

export function formatSim(r: SimBench): string {
  return [
    `maxwell bench sim — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}`,
    '',
    formatScenario(r),
    '',
    formatScenario(r.cooling_failures),
  ].join('\n');
}

function formatScenario(r: SimScenarioResult): string {
  const lines = [
    `scenario: ${r.scenario} — ${r.nodes} nodes in ${r.racks} racks, ${r.duration_s} s simulated, seed ${r.seed}, ${r.loss * 100}% loss; every figure but wall time is estimated by the simulation`,
    '',
    'policy        peak °C  throttled node-s   bits/J     jobs/s   kWh     looper kWh  migrations  wall s',
  ];
  for (const p of r.policies) {
    lines.push(`${p.name.padEnd(12)} ${p.peak_temp_c.toFixed(2).padStart(8)} ${p.throttled_node_s.toFixed(0).padStart(17)} ${p.ig_per_j.toPrecision(4).padStart(9)} ${p.throughput.toFixed(3).padStart(9)} ${(p.energy_j / 3.6e6).toFixed(1).padStart(7)} ${(p.looper_energy_j / 3.6e6).toFixed(1).padStart(12)} ${String(p.migrations).padStart(11)} ${((r.timing[p.name]?.wall_ms ?? 0) / 1000).toFixed(1).padStart(7)}`);
  }
  lines.push('');
  for (const p of r.policies) lines.push(`cooling failures, ${p.name}: ${coolingLine(p)}`);
  lines.push('');
  lines.push(`alarm to 99% of nodes: ${r.alarm_p99_s === null ? 'not within the window' : `${r.alarm_p99_s} s`} (worst of ${r.alarm_trials.length}: ${r.alarm_trials.map((t) => t.p99_s ?? '–').join(', ')} s)`);
  lines.push(`gossip: ${r.bandwidth_bytes_per_node_s?.toFixed(0)} B/s per node (busiest ${r.bandwidth_bytes_per_node_s_max?.toFixed(0)}), ${r.messages_per_node_s?.toFixed(1)} messages/s per node`);
  lines.push(`false "dead" verdicts: ${r.false_dead_per_node_h} per node-hour (${r.false_dead_verdicts}, ${r.false_dead_on_slow_nodes} of them on slow nodes, over ${r.watched_node_h} node-h watched; true ones: ${r.true_dead_verdicts})`);
  const t = r.timing.maxwell;
  if (t !== undefined) {
    lines.push(`where maxwell's time went (ms): physics ${t.physics_ms}, scheduling ${t.schedule_ms}, heat observe+price ${t.heat_observe_and_price_ms}, gossip events ${t.gossip_events_ms}, placement+drain ${t.placement_and_drain_ms}, dispatcher view poll ${t.dispatcher_view_poll_ms}, metrics ${t.metrics_ms}, setup ${t.setup_ms}`);
    lines.push(`  of which Ed25519: ${t.signs} signs ${t.sign_ms} ms, ${t.verifies} verifies ${t.verify_ms} ms, ${t.verify_cache_hits} cache hits; ${t.events} events`);
  }
  lines.push('', 'goals (maxwell against fair-share):');
  for (const [name, g] of Object.entries(r.goals)) {
    const verdict = g.met === null ? (g.measured === null ? 'not measured' : 'not judged') : g.met ? 'met' : 'NOT MET';
    lines.push(`  ${name.padEnd(28)} ${g.measured === null ? '-' : g.measured.toPrecision(3).padStart(8)}  (goal ${g.target})  ${verdict}`);
  }
  return lines.join('\n');
}
