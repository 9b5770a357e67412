// Placement by what the gossip tells. Under maxwell arrivals go to a dispatcher, one more member
// of the heat protocol, which places them by the claims it has heard, never by the simulator's
// own arrays (an oracle): a node whose claims say it is dying gets no new work; a node that
// cannot tell anyone it is hot (its claims are frozen) keeps getting its share, though its real
// price has risen. Under no-gossip nobody hears anyone and the dispatcher places round-robin.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, DISPATCHER_ID, type SimConfig, type Simulator } from '../../src/sim/index.js';

const N = 8;
const X = 5;
const base: Partial<SimConfig> = {
  nodes: N, racks: 2, durationS: 480, seed: 3, alarms: 0,
  failures: { mtbfH: 0, repairS: 600 }, slow: { fraction: 0, ms: 0 },
  workload: { inferLoad: 0.5, looperLoad: 0.1, inferWorkMeanS: 120, looperLifeS: 300, looperDeadlineS: 600, swing: 0, periodS: 1800, burstFactor: 1 },
};
// Claims that are never re-issued: each node's first claim (at the start) is all the others ever hear.
const frozenClaims = { claimTtlMs: 24 * 3_600_000, refreshMs: 23 * 3_600_000, minClaimIntervalMs: 23 * 3_600_000 };

/** Placements on node X and on an average other node in [fromS, toS), with `act` run after each step. */
function placements(config: Partial<SimConfig>, policy: 'maxwell' | 'no-gossip', fromS: number, toS: number, act: (sim: Simulator, nowMs: number) => void = () => {}) {
  let before: number[] = [];
  let after: number[] = [];
  let sim: Simulator | undefined;
  const { summary } = simulate(config, [policy], {
    afterStep: (s, nowMs) => {
      sim = s;
      act(s, nowMs);
      if (nowMs === fromS * 1000) before = Array.from({ length: N }, (_, i) => s.placedAt(i));
      if (nowMs === toS * 1000) after = Array.from({ length: N }, (_, i) => s.placedAt(i));
    },
  });
  const d = after.map((a, i) => a - before[i]!);
  const others = d.filter((_, i) => i !== X);
  return { onX: d[X]!, otherMean: others.reduce((s, v) => s + v, 0) / others.length, total: after.reduce((s, v) => s + v, 0), summary: summary.policies[0]!, sim: sim! };
}

it('maxwell: a node whose claim says it is dying gets no new work until it clears the alarm', () => {
  const raise = (s: Simulator, nowMs: number) => {
    if (nowMs === 240_000) s.heat[X]!.alarm(nowMs);
    if (nowMs === 360_000) s.heat[X]!.clearAlarm(nowMs);
  };
  const early = placements(base, 'maxwell', 120, 240, raise);
  assert.ok(early.onX >= 3, `before the alarm node ${X} took ${early.onX} arrivals`);
  // The alarm is pushed to the dispatcher at once; a step later it sends nothing there.
  const during = placements(base, 'maxwell', 242, 360, raise);
  assert.equal(during.onX, 0, `node ${X} took ${during.onX} arrivals while its claim said it was dying`);
  assert.ok(during.otherMean >= 5, `the others took ${during.otherMean} each`);
  const later = placements(base, 'maxwell', 362, 480, raise);
  assert.ok(later.onX >= 3, `after the alarm cleared node ${X} took ${later.onX}`);
});

it('maxwell: placement follows the gossiped price, not the real one (a hot node that cannot claim keeps its share)', () => {
  const heatX = (s: Simulator, nowMs: number) => {
    // Hot, but under tMax (85 °C), where a temperature alarm would go out whatever the claim interval.
    if (nowMs > 180_000) s.forceTemp(X, 84);
  };
  // Claims flow: within seconds the dispatcher hears X is hot (its price ×4) and sends it little.
  const told = placements(base, 'maxwell', 240, 480, heatX);
  assert.ok(told.onX < 0.2 * told.otherMean, `told: node ${X} took ${told.onX}, an average other ${told.otherMean}`);
  // Claims frozen at the first: X's real price is as high, but nobody is told; the dispatcher,
  // reading only its view, keeps sending X about its share. (An oracle would send it nothing.)
  const deaf = placements({ ...base, heat: frozenClaims }, 'maxwell', 240, 480, heatX);
  assert.ok(deaf.onX > 0.5 * deaf.otherMean, `frozen claims: node ${X} took ${deaf.onX}, an average other ${deaf.otherMean}`);
  // X really was dear: its own heat more than tripled its price, which made it the dearest
  // node of all (the others' prices are their load alone); an oracle would have sent it nothing.
  const others = Array.from({ length: N }, (_, i) => deaf.sim.price[i]!).filter((_, i) => i !== X);
  assert.ok(deaf.sim.heat[X]!.priceFactor(480_000) > 3, 'X knew it was hot');
  assert.ok(deaf.sim.price[X]! > Math.max(...others), `X really was dear: ${deaf.sim.price[X]} against at most ${Math.max(...others)}`);
});

it('maxwell: the dispatcher is a member every node hears, not a compute node', () => {
  const r = placements(base, 'maxwell', 0, 60);
  const { sim } = r;
  assert.equal(sim.ids[N], DISPATCHER_ID);
  assert.equal(sim.heat.length, N + 1);
  const d = sim.heat[N]!;
  // It knows every node's claim (price and power) and holds them alive; every node holds it alive.
  for (let i = 0; i < N; i++) {
    const v = d.peer(sim.ids[i]!)!;
    assert.equal(v.state, 'alive');
    assert.ok(v.price !== undefined && v.powerW !== undefined, `dispatcher knows node ${i}'s price`);
    assert.equal(sim.heat[i]!.peer(DISPATCHER_ID)!.state, 'alive');
  }
  // It has no heat: no claim of it carries one.
  assert.equal(d.peer(DISPATCHER_ID)!.heat ?? 0, 0);
  assert.equal(r.summary.placements_bounced, 0);
});

it('no-gossip: the dispatcher knows no price and places round-robin; nobody drains', () => {
  const r = placements(base, 'no-gossip', 0, 480);
  const counts = Array.from({ length: N }, (_, i) => r.sim.placedAt(i));
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `round-robin: ${counts.join(', ')}`);
  assert.ok(r.total > 100);
  assert.equal(r.summary.migrations, 0);
  assert.equal(r.sim.heat.length, N, 'no dispatcher member: nobody gossips');
});
