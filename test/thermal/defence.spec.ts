// The heat protocol's defences: only claims signed by members count; forged, replayed, stale and
// future claims are refused before they change anything; a flooding peer is rate-limited; and
// none of it moves anyone's price. Bad input is an outcome, never a throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/ledger/keys.js';
import { FLAG_ALARM, clusterTagOf, emptyClaimFields, encodeClaim, type ClaimFields, type HeatCrypto } from '../../src/thermal/claim.js';
import { MessageType, MessageWriter, RumourKind } from '../../src/thermal/message.js';
import { HeatNode, ReceiveOutcome, ed25519Crypto } from '../../src/thermal/protocol.js';
import { Net, nameOf, reading } from './net.js';

const N = 10;
const ATTACKER = 9;

function setup() {
  const net = new Net({ nodes: N, seed: 99, loss: 0.01, latencyMs: 1, jitterMs: 4 });
  for (let i = 0; i < N; i++) net.nodes[i]!.observe(reading(50), 0);
  net.run(30_000);
  const tag = clusterTagOf(net.ids, net.ids.map((id) => net.members.get(id)!));
  return { net, tag };
}

function claim(tag: number, signer: HeatCrypto, over: Partial<ClaimFields>): Uint8Array {
  const f = { ...emptyClaimFields(), member: 0, version: 1, issuedMs: 30_000, expiresMs: 30_000 + 600_000, tempC: 99, powerW: 400, headroomW: 0, price: 1, heat: 1, flags: FLAG_ALARM, ...over };
  return encodeClaim(f, tag, signer);
}

function claimsMessage(tag: number, ...claims: Uint8Array[]): Uint8Array {
  const w = new MessageWriter().begin(MessageType.CLAIMS, tag, 0, 0xffff);
  for (const c of claims) assert.ok(w.claim(c, 0));
  return w.finish();
}

/** Every honest node's price factor, and what it holds of node 0. */
function snapshot(net: Net, now: number) {
  return net.nodes.slice(0, ATTACKER).map((n) => ({ f: n.priceFactor(now), alarm: n.peer(nameOf(0))!.alarm, t: n.peer(nameOf(0))!.tempC, v: n.peer(nameOf(0))!.version }));
}

describe('heat protocol: defences', () => {
  it('drops claims from non-members, with bad signatures, replayed, stale or from the future, and none moves a price', () => {
    const { net, tag } = setup();
    // Node 0 warms a little (a material change, not hot): a second version, so there is an older one to replay.
    net.nodes[0]!.observe(reading(60), net.now);
    net.run(net.now + 10_000);
    const now = net.now;
    const before = snapshot(net, now);
    for (const s of before) assert.equal(s.f, 1);
    const victim = net.nodes[1]!;
    const held = victim.peer(nameOf(0))!.version;
    const outsider = generateKeyPairSync('ed25519');
    const outsiderCrypto = ed25519Crypto(outsider.privateKey);
    const attacker = net.cryptos[ATTACKER]!;
    const honest0 = net.cryptos[0]!;
    const v = held + 1_000;

    // A non-member: refused before anything is read.
    assert.equal(victim.receive('mallory', claimsMessage(tag, claim(tag, outsiderCrypto, { version: v })), now), ReceiveOutcome.UNKNOWN_MEMBER);
    // A member relaying a claim "of node 0" signed by someone else: forged, whole message dropped.
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, outsiderCrypto, { version: v })), now), ReceiveOutcome.FORGED);
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, attacker, { version: v })), now), ReceiveOutcome.FORGED);
    // ...even with a genuine claim of the attacker's own before it: nothing of the message is applied.
    const own = claim(tag, attacker, { member: ATTACKER, version: victim.peer(nameOf(ATTACKER))!.version + 1 });
    const attackerVersion = victim.peer(nameOf(ATTACKER))!.version;
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, own, claim(tag, attacker, { version: v })), now), ReceiveOutcome.FORGED);
    assert.equal(victim.peer(nameOf(ATTACKER))!.version, attackerVersion);
    // A claim of a member index past the list (signed by anyone): unknown member.
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, attacker, { member: N + 3, version: v })), now), ReceiveOutcome.UNKNOWN_MEMBER);
    // Genuine claims of node 0 (as if recorded), but expired, or from the future.
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, honest0, { version: v, issuedMs: 1, expiresMs: now - 1 })), now), ReceiveOutcome.STALE);
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, honest0, { version: v, issuedMs: now + 3_600_000, expiresMs: now + 7_200_000 })), now), ReceiveOutcome.FUTURE);
    // A replay: node 0's current claim again is a duplicate; an older one is a replay.
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, honest0, { version: held })), now), ReceiveOutcome.DUPLICATE);
    assert.ok(held > 1);
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag, claim(tag, honest0, { version: held - 1 })), now), ReceiveOutcome.REPLAYED);
    // A message for another member list.
    assert.equal(victim.receive(nameOf(ATTACKER), claimsMessage(tag ^ 1, claim(tag ^ 1, honest0, { version: v })), now), ReceiveOutcome.WRONG_CLUSTER);

    // The same attacks on every honest node, through the network this time.
    for (let j = 1; j < ATTACKER; j++) {
      net.inject('mallory', j, claimsMessage(tag, claim(tag, outsiderCrypto, { version: v })));
      net.inject(nameOf(ATTACKER), j, claimsMessage(tag, claim(tag, attacker, { version: v })));
      net.inject(nameOf(ATTACKER), j, claimsMessage(tag, claim(tag, honest0, { version: v, issuedMs: 1, expiresMs: now - 1 })));
    }
    net.run(now + 60_000);
    const after = snapshot(net, net.now);
    for (let j = 0; j < after.length; j++) {
      assert.equal(after[j]!.f, 1, `${nameOf(j)}'s price did not move`);
      assert.equal(after[j]!.alarm, false);
      assert.equal(after[j]!.t, 60);
    }
    for (const n of net.nodes) assert.ok(n.isValid());
  });

  it('rate-limits a flooding member and changes no price; the node keeps working', () => {
    const { net, tag } = setup();
    const now = net.now;
    const victim = net.nodes[1]!;
    const attacker = net.cryptos[ATTACKER]!;
    const held = victim.peer(nameOf(0))!.version;
    const verifies = victim.stats.verifies;
    const outcomes: Record<string, number> = {};
    // 10,000 messages in one second: forged claims with ever higher versions (each would cost a
    // signature check), pings, and rumours that node 0 is dead.
    for (let i = 0; i < 10_000; i++) {
      const t = now + i / 10;
      let bytes: Uint8Array;
      if (i % 3 === 0) bytes = claimsMessage(tag, claim(tag, attacker, { version: held + 1 + i }));
      else if (i % 3 === 1) bytes = new MessageWriter().begin(MessageType.PING, tag, i + 1, 0xffff).finish();
      else {
        const w = new MessageWriter().begin(MessageType.PING, tag, i + 1, 0xffff);
        w.rumour(RumourKind.DEAD, 0, ATTACKER, held);
        bytes = w.finish();
      }
      const o = victim.receive(nameOf(ATTACKER), bytes, t);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    console.log(`# a flood of 10,000 messages in 1 s from one member: ${JSON.stringify(outcomes)}; ${victim.stats.verifies - verifies} signature checks`);
    assert.ok((outcomes[ReceiveOutcome.RATE_LIMITED] ?? 0) >= 9_900, 'all but a burst and a second’s rate are refused');
    assert.ok(victim.stats.verifies - verifies <= 2 * 32 + 32, 'signature checks bounded by the per-peer claim bucket');
    // The flood's "node 0 is dead" rumours, the few that got in, are refuted: node 0 answers for itself.
    net.run(now + 60_000);
    for (let j = 0; j < ATTACKER; j++) {
      const n = net.nodes[j]!;
      assert.equal(n.priceFactor(net.now), 1, `${nameOf(j)}'s price did not move`);
      if (j !== 0) assert.equal(n.peer(nameOf(0))!.state, 'alive');
    }
    // And the node still hears real news: node 0 raises its alarm.
    net.nodes[0]!.alarm(net.now);
    net.run(net.now + 2_000);
    assert.equal(victim.peer(nameOf(0))!.alarm, true);
  });

  it('bounds how fast a member’s own versions are accepted', () => {
    const { net, tag } = setup();
    const now = net.now;
    const victim = net.nodes[1]!;
    const attacker = net.cryptos[ATTACKER]!;
    let v = victim.peer(nameOf(ATTACKER))!.version;
    let accepted = 0;
    // The attacker floods its own genuine claims, a new version every 100 ms for a minute.
    for (let i = 0; i < 600; i++) {
      const t = now + i * 100;
      // From a different relay each time, so that only the per-issuer limit can stop it.
      const relay = nameOf(2 + (i % 7));
      const o = victim.receive(relay, claimsMessage(tag, claim(tag, attacker, { member: ATTACKER, version: ++v, flags: 0, heat: (i % 2) * 0.9, tempC: 50 + (i % 2) * 40 })), t);
      if (o === ReceiveOutcome.ACCEPTED) accepted++;
    }
    const limit = Math.ceil(12 / 3) + 12; // a burst of a third of the per-minute rate, then the rate
    assert.ok(accepted <= limit, `${accepted} of 600 versions accepted in a minute (≤ ${limit})`);
    assert.ok(accepted >= 10);
  });

  it('never throws on arbitrary or mutated input, and stays valid', () => {
    const { net, tag } = setup();
    const victim = net.nodes[1]!;
    let t = net.now;
    // Real traffic to mutate: a PING and an ACK with claims, as node 2 would send them.
    const samples: Uint8Array[] = [];
    const w = new MessageWriter().begin(MessageType.ACK, tag, 5, 0xffff);
    w.advert(3, 1234);
    w.want(4);
    w.rumour(RumourKind.SUSPECT, 5, 6, 1);
    w.claim(claim(tag, net.cryptos[0]!, { version: 10 ** 9 }), 0);
    samples.push(w.finish());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (random, at, value, mutate) => {
        let bytes = random;
        if (mutate) {
          bytes = samples[0]!.slice();
          bytes[at % bytes.length] = value;
        }
        t += 1;
        const o = victim.receive(nameOf(2 + (at % 7)), bytes, t);
        assert.ok(Object.values(ReceiveOutcome).includes(o));
      }),
      { seed: 0x66757a7a, numRuns: 3000 },
    );
    assert.ok(victim.isValid());
  });

  it('refuses a node whose key or membership is wrong, with an operating error', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(rawPublicKey(publicKey));
    const members = new Map([['a', raw]]);
    const base = { crypto: ed25519Crypto(generateKeyPairSync('ed25519').privateKey), transport: { send() {} }, random: Math.random };
    assert.throws(() => new HeatNode({ ...base, id: 'b', publicKey: raw, members }), /not a member/);
    assert.throws(() => new HeatNode({ ...base, id: 'a', publicKey: new Uint8Array(32), members }), /public key/);
    assert.throws(() => new HeatNode({ ...base, id: 'a', publicKey: raw, members: new Map([['a', new Uint8Array(31)]]) }), /32-byte/);
    assert.throws(() => new HeatNode({ ...base, id: 'a', publicKey: raw, members }, { lowerMax: 1 }), /lowerMax/);
    assert.throws(() => new HeatNode({ ...base, id: 'a', publicKey: raw, members, neighbours: new Set(['z']) }), /neighbour/);
    const node = new HeatNode({ ...base, id: 'a', publicKey: raw, members });
    assert.throws(() => node.observe({ tempC: Number.NaN, powerW: 1, headroomW: 1, price: 1 }, 0), /tempC/);
    assert.throws(() => node.tick(Number.NaN), /time/);
  });
});
