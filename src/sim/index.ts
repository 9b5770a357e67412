/**
 * The seeded datacenter simulator (docs/heat-sim.md): racks of nodes with the real thermal
 * model, the real heat protocol and the real market, a workload, a network with loss and
 * partitions, node failures, and four placement policies side by side.
 */
import { runSimulation, scenarioFor, type RunOptions, type RunResult } from './engine.js';
import { simConfig, type PolicyName, type SimConfig } from './config.js';
import { summarise, type SimSummary } from './report.js';

export { POLICIES, DEFAULT_SIM_CONFIG, defaultRacks, simConfig, isMarketPolicy, type PolicyName, type SimConfig } from './config.js';
export { runSimulation, Simulator, scenarioFor, DISPATCHER_ID, type RunResult, type RunOptions } from './engine.js';
export { summarise, deterministicPart, writeReport, plots, policyEntry, type SimSummary, type PolicyEntry } from './report.js';

/**
 * Runs each policy on one scenario (the same seed, the same workload, the same failures) and
 * summarises them together. `onProgress` hears (policy, simulated seconds done, total).
 */
export function simulate(partial: Partial<SimConfig>, policies: readonly PolicyName[], o: {
  onProgress?: (policy: PolicyName, doneS: number, totalS: number) => void;
  afterStep?: RunOptions['afterStep'];
} = {}): { summary: SimSummary; runs: RunResult[] } {
  const t0 = performance.now();
  const base = simConfig(partial);
  const scenario = scenarioFor(base);
  const runs: RunResult[] = [];
  for (const policy of policies) {
    const config = simConfig({ ...partial, policy });
    runs.push(runSimulation(config, {
      scenario,
      ...(o.onProgress === undefined ? {} : { onProgress: (d: number, t: number) => o.onProgress!(policy, d, t) }),
      ...(o.afterStep === undefined ? {} : { afterStep: o.afterStep }),
    }));
  }
  return { summary: summarise(runs, (performance.now() - t0) / 1000), runs };
}
