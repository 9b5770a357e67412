// The simulator's network and failure knobs do what they say, end to end: loss drops that
// fraction of the gossip, a partition drops the traffic across it only while it lasts, failures
// take nodes down and restart their jobs elsewhere.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { simConfig, simulate, type SimConfig } from '../../src/sim/index.js';

const base: Partial<SimConfig> = { nodes: 40, racks: 4, durationS: 180, seed: 5, alarms: 0, failures: { mtbfH: 0, repairS: 60 }, slow: { fraction: 0, ms: 0 } };
const net = (loss: number, partitions: SimConfig['network']['partitions'] = []) => ({ intraRackMs: 0.1, interRackMs: 0.3, jitterMs: 0.2, loss, partitions });

it('loss: the network loses that fraction of the messages sent', () => {
  for (const loss of [0, 0.05, 0.3]) {
    const { summary: s } = simulate({ ...base, network: net(loss) }, ['maxwell']);
    const n = s.network!;
    const measured = n.lostToLoss! / n.messagesSent!;
    assert.ok(n.messagesSent! > 5_000, `${n.messagesSent} messages`);
    assert.ok(Math.abs(measured - loss) < 0.01 + 4 * Math.sqrt((loss * (1 - loss)) / n.messagesSent!), `loss ${loss}: measured ${measured}`);
    assert.equal(n.lostToPartition, 0);
  }
});

it('a partition drops only cross traffic, only while it lasts', () => {
  const none = simulate({ ...base, network: net(0) }, ['maxwell']).summary.network!;
  const cut = simulate({ ...base, network: net(0, [{ startMs: 60_000, endMs: 120_000, groups: [[0, 1]] }]) }, ['maxwell']).summary.network!;
  assert.equal(none.lostToPartition, 0);
  assert.ok(cut.lostToPartition! > 0);
  // A third of the run, half the rack pairs cut both ways: well under half of all messages.
  assert.ok(cut.lostToPartition! < 0.3 * cut.messagesSent!, `${cut.lostToPartition} of ${cut.messagesSent}`);
});

it('failures take nodes down: their messages are lost, their inference jobs start again elsewhere', () => {
  const { summary: s } = simulate({ ...base, durationS: 600, failures: { mtbfH: 1, repairS: 120 } }, ['maxwell', 'fair-share']);
  for (const p of s.policies) {
    assert.ok(p.node_failures >= 3, `${p.name}: ${p.node_failures} failures`);
    assert.ok(p.restarted_by_failure > 0, `${p.name}: restarted ${p.restarted_by_failure}`);
  }
  assert.ok(s.network!.lostToDown! + s.network!.notSentDown! > 0);
  // Each failure is seen by the dead-node poll as a true verdict at least once.
  assert.ok(s.true_dead_verdicts! > 0, `true verdicts ${s.true_dead_verdicts}`);
});

it('no job is lost or made: every live job is queued or on a live node, through failures and moves', () => {
  for (const policy of ['maxwell', 'fair-share'] as const) {
    let checked = 0;
    let downSeen = 0;
    simulate({ ...base, durationS: 600, failures: { mtbfH: 1, repairS: 120 } }, [policy], {
      afterStep: (sim) => {
        let placed = 0;
        for (let i = 0; i < base.nodes!; i++) {
          placed += sim.jobsAt(i);
          if (!sim.isUp(i)) {
            downSeen++;
            assert.equal(sim.jobsAt(i), 0, `${policy}: down node ${i} holds jobs`);
          }
        }
        assert.equal(placed + sim.queued, sim.liveJobs, `${policy}: ${placed} placed + ${sim.queued} queued ≠ ${sim.liveJobs} live`);
        checked++;
      },
    });
    assert.equal(checked, 600);
    assert.ok(downSeen > 0, `${policy}: no node was ever down`);
  }
});

it('loopers that expire in the queue are dropped and counted, and no job is lost meanwhile', () => {
  // Two slots a node and four times the load: the queue grows, and loopers die waiting in it.
  const overload: Partial<SimConfig> = { ...base, nodes: 8, racks: 2, durationS: 300, maxJobsPerNode: 2, workload: { ...simConfig({}).workload, inferLoad: 2, looperLoad: 2, looperDeadlineS: 30 } };
  for (const policy of ['maxwell', 'fair-share'] as const) {
    let bad = 0;
    const { summary } = simulate(overload, [policy], {
      afterStep: (sim) => {
        let placed = 0;
        for (let i = 0; i < 8; i++) placed += sim.jobsAt(i);
        if (placed + sim.queued !== sim.liveJobs) bad++;
      },
    });
    const p = summary.policies[0]!;
    assert.equal(bad, 0, `${policy}: steps where jobs were lost or made`);
    assert.ok(p.loopers_expired_in_queue > 0, `${policy}: ${p.loopers_expired_in_queue} expired in the queue`);
    assert.ok(p.loopers_expired_in_queue <= p.loopers_arrived);
  }
});

it('the dead-verdict watch counts the time between polls as it was, whatever the poll period', () => {
  // Polls fall on step boundaries: every 1.5 s asked is every 2 s done. The hours watched must not depend on it.
  const watched = (deadPollMs: number) => simulate({ ...base, durationS: 120, deadPollMs }, ['maxwell']).summary.watched_node_h!;
  const every1 = watched(1000);
  const every15 = watched(1500);
  assert.ok(every1 > 0);
  assert.ok(Math.abs(every15 - every1) / every1 < 0.03, `${every15} against ${every1} node-h`);
});

it('migration energy is counted as it is drawn, within the energy the cluster drew', () => {
  const { summary } = simulate({ ...base, nodes: 40, racks: 4, durationS: 600, cooling: { ...simConfig({}).cooling, failuresPerH: 30 } }, ['maxwell']);
  const p = summary.policies[0]!;
  assert.ok(p.migrations > 0, 'some jobs moved');
  assert.ok(p.migration_energy_j > 0 && p.migration_energy_j < p.energy_j, `${p.migration_energy_j} J of ${p.energy_j}`);
});
