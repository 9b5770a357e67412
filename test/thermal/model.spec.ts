import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import {
  DEFAULT_THERMAL_PARAMS,
  STEP_S_MAX,
  THERMAL_NODES_MAX,
  ThermalModel,
  rackCoupling,
  stepResponseC,
  type Coupling,
  type ThermalParams,
} from '../../src/thermal/model.js';

const P = DEFAULT_THERMAL_PARAMS;
const R = P.resistanceKPerW;
const G = P.airflowWPerK!;
const TAU_S = P.resistanceKPerW * P.capacityJPerK;

function close(actual: number, expected: number, relative = 1e-9, what = ''): void {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} ≠ ${expected} (±${tolerance})`);
}

function badArgument(field: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof MaxwellError, `expected a MaxwellError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.BAD_ARGUMENT);
    assert.ok(err.message.startsWith(`${field}:`), `the message names ${field}: ${err.message}`);
    return true;
  };
}

function coupling(edges: Array<[from: number, to: number, weight: number]>): Coupling {
  return {
    from: Int32Array.from(edges.map((e) => e[0])),
    to: Int32Array.from(edges.map((e) => e[1])),
    weight: Float64Array.from(edges.map((e) => e[2])),
  };
}

// Throttling out of the way, for the tests of the RC dynamics alone.
const NO_THROTTLE: Partial<ThermalParams> = { tMaxC: 190 };

describe('ThermalModel: an isolated node', () => {
  it('follows the closed-form step response exactly, at any dtS', () => {
    for (const dtS of [1e-3, 0.1, 1, 7.3, 60, TAU_S - 0.1, 1000, STEP_S_MAX]) {
      // Three uncoupled nodes: one heating from cold, one cooling, one at zero power.
      const model = new ThermalModel({ nodes: 3, params: NO_THROTTLE, initialC: 30 });
      model.observe(1, 90);
      const demandW = Float64Array.from([400, 150, 0]);
      const t0C = [30, 90, 30];
      const steps = Math.min(2000, Math.ceil((5 * TAU_S) / dtS));
      for (let k = 1; k <= steps; k++) {
        model.step(dtS, demandW);
        for (let i = 0; i < 3; i++) {
          const expected = stepResponseC(t0C[i]!, P.supplyC, demandW[i]!, P, k * dtS);
          close(model.tempC[i]!, expected, 1e-9, `dtS=${dtS} step ${k} node ${i}:`);
        }
      }
      assert.deepEqual([...model.inletC], [P.supplyC, P.supplyC, P.supplyC]);
      assert.deepEqual([...model.deliveredW], [...demandW]);
    }
  });

  it('settles at T = T_in + P·R, and a step far longer than τ does not overshoot', () => {
    const model = new ThermalModel({ nodes: 1, params: NO_THROTTLE });
    const demandW = Float64Array.of(350);
    const steadyC = P.supplyC + 350 * R;
    let previousC = model.tempC[0]!;
    for (let k = 0; k < 50; k++) {
      model.step(STEP_S_MAX, demandW); // 12 τ per step: forward Euler would diverge here
      assert.ok(model.tempC[0]! >= previousC && model.tempC[0]! <= steadyC + 1e-9, `monotone, got ${model.tempC[0]}`);
      previousC = model.tempC[0]!;
    }
    close(model.tempC[0]!, steadyC, 1e-12, 'steady state');
  });

  it('stepResponseC is the closed form and checks its arguments', () => {
    const p = { capacityJPerK: 1000, resistanceKPerW: 0.2 };
    assert.equal(stepResponseC(40, 20, 100, p, 0), 40);
    close(stepResponseC(40, 20, 100, p, 200), 20 + 20 * (1 - Math.exp(-1)) + 20 * Math.exp(-1), 1e-15);
    close(stepResponseC(40, 20, 100, p, 1e9), 40, 1e-15);
    assert.throws(() => stepResponseC(40, 20, 100, p, -1), badArgument('tS'));
    assert.throws(() => stepResponseC(40, 20, 100, { ...p, capacityJPerK: 0 }, 1), badArgument('capacityJPerK'));
    assert.throws(() => stepResponseC(40, 20, 100, { ...p, resistanceKPerW: Number.NaN }, 1), badArgument('resistanceKPerW'));
  });
});

describe('ThermalModel: recirculation', () => {
  it('a hot neighbour warms an inlet by weight × its exhaust rise; no coupling, no flow', () => {
    const w = 0.3;
    // 0 → 1 coupled; node 2 has no coupling at all.
    const model = new ThermalModel({ nodes: 3, params: NO_THROTTLE, coupling: coupling([[0, 1, w]]) });
    model.observe(0, 80);
    model.observe(2, 95);
    model.step(1, new Float64Array(3));
    const exhaust0C = P.supplyC + (80 - P.supplyC) / (R * G); // its inlet was the supply air
    close(model.exhaustC[0]!, exhaust0C, 1e-12, 'exhaust of node 0');
    close(model.inletC[1]!, P.supplyC + w * (exhaust0C - P.supplyC), 1e-12, 'inlet of node 1');
    assert.equal(model.inletC[0], P.supplyC, 'nothing flows back from 1 to 0');
    assert.equal(model.inletC[2], P.supplyC, 'node 2, hot but uncoupled, warms nobody and is warmed by nobody');
    // Node 1 integrated exactly against its warmed inlet.
    close(model.tempC[1]!, stepResponseC(P.supplyC, model.inletC[1]!, 0, P, 1), 1e-12, 'node 1');
  });

  it('a chain settles at the closed-form steady state, exhaust rise cascading', () => {
    // 0 → 1 → 2 with weights a and b; steady state: T_in,i = s + w·(T_ex,j − s), T_ex = T_in + P/G.
    const a = 0.4;
    const b = 0.25;
    const model = new ThermalModel({ nodes: 3, params: NO_THROTTLE, coupling: coupling([[0, 1, a], [1, 2, b]]) });
    const demandW = Float64Array.from([300, 200, 100]);
    for (let k = 0; k < 400; k++) model.step(60, demandW);
    const s = P.supplyC;
    const in0 = s;
    const in1 = s + a * (in0 + 300 / G - s);
    const in2 = s + b * (in1 + 200 / G - s);
    close(model.inletC[1]!, in1, 1e-9, 'inlet 1');
    close(model.inletC[2]!, in2, 1e-9, 'inlet 2');
    close(model.tempC[0]!, in0 + 300 * R, 1e-9, 'node 0');
    close(model.tempC[1]!, in1 + 200 * R, 1e-9, 'node 1');
    close(model.tempC[2]!, in2 + 100 * R, 1e-9, 'node 2');
  });

  it('one supply offset on every node shifts the closed-form steady state by that offset', () => {
    const a = 0.4;
    const b = 0.25;
    const edges = coupling([[0, 1, a], [1, 2, b]]);
    const demandW = Float64Array.from([300, 200, 100]);
    const plain = new ThermalModel({ nodes: 3, params: NO_THROTTLE, coupling: edges });
    const warm = new ThermalModel({ nodes: 3, params: NO_THROTTLE, coupling: edges });
    const offsetC = 7.5;
    warm.supplyOffsetC.fill(offsetC);
    for (let k = 0; k < 400; k++) {
      plain.step(60, demandW);
      warm.step(60, demandW);
    }
    const s = P.supplyC + offsetC;
    const in1 = s + a * (s + 300 / G - s);
    const in2 = s + b * (in1 + 200 / G - s);
    for (let i = 0; i < 3; i++) {
      close(warm.tempC[i]!, plain.tempC[i]! + offsetC, 1e-9, `node ${i} shifted`);
      close(warm.inletC[i]!, plain.inletC[i]! + offsetC, 1e-9, `inlet ${i} shifted`);
    }
    close(warm.inletC[1]!, in1, 1e-9, 'inlet 1');
    close(warm.inletC[2]!, in2, 1e-9, 'inlet 2');
    close(warm.tempC[2]!, in2 + 100 * R, 1e-9, 'node 2');
  });

  it('with offsets on some nodes, a neighbour’s exhaust mixes against the breathing node’s own supply', () => {
    // 0 → 1 → 2; only node 0 is on a failed CRAC (+o). Mixing: T_in,i = (1 − w)(s + o_i) + w·T_ex,j.
    const a = 0.4;
    const b = 0.25;
    const model = new ThermalModel({ nodes: 3, params: NO_THROTTLE, coupling: coupling([[0, 1, a], [1, 2, b]]) });
    const o0C = 8;
    model.supplyOffsetC[0] = o0C;
    const demandW = Float64Array.from([300, 200, 100]);
    for (let k = 0; k < 400; k++) model.step(60, demandW);
    const s = P.supplyC;
    const in0 = s + o0C;
    const in1 = (1 - a) * s + a * (in0 + 300 / G); // node 0's warmer air reaches node 1
    const in2 = (1 - b) * s + b * (in1 + 200 / G);
    close(model.inletC[0]!, in0, 1e-9, 'inlet 0');
    close(model.inletC[1]!, in1, 1e-9, 'inlet 1');
    close(model.inletC[2]!, in2, 1e-9, 'inlet 2');
    assert.ok(in1 > s + a * 300 / G + 1, 'the offset reaches the next node through the recirculated air');
    close(model.tempC[1]!, in1 + 200 * R, 1e-9, 'node 1');
    // An offset on the breathing node alone: its supply share warms, the recirculated air does not.
    const m2 = new ThermalModel({ nodes: 2, params: NO_THROTTLE, coupling: coupling([[0, 1, a]]) });
    m2.supplyOffsetC[1] = o0C;
    const d2 = Float64Array.from([300, 0]);
    for (let k = 0; k < 400; k++) m2.step(60, d2);
    close(m2.inletC[1]!, (1 - a) * (s + o0C) + a * (s + 300 / G), 1e-9, 'inlet of the offset node');
    close(m2.inletC[0]!, s, 1e-12, 'the node upstream is not warmed');
  });

  it('rejects a supply offset out of range, naming it, and leaves the state as it was', () => {
    const model = new ThermalModel({ nodes: 2 });
    model.supplyOffsetC[1] = Number.NaN;
    const before = Float64Array.from(model.tempC);
    assert.throws(() => model.step(1, new Float64Array(2)), badArgument('supplyOffsetC[1]'));
    assert.deepEqual(model.tempC, before);
    model.supplyOffsetC[1] = 51;
    assert.throws(() => model.step(1, new Float64Array(2)), badArgument('supplyOffsetC[1]'));
    model.supplyOffsetC[1] = -3;
    model.step(1, new Float64Array(2));
    close(model.inletC[1]!, P.supplyC - 3, 1e-12, 'a cooler supply');
  });

  it('rackCoupling: below, above and side neighbours with the documented weights', () => {
    const c = rackCoupling({ racks: 3, nodesPerRack: 4, recirculation: 0.2 });
    const into = (i: number): Map<number, number> => {
      const m = new Map<number, number>();
      for (let k = 0; k < c.weight.length; k++) if (c.to[k] === i) m.set(c.from[k]!, c.weight[k]!);
      return m;
    };
    // Node 5 = rack 1, slot 1: below 4, above 6, racks either side 1 and 9.
    assert.deepEqual(into(5), new Map([[4, 0.2], [6, 0.05], [1, 0.025], [9, 0.025]]));
    // Node 0 = rack 0, slot 0 (bottom, end of row): only above and one side.
    assert.deepEqual(into(0), new Map([[1, 0.05], [4, 0.025]]));
    // Node 11 = rack 2, slot 3 (top, end of row): below, over the top from itself, one side.
    assert.deepEqual(into(11), new Map([[10, 0.2], [11, 0.05], [7, 0.025]]));
    // Per rack: 3 below + 4 above edges; 2 × 4 side edges between each pair of racks.
    assert.equal(c.weight.length, 3 * 7 + 2 * 2 * 4);
    assert.equal(rackCoupling({ racks: 3, nodesPerRack: 4, recirculation: 0 }).weight.length, 0);
    assert.throws(() => rackCoupling({ racks: 0, nodesPerRack: 4, recirculation: 0.1 }), badArgument('racks'));
    assert.throws(() => rackCoupling({ racks: 2, nodesPerRack: 1.5, recirculation: 0.1 }), badArgument('nodesPerRack'));
    assert.throws(() => rackCoupling({ racks: 2, nodesPerRack: 4, recirculation: 0.6 }), badArgument('recirculation'));
    assert.throws(() => rackCoupling({ racks: 1000, nodesPerRack: 101, recirculation: 0.1 }), badArgument('racks'));
  });

  it('in a rack at equal load, each node runs hotter than the one below it', () => {
    for (const recirculation of [0.05, 0.3, 0.5]) {
      const model = new ThermalModel({ nodes: 16, params: NO_THROTTLE, coupling: rackCoupling({ racks: 2, nodesPerRack: 8, recirculation }) });
      const demandW = new Float64Array(16).fill(300);
      for (let k = 0; k < 200; k++) model.step(30, demandW);
      for (let i = 1; i < 8; i++) assert.ok(model.tempC[i]! > model.tempC[i - 1]!, `r=${recirculation}: slot ${i} hotter than slot ${i - 1}`);
    }
  });
});

describe('ThermalModel: throttling', () => {
  it('starts above tMaxC, ends below tMaxC − hysteresis, delivers demand × fraction, counts its seconds', () => {
    const params: Partial<ThermalParams> = { tMaxC: 70, throttleHysteresisC: 5, throttleFraction: 0.5 };
    const model = new ThermalModel({ nodes: 1, params });
    // Unthrottled it would settle at 22 + 500·0.12 = 82 °C, throttled at 52 °C: it must cycle.
    const demandW = Float64Array.of(500);
    let throttledSteps = 0;
    let starts = 0;
    let ends = 0;
    const dtS = 2;
    for (let k = 0; k < 5000; k++) {
      const startC = model.tempC[0]!;
      const wasOn = model.throttled[0]!;
      model.step(dtS, demandW);
      const on = model.throttled[0]!;
      if (wasOn === 0) assert.equal(on, startC > 70 ? 1 : 0, `step ${k}: starts iff above 70 (was ${startC})`);
      else assert.equal(on, startC < 65 ? 0 : 1, `step ${k}: ends iff below 65 (was ${startC})`);
      if (on === 1 && wasOn === 0) starts++;
      if (on === 0 && wasOn === 1) ends++;
      assert.equal(model.deliveredW[0], on === 1 ? 250 : 500);
      if (on === 1) throttledSteps++;
      assert.ok(model.tempC[0]! < 71, `the throttle holds it near tMaxC, got ${model.tempC[0]}`);
    }
    assert.ok(starts >= 3 && ends >= 3, `it cycled: ${starts} starts, ${ends} ends`);
    assert.equal(model.throttledS[0], throttledSteps * dtS);
  });

  it('a node exactly at tMaxC does not throttle; exactly at tMaxC − hysteresis stays throttled', () => {
    const model = new ThermalModel({ nodes: 1, params: { tMaxC: 70, throttleHysteresisC: 5 } });
    model.observe(0, 70);
    model.step(1, Float64Array.of(100));
    assert.equal(model.throttled[0], 0);
    model.observe(0, 70.001);
    model.step(1, Float64Array.of(100));
    assert.equal(model.throttled[0], 1);
    model.observe(0, 65);
    model.step(1, Float64Array.of(100));
    assert.equal(model.throttled[0], 1);
    model.observe(0, 64.999);
    model.step(1, Float64Array.of(100));
    assert.equal(model.throttled[0], 0);
    assert.equal(model.throttledS[0], 2);
  });
});

describe('ThermalModel: observe', () => {
  it('a measured temperature replaces the estimate and the model carries on from it', () => {
    const model = new ThermalModel({ nodes: 2, params: NO_THROTTLE });
    const demandW = Float64Array.from([200, 200]);
    for (let k = 0; k < 10; k++) model.step(10, demandW);
    model.observe(1, 55);
    assert.equal(model.tempC[1], 55);
    model.step(30, demandW);
    close(model.tempC[1]!, stepResponseC(55, P.supplyC, 200, P, 30), 1e-12, 'from the observation');
    assert.throws(() => model.observe(2, 40), badArgument('i'));
    assert.throws(() => model.observe(-1, 40), badArgument('i'));
    assert.throws(() => model.observe(0.5, 40), badArgument('i'));
    assert.throws(() => model.observe(0, Number.NaN), badArgument('tempC'));
    assert.throws(() => model.observe(0, 1000), badArgument('tempC'));
  });
});

describe('ThermalModel: bad input', () => {
  it('rejects bad sizes, parameters and initial temperatures, naming the field', () => {
    assert.throws(() => new ThermalModel({ nodes: 0 }), badArgument('nodes'));
    assert.throws(() => new ThermalModel({ nodes: THERMAL_NODES_MAX + 1 }), badArgument('nodes'));
    assert.throws(() => new ThermalModel({ nodes: 2.5 }), badArgument('nodes'));
    const bad: Array<[Partial<ThermalParams>, string]> = [
      [{ capacityJPerK: 0 }, 'capacityJPerK'],
      [{ capacityJPerK: Number.POSITIVE_INFINITY }, 'capacityJPerK'],
      [{ resistanceKPerW: -0.1 }, 'resistanceKPerW'],
      [{ supplyC: Number.NaN }, 'supplyC'],
      [{ tMaxC: 20 }, 'tMaxC'],
      [{ throttleHysteresisC: -1 }, 'throttleHysteresisC'],
      [{ throttleHysteresisC: 100 }, 'throttleHysteresisC'],
      [{ throttleFraction: 0 }, 'throttleFraction'],
      [{ throttleFraction: 1 }, 'throttleFraction'],
      [{ idlePowerW: -5 }, 'idlePowerW'],
      [{ airflowWPerK: 0 }, 'airflowWPerK'],
      [{ airflowWPerK: 5 }, 'airflowWPerK'], // R·G = 0.6 < 1: exhaust hotter than the node
    ];
    for (const [params, field] of bad) assert.throws(() => new ThermalModel({ nodes: 1, params }), badArgument(field));
    assert.throws(() => new ThermalModel({ nodes: 1, params: { tMaxc: 80 } as Partial<ThermalParams> }), badArgument('params.tMaxc'));
    assert.throws(() => new ThermalModel({ nodes: 1, initialC: 500 }), badArgument('initialC'));
  });

  it('rejects bad couplings', () => {
    const cases: Array<[Coupling, string]> = [
      [coupling([[0, 2, 0.1]]), 'coupling.to[0]'],
      [coupling([[1, 0, 0.1], [-1, 0, 0.1]]), 'coupling.from[1]'],
      [coupling([[0, 1, 1]]), 'coupling.weight[0]'],
      [coupling([[0, 1, Number.NaN]]), 'coupling.weight[0]'],
      [coupling([[0, 1, 0.6], [1, 1, 0.4]]), 'coupling.weight'], // row sum 1
      [{ from: new Int32Array(1), to: new Int32Array(2), weight: new Float64Array(1) }, 'coupling'],
      [{ from: [0] as unknown as Int32Array, to: new Int32Array(1), weight: new Float64Array(1) }, 'coupling.from'],
    ];
    for (const [c, field] of cases) assert.throws(() => new ThermalModel({ nodes: 2, coupling: c }), badArgument(field));
  });

  it('rejects bad steps and leaves the state as it was', () => {
    const model = new ThermalModel({ nodes: 2 });
    model.step(5, Float64Array.from([300, 300]));
    const before = [...model.tempC, ...model.inletC, ...model.deliveredW];
    for (const dtS of [0, -1, Number.NaN, STEP_S_MAX + 1, Number.POSITIVE_INFINITY]) {
      assert.throws(() => model.step(dtS, Float64Array.from([1, 1])), badArgument('dtS'));
    }
    assert.throws(() => model.step(1, new Float64Array(3)), badArgument('demandW'));
    assert.throws(() => model.step(1, [1, 1] as unknown as Float64Array), badArgument('demandW'));
    assert.throws(() => model.step(1, Float64Array.from([1, -1])), badArgument('demandW[1]'));
    assert.throws(() => model.step(1, Float64Array.from([Number.NaN, 1])), badArgument('demandW[0]'));
    assert.throws(() => model.step(1, Float64Array.from([1, 1e9])), badArgument('demandW[1]'));
    assert.deepEqual([...model.tempC, ...model.inletC, ...model.deliveredW], before);
  });
});

describe('ThermalModel: cost', () => {
  it('runs 1,000 nodes × 3,600 one-second steps', () => {
    const nodes = 1000;
    const model = new ThermalModel({ nodes, coupling: rackCoupling({ racks: 25, nodesPerRack: 40, recirculation: 0.3 }) });
    const demandW = new Float64Array(nodes);
    for (let i = 0; i < nodes; i++) demandW[i] = P.idlePowerW + (i % 7) * 40;
    const started = process.hrtime.bigint();
    for (let k = 0; k < 3600; k++) {
      demandW[k % nodes] = P.idlePowerW + (k % 5) * 50; // the driver changes some demand every step
      model.step(1, demandW);
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    let throttledNodes = 0;
    for (let i = 0; i < nodes; i++) throttledNodes += model.throttledS[i]! > 0 ? 1 : 0;
    console.log(
      `# thermal model: 1,000 nodes × 3,600 steps (${model.couplings} couplings) in ${elapsedMs.toFixed(1)} ms ` +
        `(${((elapsedMs * 1000) / 3600).toFixed(1)} µs a step); hottest ${Math.max(...model.tempC).toFixed(1)} °C, ${throttledNodes} nodes throttled at some point`,
    );
    // Expected well under a second; the bound is generous so a loaded CI machine cannot fail it.
    assert.ok(elapsedMs < 10_000, `took ${elapsedMs} ms`);
    for (let i = 0; i < nodes; i++) assert.ok(Number.isFinite(model.tempC[i]!));
  });
});
