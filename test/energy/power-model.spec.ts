import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../src/assert.js';
import {
  ACTIVE_POWER_PER_CORE_W_DEFAULT,
  defaultPowerModelParams,
  NodePowerModel,
  powerModelParamsFromPeak,
  validatePowerModelParams,
} from '../../src/energy/power-model.js';

// 8 cores at 10 W each above a 100 W idle: peak 180 W.
const model = new NodePowerModel({ idlePowerW: 100, activePowerPerCoreW: 10, cores: 8 });

describe('NodePowerModel', () => {
  it('is P_idle + (P_max − P_idle) × utilisation', () => {
    assert.equal(model.maxPowerW, 180);
    assert.equal(model.powerAt(0).powerW, 100);
    assert.equal(model.powerAt(1).powerW, 180);
    assert.equal(model.powerAt(0.5).powerW, 140);
    assert.equal(model.powerAt(0.25).powerW, 120);
    assert.equal(model.powerAt(1 / 8).powerW, 110);
  });

  it('clamps utilisation to [0, 1] and says what it used', () => {
    assert.deepEqual(
      [model.powerAt(-0.5).powerW, model.powerAt(-0.5).utilisation],
      [100, 0],
    );
    assert.deepEqual([model.powerAt(3).powerW, model.powerAt(3).utilisation], [180, 1]);
    assert.equal(model.powerAt(Infinity).powerW, 180);
    assert.throws(() => model.powerAt(Number.NaN), AssertionError);
  });

  it('labels every figure estimated', () => {
    assert.equal(model.powerAt(0.3).source, 'estimated');
    assert.equal(model.energyOver(0.3, 10).source, 'estimated');
    assert.equal(model.activeEnergyUj(10).source, 'estimated');
  });

  it('gives energy over an interval in integer µJ', () => {
    // 100 W for 10 ms is 1 J exactly: floating-point noise must not round it up a µJ.
    assert.equal(model.energyOver(0, 10).energyUj, 1_000_000);
    assert.equal(model.energyOver(1, 1).energyUj, 180_000);
    assert.equal(model.energyOver(0.5, 2.5).energyUj, 350_000);
    assert.equal(model.energyOver(0.5, 0).energyUj, 0);
    assert.equal(model.energyOver(2, 1).utilisation, 1);
    for (let ms = 0; ms < 50; ms += 0.1) {
      const { energyUj } = model.energyOver(0.37, ms);
      assert.ok(Number.isSafeInteger(energyUj));
      assert.ok(energyUj >= (100 + 80 * 0.37) * ms * 1e3 - 1e-6, `never rounds down at ${ms} ms`);
    }
  });

  it('rounds a fractional µJ up, as charges are', () => {
    const small = new NodePowerModel({ idlePowerW: 0.3333, activePowerPerCoreW: 0, cores: 1 });
    // 0.3333 W × 1 ms = 333.3 µJ.
    assert.equal(small.energyOver(0, 1).energyUj, 334);
  });

  it('gives the energy of one busy core above idle', () => {
    assert.equal(model.activeEnergyUj(1000).energyUj, 10_000_000);
    assert.equal(model.activeEnergyUj(0.5).energyUj, 5_000);
    assert.throws(() => model.activeEnergyUj(-1), AssertionError);
  });

  it('asserts valid parameters and intervals', () => {
    assert.throws(() => new NodePowerModel({ idlePowerW: 100, activePowerPerCoreW: 10, cores: 0 }), AssertionError);
    assert.throws(() => new NodePowerModel({ idlePowerW: 100, activePowerPerCoreW: 10, cores: 1.5 }), AssertionError);
    assert.throws(() => new NodePowerModel({ idlePowerW: -1, activePowerPerCoreW: 10, cores: 1 }), AssertionError);
    assert.throws(() => new NodePowerModel({ idlePowerW: Number.NaN, activePowerPerCoreW: 10, cores: 1 }), AssertionError);
    assert.throws(() => new NodePowerModel({ idlePowerW: 100, activePowerPerCoreW: -3, cores: 1 }), AssertionError);
    assert.throws(() => new NodePowerModel({ idlePowerW: 100, activePowerPerCoreW: 1e6, cores: 8 }), AssertionError);
    assert.throws(() => model.energyOver(0.5, -1), AssertionError);
    assert.throws(() => model.energyOver(0.5, Infinity), AssertionError);
  });

  it('validates parameters for config code without throwing', () => {
    assert.equal(validatePowerModelParams({ idlePowerW: 100, activePowerPerCoreW: 10, cores: 8 }), undefined);
    assert.match(validatePowerModelParams({ idlePowerW: 100, activePowerPerCoreW: 10, cores: 0 }) ?? '', /cores/);
    assert.match(validatePowerModelParams({ idlePowerW: 100e6, activePowerPerCoreW: 0, cores: 1 }) ?? '', /units/);
  });
});

describe('power model parameters', () => {
  it('defaults to idle at half of peak with the documented per-core figure', () => {
    const params = defaultPowerModelParams(16);
    assert.equal(params.activePowerPerCoreW, ACTIVE_POWER_PER_CORE_W_DEFAULT);
    assert.equal(params.cores, 16);
    const m = new NodePowerModel(params);
    assert.equal(m.idlePowerW, 16 * ACTIVE_POWER_PER_CORE_W_DEFAULT);
    assert.equal(m.idlePowerW / m.maxPowerW, 0.5);
    assert.deepEqual(NodePowerModel.forCores(16).params, params);
    const lean = new NodePowerModel(defaultPowerModelParams(4, 5, 0.25));
    assert.ok(Math.abs(lean.idlePowerW / lean.maxPowerW - 0.25) < 1e-12);
  });

  it('derives the per-core figure from a measured idle and peak', () => {
    assert.deepEqual(powerModelParamsFromPeak(100, 180, 8), { idlePowerW: 100, activePowerPerCoreW: 10, cores: 8 });
    assert.throws(() => powerModelParamsFromPeak(180, 100, 8), AssertionError);
  });
});
