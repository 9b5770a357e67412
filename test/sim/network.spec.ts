// The simulated network (src/sim/network.ts): its knobs do what they say. Loss drops that
// fraction of messages; a partition drops everything between its sides while it lasts and
// nothing else; a dead node neither sends nor receives; latency is the base plus a tail; a slow
// node's messages are slower.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { LOST_TO_LOSS, LOST_TO_PARTITION, NOT_SENT_DOWN, Network } from '../../src/sim/network.js';
import { seededRandom } from '../../src/market/random.js';

const base = { racks: 4, nodesPerRack: 5, intraRackMs: 0.1, interRackMs: 0.3, jitterMs: 0.2 };

it('loses the configured fraction of messages, independently', () => {
  for (const loss of [0, 0.01, 0.1, 0.5]) {
    const net = new Network({ ...base, loss }, seededRandom(3));
    let lost = 0;
    const N = 200_000;
    for (let k = 0; k < N; k++) if (net.route(k % 20, (k * 7 + 1) % 20, 100, 0) === LOST_TO_LOSS) lost++;
    const sd = Math.sqrt((loss * (1 - loss)) / N);
    assert.ok(Math.abs(lost / N - loss) <= 5 * sd + 1e-12, `loss ${loss}: measured ${lost / N}`);
    assert.equal(net.counters.lostToLoss, lost);
    assert.equal(net.counters.messagesSent, N);
    assert.equal(net.counters.bytesSent, N * 100);
  }
});

it('a partition drops exactly the messages between its sides, only while it lasts', () => {
  const net = new Network({ ...base, loss: 0, partitions: [{ startMs: 1000, endMs: 2000, groups: [[0, 1]] }] }, seededRandom(1));
  // Racks 0, 1 on one side; racks 2, 3 (named in no group) on the other.
  const rackNode = (r: number) => r * 5 + 2;
  for (const t of [0, 999, 1000, 1500, 1999, 2000]) {
    const during = t >= 1000 && t < 2000;
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 4; b++) {
        const split = (a < 2) !== (b < 2);
        const r = net.route(rackNode(a), rackNode(b), 10, t);
        if (during && split) assert.equal(r, LOST_TO_PARTITION, `t ${t}: rack ${a} → ${b}`);
        else assert.ok(r >= t, `t ${t}: rack ${a} → ${b} delivered`);
      }
    }
  }
  assert.ok(net.counters.lostToPartition === 8 * 3, `${net.counters.lostToPartition}`);
});

it('latency: intra-rack and inter-rack bases plus a tail; a slow node adds its delay; a dead node says nothing', () => {
  const slowMs = new Float64Array(20);
  slowMs[19] = 50;
  const net = new Network({ ...base, loss: 0, slowMs }, seededRandom(5));
  let intra = 0;
  let inter = 0;
  let slow = 0;
  const N = 20_000;
  for (let k = 0; k < N; k++) {
    const a = net.route(0, 1, 1, 0);
    const b = net.route(0, 10, 1, 0);
    const c = net.route(0, 19, 1, 0);
    assert.ok(a >= 0.1 && b >= 0.3 && c >= 0.3);
    intra += a;
    inter += b;
    slow += c;
  }
  assert.ok(Math.abs(intra / N - 0.3) < 0.02, `intra mean ${intra / N}`);
  assert.ok(Math.abs(inter / N - 0.5) < 0.02, `inter mean ${inter / N}`);
  assert.ok(Math.abs(slow / N - 50.5) < 2, `slow mean ${slow / N}`);
  net.up[3] = 0;
  assert.equal(net.route(3, 4, 1, 0), NOT_SENT_DOWN);
  assert.equal(net.arrive(3), false);
  assert.equal(net.arrive(4), true);
  assert.equal(net.counters.lostToDown, 1);
});

it('the same seed routes the same way', () => {
  const run = () => {
    const net = new Network({ ...base, loss: 0.2 }, seededRandom(11));
    return Array.from({ length: 1000 }, (_, k) => net.route(k % 20, (k + 3) % 20, 1, k));
  };
  assert.deepEqual(run(), run());
});

it('an outside endpoint (the dispatcher) is reached at inter-rack latency, never slow, never cut by a partition', () => {
  const slowMs = new Float64Array(20).fill(50);
  const net = new Network({ ...base, loss: 0, slowMs: new Float64Array(20), outside: 1, partitions: [{ startMs: 0, endMs: 1e9, groups: [[0, 1]] }] }, seededRandom(2));
  const slowNet = new Network({ ...base, loss: 0, slowMs, outside: 1 }, seededRandom(2));
  assert.equal(net.up.length, 21);
  let sum = 0;
  const N = 20_000;
  for (let k = 0; k < N; k++) {
    const there = net.route(k % 20, 20, 1, 10);
    const back = net.route(20, k % 20, 1, 10);
    assert.ok(there >= 10.3 && back >= 10.3, 'inter-rack base, across the partition');
    sum += there - 10;
  }
  assert.ok(Math.abs(sum / N - 0.5) < 0.02, `mean ${sum / N}`);
  assert.equal(net.counters.lostToPartition, 0);
  // A slow node is slow to it, by its own slowness only.
  let slow = 0;
  for (let k = 0; k < N; k++) slow += slowNet.route(0, 20, 1, 0);
  assert.ok(Math.abs(slow / N - 50.5) < 2, `slow mean ${slow / N}`);
});
