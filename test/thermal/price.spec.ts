// The price response (src/thermal/price.ts) alone, then inside nodes: own heat raises the
// factor, a hot or dying neighbour lowers it, damped, with hysteresis, within its bounds, and a
// temperature hovering at the threshold does not make it oscillate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HEAT_CONFIG } from '../../src/thermal/protocol.js';
import { HeatLatch, PriceResponse } from '../../src/thermal/price.js';
import { Net, nameOf, reading } from './net.js';

const C = DEFAULT_HEAT_CONFIG;

/** Direction reversals in a series (up then down, or down then up). */
function reversals(xs: number[]): number {
  let last = 0;
  let n = 0;
  for (let i = 1; i < xs.length; i++) {
    const d = Math.sign(xs[i]! - xs[i - 1]!);
    if (d === 0) continue;
    if (last !== 0 && d !== last) n++;
    last = d;
  }
  return n;
}

describe('heat with hysteresis', () => {
  it('latches at hotC and lets go only below hotC − hysteresisC', () => {
    const l = new HeatLatch(C);
    assert.equal(l.update(79.9), 0);
    const at = l.update(80);
    assert.ok(Math.abs(at - C.hysteresisC / (C.dyingC - C.hotC + C.hysteresisC)) < 1e-12);
    assert.ok(l.update(78) > 0, 'still latched between hotC − hysteresisC and hotC');
    assert.equal(l.update(77), 0, 'unlatched at hotC − hysteresisC');
    assert.equal(l.update(79.9), 0, 'and stays so below hotC');
    assert.equal(l.update(95), 1);
    assert.equal(l.update(120), 1);
  });
});

describe('the price response', () => {
  it('stays within [1 − lowerMax, 1 + raiseMax] for any inputs', () => {
    const p = new PriceResponse(C);
    for (const own of [0, 0.3, 1]) {
      for (const nb of [0, 0.5, 1]) {
        for (const take of [true, false]) {
          const t = p.targetOf(own, nb, take);
          assert.ok(t >= 1 - C.lowerMax && t <= 1 + C.raiseMax);
        }
      }
    }
    assert.equal(p.targetOf(1, 0, true), 1 + C.raiseMax);
    assert.equal(p.targetOf(0, 1, true), 1 - C.lowerMax);
    assert.equal(p.targetOf(0, 1, false), 1, 'no headroom: no discount');
    assert.equal(p.targetOf(1, 1, true), 1 + C.raiseMax, 'as hot as the neighbour: no discount');
  });

  it('follows its target through a first-order lag, fast while an alarm is in play', () => {
    const p = new PriceResponse(C);
    p.set(0, 0, true, false, 0);
    p.set(0.5, 0, true, false, 0); // target 2.5
    p.advance(C.priceTauMs);
    const expected = 2.5 + (1 - 2.5) * Math.exp(-1);
    assert.ok(Math.abs(p.damped - expected) < 1e-9, `after one time constant: ${p.damped}`);
    assert.ok(Math.abs(p.factor(C.priceTauMs) - expected) < 1e-9);
    const q = new PriceResponse(C);
    q.set(0, 0, true, false, 0);
    q.set(0, 1, true, true, 0); // a neighbour's alarm: target 0.5, alarmTauMs
    assert.ok(q.factor(5 * C.alarmTauMs) < 0.51);
  });

  it('does not pass a ripple smaller than the deadband to its output', () => {
    const p = new PriceResponse(C);
    p.set(0.5, 0, true, false, 0);
    const settled = p.factor(200_000);
    assert.equal(settled, 2.5);
    const outs = new Set<number>();
    for (let t = 200_000; t < 800_000; t += 1000) {
      // The target wobbles ±1% each second.
      p.set(t % 2000 === 0 ? 0.505 : 0.495, 0, true, false, t);
      outs.add(p.factor(t + 999));
    }
    assert.equal(outs.size, 1, `the output held still: ${[...outs]}`);
  });
});

describe('the price response in the cluster', () => {
  it('raises a hot node’s factor, and does not oscillate while its temperature hovers at hotC', () => {
    const net = new Net({ nodes: 3, seed: 1 });
    const node = net.nodes[0]!;
    const factors: number[] = [];
    let claimsAtStart = 0;
    for (let s = 0; s <= 600; s++) {
      const t = s * 1000;
      // 70 °C for a minute, then hovering at the threshold: 79.5 / 80.5 / 79.5 ...
      const temp = s < 60 ? 70 : s % 2 === 0 ? C.hotC + 0.5 : C.hotC - 0.5;
      node.observe(reading(temp), t);
      if (s === 60) claimsAtStart = node.stats.claimsIssued;
      net.run(t);
      if (s >= 60) factors.push(node.priceFactor(t));
    }
    assert.equal(factors[0], 1);
    const settled = factors.at(-1)!;
    assert.ok(settled > 1.3 && settled < 1.7, `hovering at hotC raises the factor moderately: ${settled}`);
    assert.equal(reversals(factors), 0, 'the factor rises and stays: no oscillation');
    assert.ok(new Set(factors).size < 40, `it changes in few steps (${new Set(factors).size} values)`);
    assert.ok(node.stats.claimsIssued - claimsAtStart <= 2, `the hovering node re-issued its claim ${node.stats.claimsIssued - claimsAtStart} times`);
    // Its neighbours lower theirs a little, and do not oscillate either.
    const nb = net.nodes[1]!.priceFactor(600_000);
    assert.ok(nb < 1 && nb > 0.85, `a neighbour of a warm node: ${nb}`);

    // Hotter, a dying temperature: the factor reaches its ceiling and the alarm goes out by itself.
    node.observe(reading(C.dyingC + 1), 601_000);
    net.run(640_000);
    assert.equal(node.priceFactor(640_000), 1 + C.raiseMax);
    assert.ok(node.alarmed);
    assert.equal(net.nodes[2]!.peer(nameOf(0))!.alarm, true);
    assert.ok(net.nodes[2]!.priceFactor(640_000) <= 1 - C.lowerMax + 0.01);
    // It cools below dyingC − hysteresisC: the alarm clears, and prices come back, smoothly.
    node.observe(reading(60), 641_000);
    const back: number[] = [];
    for (let t = 641_000; t <= 760_000; t += 1000) {
      net.run(t);
      back.push(net.nodes[2]!.priceFactor(t));
    }
    assert.equal(node.alarmed, false);
    assert.equal(reversals(back), 0);
    assert.equal(back.at(-1), 1);
  });

  it('does not oscillate beside a neighbour whose temperature hovers at hotC, under loss', () => {
    const net = new Net({ nodes: 4, seed: 2, loss: 0.05, jitterMs: 20 });
    for (let i = 0; i < 4; i++) net.nodes[i]!.observe(reading(50), 0);
    const factors: number[] = [];
    for (let s = 1; s <= 900; s++) {
      const t = s * 1000;
      net.nodes[0]!.observe(reading(s % 2 === 0 ? C.hotC + 0.7 : C.hotC - 0.7), t);
      net.run(t);
      factors.push(net.nodes[3]!.priceFactor(t));
    }
    assert.equal(reversals(factors), 0);
    assert.ok(factors.at(-1)! < 1);
  });

  it('gives no discount when the node has no headroom, or is as hot as its neighbour', () => {
    const net = new Net({ nodes: 3, seed: 3 });
    net.nodes[0]!.observe(reading(90), 0);
    net.nodes[1]!.observe(reading(50, 200, 0), 0); // no headroom
    net.nodes[2]!.observe(reading(90), 0); // as hot
    net.run(120_000);
    assert.equal(net.nodes[1]!.priceFactor(120_000), 1);
    const own = net.nodes[2]!.priceFactor(120_000);
    assert.equal(own, net.nodes[0]!.priceFactor(120_000), 'two equally hot nodes price alike');
    assert.ok(own > 1);
  });
});
