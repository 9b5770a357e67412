// The heat protocol (src/thermal/protocol.ts) on a seeded in-memory network (net.ts) with
// latency, jitter (reordering), loss, duplication, slow nodes and partitions. Every run is seeded:
// the same figures on every machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HEAT_CONFIG } from '../../src/thermal/protocol.js';
import { Net, nameOf, reading } from './net.js';

const RACK = 8;
/** Racks of RACK nodes: a node's neighbours are the others in its rack. */
const rack = (i: number, n: number) => {
  const r = Math.floor(i / RACK);
  const out: number[] = [];
  for (let j = r * RACK; j < Math.min(n, (r + 1) * RACK); j++) if (j !== i) out.push(j);
  return out;
};

function holdsAll(net: Net, i: number): boolean {
  const node = net.nodes[i]!;
  for (const id of net.ids) if ((node.peer(id)?.version ?? 0) === 0) return false;
  return true;
}

describe('heat protocol: dissemination', () => {
  it('spreads every claim to every node, and a changed claim too, under loss, duplication and reordering', () => {
    const N = 50;
    const net = new Net({ nodes: N, seed: 11, loss: 0.01, duplicate: 0.01, latencyMs: 1, jitterMs: 20 });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(40 + (i % 20)), 0);
    net.run(60_000);
    for (let i = 0; i < N; i++) assert.ok(holdsAll(net, i), `${nameOf(i)} holds every claim after 60 s`);
    for (let i = 0; i < N; i++) assert.equal(net.nodes[(i + 1) % N]!.peer(nameOf(i))!.tempC, 40 + (i % 20));

    // Ten nodes warm up by 10 °C (a material change): their new claims reach everyone.
    for (let i = 0; i < 10; i++) net.nodes[i]!.observe(reading(50 + (i % 20)), 60_000);
    net.run(120_000);
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < 10; i++) assert.equal(net.nodes[j]!.peer(nameOf(i))!.tempC, 50 + (i % 20), `${nameOf(j)} sees ${nameOf(i)} warmer`);
    }
    for (const n of net.nodes) assert.ok(n.isValid());
    // Nothing was refused but duplicates (the network duplicates 1% of messages).
    for (const n of net.nodes) for (const k of Object.keys(n.stats.rejected)) assert.equal(k, 'duplicate');
  });

  it('is deterministic: the same seed gives the same run', () => {
    const run = () => {
      const net = new Net({ nodes: 20, seed: 5, loss: 0.05, duplicate: 0.02, jitterMs: 10 });
      for (let i = 0; i < 20; i++) net.nodes[i]!.observe(reading(60 + i), 0);
      net.run(30_000);
      return net.nodes.map((n) => `${n.stats.bytesSent}/${n.stats.claimsAccepted}`).join(',');
    };
    assert.equal(run(), run());
  });

  it('a node that lends its buffer to a copying transport sends exactly what it would hand over', () => {
    const run = (copiesBytes: boolean) => {
      const net = new Net({ nodes: 20, seed: 6, loss: 0.05, duplicate: 0.02, jitterMs: 10, copiesBytes });
      for (let i = 0; i < 20; i++) net.nodes[i]!.observe(reading(60 + i), 0);
      net.run(30_000);
      if (copiesBytes) {
        // Lent, not copied: every message of a node came from its one scratch buffer.
        const sent = net.nodes.reduce((a, n) => a + n.stats.messagesSent, 0);
        assert.ok(sent > 1000 && net.lentBuffers.size === 20, `${net.lentBuffers.size} buffers for ${sent} messages`);
      }
      return net.nodes.map((n) => `${n.stats.bytesSent}/${n.stats.claimsAccepted}/${n.stats.messagesReceived}`).join(',');
    };
    const lent = run(true);
    assert.equal(lent, run(false));
    assert.ok(holdsAllEverywhere(lent), lent);
  });
});

/** Every node accepted some claims in a stats string of the test above. */
function holdsAllEverywhere(stats: string): boolean {
  return stats.split(',').every((s) => Number(s.split('/')[1]) > 0);
}

describe('heat protocol: the alarm', () => {
  it('reaches 99% of 1,000 nodes in under 2 s at 1% loss; neighbours lower their price, the dying node raises its own', () => {
    const N = 1000;
    const net = new Net({ nodes: N, seed: 7, loss: 0.01, latencyMs: 1, jitterMs: 4, neighbours: rack });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
    net.run(10_000);
    const dying = 123;
    const origin = nameOf(dying);
    const reachedAt = new Float64Array(N).fill(Number.NaN);
    let reached = 0;
    net.onEvent = (i) => {
      if (Number.isNaN(reachedAt[i]!) && net.nodes[i]!.peer(origin)!.alarm) {
        reachedAt[i] = net.now;
        reached++;
      }
    };
    const t0 = 10_000;
    net.nodes[dying]!.alarm(t0);
    reachedAt[dying] = t0;
    reached = 1;
    net.run(t0 + 2_000);
    const times = [...reachedAt].filter((t) => !Number.isNaN(t)).map((t) => t - t0).sort((a, b) => a - b);
    const p99 = times[Math.ceil(0.99 * N) - 1];
    console.log(`# alarm: ${reached}/${N} nodes within 2 s; 50% by ${times[Math.floor(N / 2)]?.toFixed(1)} ms, 99% by ${p99?.toFixed(1)} ms`);
    assert.ok(reached >= 0.99 * N, `99% reached within 2 s (${reached})`);
    assert.ok(p99 !== undefined && p99 < 2000);
    net.onEvent = undefined;
    net.run(t0 + 5_000);
    const now = t0 + 5_000;
    // The dying node's rack-mates lower their price; nodes in other racks do not move.
    for (const j of rack(dying, N)) {
      const f = net.nodes[j]!.priceFactor(now);
      assert.ok(f < 0.55 && f >= 1 - DEFAULT_HEAT_CONFIG.lowerMax, `${nameOf(j)}'s factor ${f} falls towards 0.5`);
    }
    assert.equal(net.nodes[0]!.priceFactor(now), 1);
    assert.equal(net.nodes[500]!.priceFactor(now), 1);
    const own = net.nodes[dying]!.priceFactor(now);
    assert.ok(own > 3.9 && own <= 1 + DEFAULT_HEAT_CONFIG.raiseMax, `the dying node's own factor ${own} rises to 4`);
  });
});

describe('heat protocol: membership', () => {
  it('suspects a partitioned node, then declares it dead; after healing it refutes and is alive everywhere', () => {
    const N = 20;
    const net = new Net({ nodes: N, seed: 21, loss: 0.01, latencyMs: 1, jitterMs: 4 });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
    net.run(20_000);
    const P = 4;
    const p = nameOf(P);
    const versionBefore = net.nodes[0]!.peer(p)!.version;
    assert.ok(versionBefore > 0);
    net.partition([P]);
    let firstSuspect = Number.NaN;
    let allDead = Number.NaN;
    net.onEvent = () => {
      if (Number.isNaN(firstSuspect) && net.nodes.some((n, i) => i !== P && n.peer(p)!.state === 'suspect')) firstSuspect = net.now;
      if (Number.isNaN(allDead) && net.nodes.every((n, i) => i === P || n.peer(p)!.state === 'dead')) allDead = net.now;
    };
    net.run(80_000);
    net.onEvent = undefined;
    console.log(`# partition at 20 s: first suspicion at ${((firstSuspect - 20_000) / 1000).toFixed(1)} s, dead everywhere at ${((allDead - 20_000) / 1000).toFixed(1)} s`);
    const c = DEFAULT_HEAT_CONFIG;
    assert.ok(firstSuspect - 20_000 < c.suspectAfterMs + 3 * c.gossipIntervalMs, 'suspected within a few rounds');
    assert.ok(allDead - 20_000 < 2 * c.deadAfterMs, 'dead everywhere within twice the shortest suspicion');
    // The cut-off node blames itself (Lifeguard's local health) instead of declaring everyone dead.
    const isolated = net.nodes[P]!;
    assert.equal(isolated.health, DEFAULT_HEAT_CONFIG.healthMax);
    const blamed = net.ids.filter((id) => id !== p && isolated.peer(id)!.state !== 'alive').length;
    assert.ok(blamed <= 2, `the isolated node blames at most 2 others (${blamed})`);

    net.heal();
    let allAlive = Number.NaN;
    net.onEvent = () => {
      if (Number.isNaN(allAlive) && net.nodes.every((n) => n.peer(p)!.state === 'alive')) allAlive = net.now;
    };
    net.run(120_000);
    net.onEvent = undefined;
    console.log(`# healed at 80 s: alive everywhere again at ${((allAlive - 80_000) / 1000).toFixed(1)} s`);
    assert.ok(allAlive - 80_000 < 10 * DEFAULT_HEAT_CONFIG.gossipIntervalMs, 'alive everywhere within ten rounds of healing');
    for (const n of net.nodes) {
      assert.ok(n.peer(p)!.version > versionBefore, 'by a new version (the refutation)');
      for (const id of net.ids) assert.equal(n.peer(id)!.state, 'alive', `${n.id} sees ${id} alive`);
      assert.ok(n.isValid());
    }
    assert.ok(isolated.stats.refutations >= 1);
  });

  it('never declares a live node dead at 1% loss, even a slow one (100 nodes, 30 simulated minutes)', () => {
    const N = 100;
    const SLOW = [3, 50];
    const net = new Net({ nodes: N, seed: 33, loss: 0.01, latencyMs: 1, jitterMs: 4, slowMs: (i) => (i === 3 ? 400 : i === 50 ? 1200 : 0) });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
    net.run(30 * 60_000);
    let deaths = 0;
    let suspicions = 0;
    for (const n of net.nodes) {
      deaths += n.stats.deaths;
      suspicions += n.stats.suspicions;
      for (const id of net.ids) assert.notEqual(n.peer(id)!.state, 'dead', `${n.id} does not hold ${id} dead`);
    }
    console.log(`# 100 nodes × 30 min at 1% loss, ${SLOW.map(nameOf).join(' and ')} slow (+400 ms, +1200 ms a hop): ${suspicions} suspicions, ${deaths} deaths, refutations by the slow ones ${SLOW.map((i) => net.nodes[i]!.stats.refutations).join(', ')}`);
    assert.equal(deaths, 0, 'no live node was ever declared dead');
  });

  it('declares a crashed node dead, and keeps it so', () => {
    const N = 30;
    const net = new Net({ nodes: N, seed: 9, loss: 0.01 });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
    net.run(10_000);
    net.nodes[7]!.stop();
    net.run(70_000);
    for (let i = 0; i < N; i++) if (i !== 7) assert.equal(net.nodes[i]!.peer(nameOf(7))!.state, 'dead');
    // memberState (what pollers use) answers the same as peer().state, for every member.
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) assert.equal(net.nodes[i]!.memberState(nameOf(j)), net.nodes[i]!.peer(nameOf(j))!.state);
    assert.equal(net.nodes[0]!.memberState('nobody'), undefined);
    // Its helpers answered (nacked): the probers' own health did not suffer.
    for (let i = 0; i < N; i++) if (i !== 7) assert.ok(net.nodes[i]!.health <= 1, `${nameOf(i)} health ${net.nodes[i]!.health}`);
    // A restarted node comes back: the next probe tells it it was dead, it refutes.
    net.nodes[7]!.start();
    net.run(100_000);
    for (let i = 0; i < N; i++) assert.equal(net.nodes[i]!.peer(nameOf(7))!.state, 'alive');
  });
});

describe('heat protocol: bandwidth', () => {
  it('costs well under 1 kB/s per node, at 1% loss with drifting temperatures', () => {
    const N = 200;
    const net = new Net({ nodes: N, seed: 44, loss: 0.01, latencyMs: 1, jitterMs: 4, neighbours: rack });
    const T = 10 * 60_000;
    // Temperatures drift (a sine of period 5 min, amplitude 30 °C around 65 °C): some nodes cross
    // hotC and back, so claims are re-issued on material changes, within minClaimIntervalMs.
    for (let t = 0; t <= T; t += 5_000) {
      for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(65 + 30 * Math.sin((2 * Math.PI * t) / 300_000 + i)), t);
      net.run(t + 5_000);
    }
    const bytes = net.totalBytesSent();
    const perNodeS = bytes / N / (T / 1000);
    const issued = net.nodes.reduce((a, n) => a + n.stats.claimsIssued, 0);
    console.log(`# 200 nodes × 10 min: ${perNodeS.toFixed(0)} B/s per node sent, ${(issued / N / (T / 60_000)).toFixed(2)} claims issued per node-minute`);
    assert.ok(perNodeS < 1000, `${perNodeS} B/s per node`);
    for (const n of net.nodes) assert.ok(n.stats.bytesSent / (T / 1000) < 2000, `no node over 2 kB/s (${n.id})`);
  });
});
