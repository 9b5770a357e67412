// What the heat protocol costs a node in CPU: µs per receive and per tick, measured on a
// converged 200-node cluster (hot caches: a simulator of 1,000 nodes pays ~2–3× this in cache
// misses; docs/heat.md, "Figures"). The bounds are loose (shared CI cores); the figures print.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyClaimFields, encodeClaim } from '../../src/thermal/claim.js';
import { MessageType, MessageWriter } from '../../src/thermal/message.js';
import { Net, nameOf, reading } from './net.js';

const usPer = (k: number, f: (i: number) => void) => {
  const t0 = performance.now();
  for (let i = 0; i < k; i++) f(i);
  return ((performance.now() - t0) * 1000) / k;
};

describe('heat protocol: cost', () => {
  it('receives a PING, accepts a claim and ticks in a few µs', () => {
    const N = 200;
    // Limits out of the way: this measures the work, not the throttles.
    const net = new Net({ nodes: N, seed: 3, config: { maxClaimsSentPerS: 100, maxClaimsPerPeerPerS: 1e6, maxVersionsPerMemberPerMin: 1e9, maxMessagesPerPeerPerS: 1e6 } });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(40 + (i % 30)), 0);
    net.run(120_000);
    const now = net.now;
    // Node 1's PING to node 0, as it would send it, captured.
    const sent: Uint8Array[] = [];
    const quiet = { send: (_to: string, b: Uint8Array) => void sent.push(b) };
    const a = net.nodes[0]!;
    const b = net.nodes[1]!;
    (b as unknown as { transport: unknown }).transport = quiet;
    (a as unknown as { transport: unknown }).transport = { send() {} };
    (b as unknown as { sendPing(to: number, seq: number): void }).sendPing(0, 4242);
    const ping = sent[0]!;
    const receivePing = usPer(20_000, (i) => a.receive(nameOf(1), ping, now + i / 1000));

    // New claims of node 2 (already verified once, as a memoising verifier would have them).
    const tag = (a as unknown as { tag: number }).tag;
    const msgs: Uint8Array[] = [];
    const w = new MessageWriter();
    for (let i = 0; i < 2_000; i++) {
      const f = { ...emptyClaimFields(), member: 2, version: 1e9 + i, issuedMs: now, expiresMs: now + 3_600_000, tempC: 50, powerW: 100, headroomW: 10, price: 1 };
      w.begin(MessageType.CLAIMS, tag, 0, 0xffff).claim(encodeClaim(f, tag, net.cryptos[2]!), 0);
      msgs.push(w.finish());
    }
    const warm = net.nodes[3]!;
    (warm as unknown as { transport: unknown }).transport = { send() {} };
    for (const m of msgs) warm.receive(nameOf(4), m, now);
    const c = net.nodes[5]!;
    (c as unknown as { transport: unknown }).transport = { send() {} };
    const acceptClaim = usPer(msgs.length, (i) => c.receive(nameOf(4), msgs[i]!, now));
    assert.equal(c.stats.claimsAccepted >= msgs.length, true);

    let t = now;
    const tickDue = usPer(20_000, () => {
      t = Math.max(t + 1, a.nextTickMs());
      a.tick(t);
    });
    const tickIdle = usPer(200_000, () => a.tick(t));
    console.log(`# µs: receive PING (and answer) ${receivePing.toFixed(2)}, accept a new claim ${acceptClaim.toFixed(2)} (memoised verify included), tick with work ${tickDue.toFixed(2)}, tick with none ${tickIdle.toFixed(3)}`);
    assert.ok(receivePing < 25 && acceptClaim < 50 && tickDue < 50 && tickIdle < 1);
  });

  it('costs a steady cluster a few µs per node-second, the network included', () => {
    const N = 200;
    const net = new Net({ nodes: N, seed: 4, loss: 0.01, jitterMs: 4 });
    for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
    net.run(300_000);
    const t0 = performance.now();
    net.run(600_000);
    const us = ((performance.now() - t0) * 1000) / (N * 300);
    const msgs = net.nodes.reduce((s, n) => s + n.stats.messagesSent, 0) / N / 600;
    console.log(`# a steady 200-node cluster: ${us.toFixed(1)} µs per node-second (protocol and test network), ${msgs.toFixed(2)} messages sent per node-second`);
    assert.ok(us < 200);
  });
});
