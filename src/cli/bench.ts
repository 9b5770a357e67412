/**
 * `maxwell bench <suite>`: benchmarks. Each compares against a baseline measured in the same
 * run and reports the ratio; `--out` writes the result with the machine it ran on, for
 * bench/results/.
 */
import { parseArgs } from 'node:util';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, MaxwellError } from '../errors.js';
import { positiveInteger, positiveNumber, usage } from './args.js';

export const summary = 'run a benchmark suite (runtime, market, ledger, kernel, proof, sim) and report figures against a baseline from the same run';

const HELP = `usage: maxwell bench <suite> [--json] [--out FILE] [--quick] [--processes N] [--seconds S]
                     [--nodes N] [--seed S] [--plots DIR]

suites:
  runtime   metering overhead (metered ÷ unmetered wall time) on CPU-bound kernels, energy
            fidelity across kernels and agents, process switch time, spawn time, and the RSS
            of 1,000 live processes
  market    ns per slot decision of the auction heap at 10^3..10^6 standing bids, against a
            binary-heap auction, sort-every-round and the lottery, with per-bid update costs
            and the market's CPU overhead at 1 ms slots
  ledger    sustained charges per second with an epoch every 100 ms, each durable, against
            one commit per charge; epoch commit time; ledger verify speed
  kernel    a real node with N live loopers for S seconds: the kernel's share of the CPU,
            money and energy conservation, and the wait of a raised bid for its slot
            (--processes N, default 1000; --seconds S, default 60)
  proof     checking inference: Freivalds' check against recomputing by batch size, a claim
            verified end to end, spot-check odds, and Groth16 (verify time with a cached
            curve, proof size, constraints per MAC and per ReLU, proving speed, a 784-56-10
            MLP; the first run generates its setup under .maxwell/proof, which takes minutes)
  sim       the datacenter simulator with every policy (maxwell, no-gossip, fair-share,
            round-robin) on one seed and one workload, side by side: peak temperature,
            throttled node-seconds, information gain per joule, throughput, alarm spread, gossip
            bandwidth, false "dead" verdicts, wall time; goals against fair-share
            (--nodes N, default 1000; --seconds S simulated, default 3600; --seed S, default 1;
            --quick: 200 nodes for 600 s; --plots DIR: each policy's plots in DIR/<policy>/)

  --json        print the result as JSON
  --out FILE    also write the JSON to FILE (commit it under bench/results/)
  --quick       fewer repetitions (for a smoke test; figures are noisier)`;

interface Suite {
  bench(o: { quick: boolean; log: (s: string) => void; processes?: number; seconds?: number; nodes?: number; seed?: number; plotsDir?: string }): Promise<unknown>;
  format(r: unknown): string;
}

/** Each suite: its runner and its text report, loaded only when asked for. */
const SUITES: Record<string, () => Promise<Suite>> = {
  runtime: async () => {
    const m = await import('../bench/runtime.js');
    return { bench: (o) => m.benchRuntime(o), format: (r) => m.formatRuntime(r as Awaited<ReturnType<typeof m.benchRuntime>>) };
  },
  market: async () => {
    const m = await import('../bench/market.js');
    return { bench: (o) => m.benchMarket(o), format: (r) => m.formatMarket(r as Awaited<ReturnType<typeof m.benchMarket>>) };
  },
  ledger: async () => {
    const m = await import('../bench/ledger.js');
    return { bench: (o) => m.benchLedger(o), format: (r) => m.formatLedger(r as Awaited<ReturnType<typeof m.benchLedger>>) };
  },
  kernel: async () => {
    const m = await import('../bench/kernel.js');
    return { bench: (o) => m.benchKernel(o), format: (r) => m.formatKernel(r as Awaited<ReturnType<typeof m.benchKernel>>) };
  },
  proof: async () => {
    const m = await import('../bench/proof.js');
    return { bench: (o) => m.benchProof(o), format: (r) => m.formatProof(r as Awaited<ReturnType<typeof m.benchProof>>) };
  },
  sim: async () => {
    const m = await import('../bench/sim.js');
    return { bench: (o) => m.benchSim(o), format: (r) => m.formatSim(r as Awaited<ReturnType<typeof m.benchSim>>) };
  },
};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = usage(() => parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      processes: { type: 'string' },
      seconds: { type: 'string' },
      nodes: { type: 'string' },
      seed: { type: 'string' },
      plots: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [suite] = positionals;
  const load = suite === undefined ? undefined : SUITES[suite];
  if (load === undefined) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, suite === undefined ? `missing suite\n\n${HELP}` : `unknown suite '${suite}'\n\n${HELP}`);
  }
  const { bench, format } = await load();
  const sized = {
    ...(values.processes === undefined ? {} : { processes: positiveInteger('processes', values.processes, 1000) }),
    ...(values.seconds === undefined ? {} : { seconds: positiveNumber('seconds', values.seconds, 60) }),
    ...(values.nodes === undefined ? {} : { nodes: positiveInteger('nodes', values.nodes, 1000) }),
    ...(values.seed === undefined ? {} : { seed: (await import('./sim.js')).parseSeed(values.seed) }),
    ...(values.plots === undefined ? {} : { plotsDir: values.plots }),
  };
  if ((values.nodes !== undefined || values.seed !== undefined || values.plots !== undefined) && suite !== 'sim') {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, '--nodes, --seed and --plots are options of the sim suite only');
  }
  const result = await bench({ quick: values.quick, log: values.json ? () => {} : (s: string) => process.stderr.write(s), ...sized });
  if (!values.json) console.log(format(result));
  if (values.json) console.log(JSON.stringify(result, null, 2));
  if (values.out !== undefined) {
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  }
  return 0;
}
