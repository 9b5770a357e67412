// One simulated hour of 1,000 nodes at 1% loss: the figures in docs/heat.md ("Figures").
// Long (~2 minutes on two cores), so it runs only when asked: HEAT_HOUR=1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net, nameOf, reading } from './net.js';

describe('heat protocol: an hour of 1,000 nodes', () => {
  it('keeps bandwidth under 1 kB/s per node, declares no live node dead, and spreads an alarm in under 2 s', { skip: process.env.HEAT_HOUR !== '1' }, () => {
    const N = 1000;
    const T = 3600_000;
    const rack = (i: number, n: number) => {
      const r = Math.floor(i / 8);
      const out: number[] = [];
      for (let j = r * 8; j < Math.min(n, r * 8 + 8); j++) if (j !== i) out.push(j);
      return out;
    };
    // One node in a hundred is slow: 300 ms more each way.
    const net = new Net({ nodes: N, seed: 77, loss: 0.01, latencyMs: 1, jitterMs: 4, neighbours: rack, slowMs: (i) => (i % 100 === 5 ? 300 : 0) });
    const alarmAt = T / 2;
    const seen = new Uint8Array(N);
    let reached = 0;
    let p99Ms = Number.NaN;
    net.onEvent = (i) => {
      if (net.now >= alarmAt && seen[i] === 0 && net.nodes[i]!.peer(nameOf(42))!.alarm) {
        seen[i] = 1;
        if (++reached === Math.ceil(0.99 * N)) p99Ms = net.now - alarmAt;
      }
    };
    const t0 = performance.now();
    for (let t = 0; t < T; t += 60_000) {
      // Every node's temperature swings 35–85 °C with a 20-minute period: a third of the time it
      // is past hotC, and its claims change materially (a harsh load for the claim budget).
      for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(60 + 25 * Math.sin((2 * Math.PI * t) / 1_200_000 + i)), t);
      if (t === alarmAt) {
        net.nodes[42]!.alarm(t);
        seen[42] = 1;
        reached = 1;
      }
      net.run(t + 60_000);
    }
    const wallS = (performance.now() - t0) / 1000;
    const st = net.nodes.map((n) => n.stats);
    const sum = (f: (s: (typeof st)[0]) => number) => st.reduce((a, s) => a + f(s), 0);
    const bytesPerNodeS = sum((s) => s.bytesSent) / N / (T / 1000);
    const maxBytesPerS = Math.max(...st.map((s) => s.bytesSent)) / (T / 1000);
    const deaths = sum((s) => s.deaths);
    console.log(
      `# 1,000 nodes × 1 h, 1% loss: ${bytesPerNodeS.toFixed(0)} B/s per node sent (most: ${maxBytesPerS.toFixed(0)}), ` +
        `${(sum((s) => s.messagesSent) / N / (T / 1000)).toFixed(2)} messages/s, ${sum((s) => s.claimsIssued)} claims issued, ` +
        `${(sum((s) => s.claimsAccepted) / N / (T / 1000)).toFixed(2)} accepted per node-second; ${sum((s) => s.suspicions)} suspicions, ${deaths} deaths; ` +
        `alarm at 99% in ${p99Ms.toFixed(0)} ms; ${wallS.toFixed(0)} s wall (${((wallS * 1e6) / (N * (T / 1000))).toFixed(1)} µs per node-second, test network included)`,
    );
    assert.ok(bytesPerNodeS < 1000);
    assert.equal(deaths, 0);
    assert.ok(p99Ms < 2000);
  });
});
