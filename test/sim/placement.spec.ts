// Placement by price: on a tiny cluster, one node is held hot from the fifth minute on (its
// temperature forced above the protocol's hotC, as a broken fan would). Under maxwell its price
// rises with its own heat: its running work drains away within a minute and new work goes
// elsewhere. Under fair-share, which does not look at heat, it keeps its share. "Work" is busy
// cores (what heats a node); a looper that cannot pay the hot node's price may still wait there,
// idle, until its deadline.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, type PolicyName, type SimConfig, type Simulator } from '../../src/sim/index.js';

const HOT = 5;
const config: Partial<SimConfig> = {
  nodes: 8, racks: 2, durationS: 600, seed: 3, alarms: 0,
  failures: { mtbfH: 0, repairS: 600 }, slow: { fraction: 0, ms: 0 },
  workload: { inferLoad: 0.5, looperLoad: 0.1, inferWorkMeanS: 120, looperLifeS: 300, looperDeadlineS: 600, swing: 0, periodS: 1800, burstFactor: 1 },
};

function watch(policy: PolicyName) {
  const jobs: Record<number, number> = {};
  let hotLater = 0;
  let othersLater = 0;
  const after = (sim: Simulator, nowMs: number) => {
    if (nowMs > 300_000) sim.forceTemp(HOT, 91);
    if (nowMs % 30_000 === 0) jobs[nowMs / 1000] = sim.busyAt(HOT);
    if (nowMs > 360_000) {
      for (let i = 0; i < 8; i++) {
        if (i === HOT) hotLater += sim.busyAt(i);
        else othersLater += sim.busyAt(i) / 7;
      }
    }
  };
  const { summary } = simulate(config, [policy], { afterStep: after });
  return { jobs, hotLater, othersLater, migrations: summary.policies[0]!.migrations };
}

it('under maxwell the hot node sheds its work; under fair-share it keeps its share', () => {
  const mx = watch('maxwell');
  const fair = watch('fair-share');
  assert.ok(mx.jobs[300]! >= 4, `maxwell: the node had work before it got hot (${mx.jobs[300]} busy cores)`);
  assert.ok(mx.jobs[390]! <= 1, `maxwell: a minute and a half later, ${mx.jobs[390]} busy cores left on it`);
  assert.ok(mx.migrations > 0, 'running work moved, not only new work placed elsewhere');
  assert.ok(mx.hotLater < 0.1 * mx.othersLater, `maxwell: hot node ${mx.hotLater} core-steps, an average other ${mx.othersLater}`);
  assert.ok(fair.jobs[360]! >= 0.5 * fair.jobs[300]!, `fair-share: ${fair.jobs[300]} → ${fair.jobs[360]} busy cores`);
  assert.ok(fair.hotLater > 0.75 * fair.othersLater, `fair-share: hot node ${fair.hotLater} core-steps, an average other ${fair.othersLater}`);
  assert.equal(fair.migrations, 0);
});
