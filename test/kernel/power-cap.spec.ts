// The power cap controller (src/kernel/power-cap.ts) driving the real market under a step of
// demand: a simulated 16-worker node (idle 50 W, 10 W per busy worker, so 50–210 W) with a
// 120 W cap sells its slots every 5 ms through the auction heap at the controller's reserve
// price. At t = 2 s demand jumps from 2 bidders to 200 (overload: at the base price all 16
// workers would run, 210 W). The controller must bring the smoothed power under the cap within
// a few seconds, keep the overshoot bounded, hold the average under the cap, and give the
// price back when demand goes away.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PowerCapController } from '../../src/kernel/power-cap.js';
import { AuctionHeap, seededRandom } from '../../src/market/index.js';
import { isMaxwellError } from '../../src/errors.js';

const WORKERS = 16;
const IDLE_W = 50;
const PER_WORKER_W = 10;
const CAP_W = 120;
const ROUND_MS = 5;

interface Trace {
  /** Each bidder's value (tokens/J). */
  values: number[];
  t: number[];
  power: number[];
  avg: number[];
  price: number[];
}

/** Runs the node for `seconds`; `bidders(tMs)` says how many bid at each moment. */
function simulate(seconds: number, bidders: (tMs: number) => number, seed = 1): Trace {
  const market = new AuctionHeap({ maxBids: 1024, minBidIntervalMs: 0, bidTtlMs: 1e12 });
  const ctl = new PowerCapController({ capW: CAP_W });
  const random = seededRandom(seed);
  const values = Array.from({ length: 1024 }, () => 0.1 * 1000 ** random()); // log-uniform [0.1, 100] tokens/J
  const trace: Trace = { values, t: [], power: [], avg: [], price: [] };
  let present = 0;
  let price = ctl.update(0, IDLE_W);
  for (let t = 0; t <= seconds * 1000; t += ROUND_MS) {
    const want = bidders(t);
    for (; present < want; present++) market.setBid(present, values[present]!, t);
    for (; present > want; present--) market.removeBid(present - 1);
    const busy = market.clear(WORKERS, price, t, random).awards.length;
    const power = IDLE_W + busy * PER_WORKER_W;
    price = ctl.update(t, power);
    trace.t.push(t);
    trace.power.push(power);
    trace.avg.push(ctl.state.avgPowerW);
    trace.price.push(price);
  }
  return trace;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** The mean of each value and the n − 1 before it. */
function rollingMean(xs: number[], n: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i]!;
    if (i >= n) sum -= xs[i - n]!;
    out.push(sum / Math.min(i + 1, n));
  }
  return out;
}
/** The power the first n bidders draw at the base price of 1 token/J (bids below it do not clear). */
const quietPower = (tr: Trace, n: number) => IDLE_W + PER_WORKER_W * Math.min(WORKERS, tr.values.slice(0, n).filter((v) => v >= 1).length);

describe('power cap controller', () => {
  it('a step of demand to 1.75× the cap: settles under the cap within a few seconds, bounded overshoot', (t) => {
    const STEP_MS = 2000;
    const tr = simulate(30, (ms) => (ms < STEP_MS ? 2 : 200));
    const at = (ms: number) => tr.t.findIndex((x) => x >= ms);
    // Before the step the node is under its cap and the price is the base price.
    assert.equal(tr.power[at(STEP_MS) - 1], quietPower(tr, 2));
    assert.ok(Math.abs(tr.price[at(STEP_MS) - 1]! - 1) < 1e-9, `price before the step ${tr.price[at(STEP_MS) - 1]}`);
    // The cap is on average power: judge the mean over the last second (200 rounds), whatever
    // the controller's own filter. Overshoot: the most that mean exceeds the cap after the step.
    const roll = rollingMean(tr.power, 1000 / ROUND_MS);
    const peak = Math.max(...roll.slice(at(STEP_MS)));
    const overshootPct = ((peak - CAP_W) / CAP_W) * 100;
    // Settling: the first time after which that mean stays ≤ the cap for good.
    let settled = tr.t.length - 1;
    while (settled > at(STEP_MS) && roll[settled - 1]! <= CAP_W) settled--;
    const settleS = (tr.t[settled]! - STEP_MS) / 1000;
    const lastTen = tr.power.slice(at(20_000));
    const avgLastTen = mean(lastTen);
    const prices = tr.price.slice(at(20_000));
    t.diagnostic(`step ${quietPower(tr, 2)} W → demand for ${quietPower(tr, 200)} W, cap ${CAP_W} W: peak 1 s mean ${peak.toFixed(1)} W (overshoot ${overshootPct.toFixed(1)}%), under the cap for good after ${settleS.toFixed(2)} s, mean power over 20–30 s ${avgLastTen.toFixed(1)} W, price ${Math.min(...prices).toFixed(2)}–${Math.max(...prices).toFixed(2)} tokens/J`);
    assert.ok(settleS <= 5, `settles within 5 s (took ${settleS} s)`);
    assert.ok(overshootPct <= 25, `overshoot ${overshootPct}% ≤ 25%`);
    assert.ok(avgLastTen <= CAP_W, `mean power ${avgLastTen} W ≤ cap`);
    assert.ok(avgLastTen >= CAP_W * 0.8, `the node is not starved: mean ${avgLastTen} W ≥ 80% of the cap`);
    // Damped: the settled price does not swing across decades.
    assert.ok(Math.max(...prices) / Math.min(...prices) < 2, `price swing ${Math.max(...prices) / Math.min(...prices)}×`);
  });

  it('gives the price back when the overload ends', () => {
    const tr = simulate(30, (ms) => (ms < 2000 || ms >= 15_000 ? 2 : 200));
    const end = tr.price[tr.price.length - 1]!;
    assert.ok(Math.max(...tr.price) > 5, 'the price rose under overload');
    assert.ok(Math.abs(end - 1) < 0.05, `the price returns to the base price (${end})`);
    assert.equal(tr.power[tr.power.length - 1], quietPower(tr, 2));
  });

  it('under the cap it never raises the price', () => {
    const tr = simulate(10, () => 5); // 5 bidders: at most 100 W < the 114 W target
    assert.ok(quietPower(tr, 5) <= 100);
    assert.ok(tr.price.every((p) => Math.abs(p - 1) < 1e-9), 'the price stays at its base');
  });

  it('refuses nonsense configuration and input with E_BAD_ARGUMENT', () => {
    for (const init of [{ capW: 0 }, { capW: -5 }, { capW: NaN }, { capW: 100, minPrice: 0 }, { capW: 100, basePrice: 1e9 }, { capW: 100, headroom: 1 }, { capW: 100, maxStepUp: 1 }]) {
      assert.throws(() => new PowerCapController(init), (e) => isMaxwellError(e, 'E_BAD_ARGUMENT'), JSON.stringify(init));
    }
    const c = new PowerCapController({ capW: 100 });
    for (const [ms, w] of [[0, NaN], [0, -1], [NaN, 5], [Infinity, 5]] as const) {
      assert.throws(() => c.update(ms, w), (e) => isMaxwellError(e, 'E_BAD_ARGUMENT'));
    }
    // A clock that steps back changes nothing.
    c.update(1000, 90);
    const p = c.update(2000, 200);
    assert.equal(c.update(1500, 1000), p);
  });
});
