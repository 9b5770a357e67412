/**
 * `maxwell sim`: the seeded datacenter simulator (src/sim, docs/heat-sim.md). One policy per
 * run; `maxwell bench sim` runs all of them side by side on one workload.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, MaxwellError } from '../errors.js';
import { positiveInteger, usage } from './args.js';
import { DEFAULT_SIM_CONFIG, defaultRacks, POLICIES, simulate, writeReport, type PolicyName } from '../sim/index.js';
import { coolingLine } from '../sim/report.js';

export const summary = 'simulate a datacenter (racks, heat, gossip, failures) under a placement policy; JSON summary and SVG plots';

const HELP = `usage: maxwell sim [--nodes N] [--racks R] [--duration D] [--policy P] [--seed S] [--loss F]
                   [--json] [--out DIR]

Simulates N nodes in R racks for D of simulated time, deterministically for the seed: the real
thermal model (each node's heat and its neighbours' recirculated exhaust, throttling above
tMax), the real heat gossip (every node a HeatNode with its own Ed25519 key, messages with
latency and loss), the real auction heap and power-cap controller, a workload of inference jobs
(each with an information-gain value) and useless loopers, slow nodes and node failures.

options:
  --nodes N       nodes (default 1000; a multiple of --racks; at most 2000 under maxwell,
                  whose every node holds a claim of every other)
  --racks R       racks (default 40, or the largest number below that divides N)
  --duration D    simulated time: 3600, 90s, 30m, 1h (default 1h)
  --policy P      maxwell (price from load, power cap and heat gossip; a dispatcher places on
                  the lowest price it learnt by gossip; draining), no-gossip (each node's
                  price from its own heat only; the dispatcher, hearing nothing, places
                  round-robin; no draining),
                  fair-share (fewest jobs first, cores shared equally, no heat awareness),
                  round-robin (default maxwell)
  --seed S        the seed (default 1): the same seed gives the same JSON, byte for byte
                  (wall_s and timing aside)
  --loss F        message loss, a fraction or a percentage: 0.01 or 1% (default 1%)
  --json          print the summary as JSON (the shape of \`maxwell bench sim --json\`, one policy)
  --out DIR       write DIR/summary.json (the same for the same seed, byte for byte),
                  DIR/timing.json (wall time, measured) and the plots: temperature.svg (heat
                  map of the racks over time), prices.svg, power.svg, throughput.svg,
                  ig-per-joule.svg, throttled.svg, hottest.svg
  -h, --help      this help

A progress bar goes to stderr when it is a terminal.`;

/** "3600", "90s", "30m", "1h", "1.5h" → seconds. */
export function parseDuration(raw: string | undefined, fallbackS: number): number {
  if (raw === undefined) return fallbackS;
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(raw.trim());
  if (m === null) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--duration is a time such as 3600, 90s, 30m or 1h, not '${raw}'`);
  const v = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!(v >= 1)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--duration must be at least 1 s, not '${raw}'`);
  return v;
}

/** "0.01" or "1%" → 0.01. */
export function parseLoss(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(%)?$/.exec(raw.trim());
  const v = m === null ? NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
  if (!(v >= 0 && v < 1)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--loss is a fraction in [0, 1) or a percentage below 100%, not '${raw}'`);
  return v;
}

export function parsePolicy(raw: string | undefined): PolicyName {
  if (raw === undefined) return 'maxwell';
  if (!(POLICIES as readonly string[]).includes(raw)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--policy must be one of ${POLICIES.join(', ')}, not '${raw}'`);
  return raw as PolicyName;
}

export function parseSeed(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n > 2 ** 32 - 1) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `--seed must be an integer in [0, 2^32), not '${raw}'`);
  return n;
}

/** A progress bar on stderr (a terminal only): rewritten in place. */
export function progressBar(label: string): { update: (done: number, total: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let last = -1;
  return {
    update(done, total) {
      if (!tty) return;
      const pct = Math.floor((100 * done) / total);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const full = Math.round((width * done) / total);
      const s = ((performance.now() - started) / 1000).toFixed(0);
      process.stderr.write(`\r${label} [${'#'.repeat(full)}${' '.repeat(width - full)}] ${String(pct).padStart(3)}%  ${(done / 60).toFixed(0)} of ${(total / 60).toFixed(0)} simulated min, ${s} s`);
    },
    end() {
      if (tty && last >= 0) process.stderr.write('\n');
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      racks: { type: 'string' },
      duration: { type: 'string' },
      policy: { type: 'string' },
      seed: { type: 'string' },
      loss: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `unexpected argument '${positionals[0]}' (maxwell sim --help)`);
  const nodes = positiveInteger('nodes', values.nodes, 1000);
  const racks = positiveInteger('racks', values.racks, defaultRacks(nodes));
  const policy = parsePolicy(values.policy);
  const partial = {
    nodes,
    racks,
    durationS: parseDuration(values.duration, 3600),
    policy,
    seed: parseSeed(values.seed),
    network: { ...DEFAULT_SIM_CONFIG.network, loss: parseLoss(values.loss, DEFAULT_SIM_CONFIG.network.loss) },
  };
  const bar = progressBar(`maxwell sim ${policy}`);
  const { summary: s, runs } = simulate(partial, [policy], { onProgress: (_p, d, t) => bar.update(d, t) });
  bar.end();
  if (values.out !== undefined) {
    const files = await writeReport(values.out, s, runs[0]!);
    if (!values.json) console.log(`wrote ${files.join(', ')}`);
  }
  if (values.json) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  const p = s.policies[0]!;
  const lines = [
    `maxwell sim: ${s.nodes} nodes in ${s.racks} racks, ${s.duration_s} s simulated, policy ${p.name}, seed ${s.seed}, loss ${s.loss * 100}%`,
    `  peak temperature      ${p.peak_temp_c.toFixed(2)} °C (estimated: the thermal model)`,
    `  throttled             ${p.throttled_node_s.toFixed(0)} node-s`,
    `  information gain      ${p.ig_per_j.toPrecision(4)} bits/J (${p.ig_bits.toPrecision(4)} bits over ${(p.energy_j / 3.6e6).toFixed(1)} kWh)`,
    `  throughput            ${p.throughput.toFixed(3)} inference jobs/s (${p.jobs_completed} of ${p.jobs_arrived} done)`,
    `  loopers               ${p.loopers_ran} of ${p.loopers_arrived} ran, ${(p.looper_energy_j / 3.6e6).toFixed(2)} kWh`,
    `  migrations            ${p.migrations} (${(p.migration_energy_j / 1000).toFixed(1)} kJ)`,
    `  cooling failures      ${coolingLine(p)}`,
  ];
  if (s.bandwidth_bytes_per_node_s !== null) {
    lines.push(
      `  alarm to 99% of nodes ${s.alarm_p99_s === null ? 'not within the window' : `${s.alarm_p99_s.toFixed(3)} s`} (worst of ${s.alarm_trials.length})`,
      `  gossip bandwidth      ${s.bandwidth_bytes_per_node_s.toFixed(0)} B/s per node (max ${s.bandwidth_bytes_per_node_s_max!.toFixed(0)})`,
      `  false "dead"          ${s.false_dead_per_node_h!.toPrecision(3)} per node-hour (${s.false_dead_verdicts} verdicts, ${s.watched_node_h!.toFixed(1)} node-h watched)`,
    );
  }
  lines.push(`  wall time             ${s.wall_s.toFixed(1)} s`);
  console.log(lines.join('\n'));
  return 0;
}

