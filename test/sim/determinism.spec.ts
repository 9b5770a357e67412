// The simulator is deterministic for a seed: the same seed and configuration give the same
// summary, byte for byte (wall time and timing aside, which the summary keeps apart), and the
// same plots; another seed gives another run.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicPart, plots, simulate, type SimConfig } from '../../src/sim/index.js';

const small: Partial<SimConfig> = { nodes: 40, racks: 4, durationS: 240, alarms: 2, failures: { mtbfH: 2, repairS: 60 }, slow: { fraction: 0.1, ms: 100 },
  // Cooling failures often enough that a 4-minute run has some: they replay too.
  cooling: { failuresPerH: 60, racksMax: 2, riseMinC: 8, riseMaxC: 12, holdMinS: 60, holdMaxS: 120, rampS: 30, rowGradientC: 2 } };

function once(seed: number) {
  const { summary, runs } = simulate({ ...small, seed }, ['maxwell', 'fair-share']);
  return { json: JSON.stringify(deterministicPart(summary)), svgs: runs.flatMap((r) => plots(r).map(([, text]) => text)), summary };
}

it('the same seed gives the same JSON and the same plots, byte for byte', () => {
  const a = once(7);
  const b = once(7);
  assert.equal(a.json, b.json);
  assert.deepEqual(a.svgs, b.svgs);
  // The run did something worth comparing: gossip, jobs, failures.
  const s = a.summary;
  assert.ok(s.bandwidth_bytes_per_node_s! > 0);
  assert.ok(s.policies.every((p) => p.jobs_completed > 0));
  assert.ok(s.policies[0]!.node_failures > 0, 'failures happened');
  assert.ok(s.alarm_trials.length === 2);
  assert.ok(s.policies.every((p) => p.cooling_events > 0 && p.event_node_s > 0), 'cooling failures happened');
  assert.ok('wall_s' in s && 'timing' in s && !a.json.includes('wall_s') && !a.json.includes('timing'));
});

it('another seed gives another run', () => {
  assert.notEqual(once(7).json, once(8).json);
});
