// Cooling failures (docs/heat-sim.md, "Cooling"): drawn from their own stream, they warm the
// supply air of the racks they hit and of no other, and maxwell's dispatcher, hearing the hit
// nodes' prices rise, sends them less work than a blind round-robin does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import { runSimulation, scenarioFor, simConfig, simulate, type SimConfig, type Simulator } from '../../src/sim/index.js';
import { coolingLine } from '../../src/sim/report.js';
import { coolingEndMs, coolingRiseC, type CoolingEvent } from '../../src/sim/scenario.js';

const quiet: Partial<SimConfig> = { alarms: 0, failures: { mtbfH: 0, repairS: 600 }, slow: { fraction: 0, ms: 0 } };

describe('cooling failures in the scenario', () => {
  it('are drawn from their own stream: turning them on changes no other draw', () => {
    const on = scenarioFor(simConfig({ nodes: 200, racks: 8, durationS: 3600, cooling: { failuresPerH: 6 } as SimConfig['cooling'] }));
    const off = scenarioFor(simConfig({ nodes: 200, racks: 8, durationS: 3600, cooling: { failuresPerH: 0 } as SimConfig['cooling'] }));
    assert.ok(on.cooling.length >= 2, `several failures in an hour at 6 an hour (${on.cooling.length})`);
    assert.equal(off.cooling.length, 0);
    assert.deepEqual(on.arrivals.tMs, off.arrivals.tMs);
    assert.deepEqual(on.arrivals.workS, off.arrivals.workS);
    assert.deepEqual(on.failures, off.failures);
    assert.deepEqual(on.stalls, off.stalls);
    assert.deepEqual(on.alarms, off.alarms);
    const c = simConfig({}).cooling;
    for (let k = 0; k < on.cooling.length; k++) {
      const e = on.cooling[k]!;
      if (k > 0) assert.ok(e.startMs >= on.cooling[k - 1]!.startMs, 'by start time');
      assert.ok(e.racks >= 1 && e.racks <= c.racksMax && e.rack >= 0 && e.rack + e.racks <= 8, `racks ${e.rack}+${e.racks} in the row`);
      assert.ok(e.riseC >= c.riseMinC && e.riseC <= c.riseMaxC, `rise ${e.riseC}`);
      assert.ok(e.holdMs >= c.holdMinS * 1000 && e.holdMs <= c.holdMaxS * 1000, `hold ${e.holdMs}`);
    }
    // The static gradient: 0 at the first rack, rowGradientC at the last, linear between.
    assert.equal(on.rackSupplyOffsetC[0], 0);
    assert.ok(Math.abs(on.rackSupplyOffsetC[7]! - c.rowGradientC) < 1e-12);
    assert.ok(Math.abs(on.rackSupplyOffsetC[3]! - (3 / 7) * c.rowGradientC) < 1e-12);
  });

  it('ramp in, hold, ramp out', () => {
    const e: CoolingEvent = { startMs: 1000, rack: 0, racks: 1, riseC: 8, rampMs: 100, holdMs: 500 };
    assert.equal(coolingRiseC(e, 1000), 0);
    assert.equal(coolingRiseC(e, 1050), 4);
    assert.equal(coolingRiseC(e, 1100), 8);
    assert.equal(coolingRiseC(e, 1600), 8);
    assert.equal(coolingRiseC(e, 1650), 4);
    assert.equal(coolingRiseC(e, coolingEndMs(e)), 0);
    assert.equal(coolingRiseC(e, 5000), 0);
  });

  it('bad cooling settings are refused, naming the field', () => {
    const refuses = (cooling: Partial<SimConfig['cooling']>, field: string) =>
      assert.throws(() => simConfig({ nodes: 8, racks: 2, cooling: cooling as SimConfig['cooling'] }), (err: unknown) =>
        err instanceof MaxwellError && err.code === ErrorCode.BAD_ARGUMENT && err.message.includes(field));
    refuses({ riseMinC: 9, riseMaxC: 8 }, 'cooling.riseMaxC');
    refuses({ racksMax: 3 }, 'cooling.racksMax');
    refuses({ holdMinS: 100, holdMaxS: 50 }, 'cooling.holdMaxS');
    refuses({ failuresPerH: -1 }, 'cooling.failuresPerH');
    refuses({ rowGradientC: Number.NaN }, 'cooling.rowGradientC');
  });

  it('a one-rack room takes the default cooling (a failure warms its one rack) and runs', () => {
    assert.equal(simConfig({ nodes: 10, racks: 1 }).cooling.racksMax, 1);
    const { summary } = simulate({ nodes: 10, racks: 1, durationS: 120, alarms: 0, cooling: { failuresPerH: 120 } as SimConfig['cooling'] }, ['maxwell']);
    assert.ok(summary.policies[0]!.cooling_events > 0);
    assert.equal(summary.policies[0]!.event_arrivals_ratio, null); // no unhit rack to compare with
    assert.match(coolingLine(summary.policies[0]!), /no unhit rack to compare with/);
  });

  it('bad run settings are refused before anything runs, naming the field', () => {
    const refuses = (partial: Partial<SimConfig>, field: string, code: string = ErrorCode.BAD_ARGUMENT) =>
      assert.throws(() => simConfig({ nodes: 8, racks: 2, ...partial }), (err: unknown) =>
        err instanceof MaxwellError && err.code === code && err.message.includes(field), field);
    refuses({ durationS: 10.5 }, 'whole number of steps');
    refuses({ stepS: 0 }, 'stepS');
    refuses({ migration: { fixedS: -1, sPerGiB: 0.8, jPerGiB: 150 } }, 'migration.fixedS');
    refuses({ workload: { ...simConfig({}).workload, periodS: 0 } }, 'workload.periodS');
    refuses({ price: { loadWeight: 4, utilTauS: 0 } }, 'price.utilTauS');
    refuses({ deadPollMs: 0 }, 'deadPollMs');
    refuses({ maxJobsPerNode: 2048, nodes: 8000, racks: 8, policy: 'fair-share' }, 'maxJobsPerNode', ErrorCode.SIM_LIMIT);
    refuses({ samples: 10_000, heatMapRows: 10_000 }, 'heatMapRows', ErrorCode.SIM_LIMIT);
    refuses({ maxQueue: 10_000_000 }, 'maxQueue', ErrorCode.SIM_LIMIT);
    // A step of a minute with the default drain interval (10 s): nodes drain every step.
    assert.equal(simConfig({ nodes: 8, racks: 2, stepS: 60 }).drain.intervalS, 10);
  });
});

/** 4 racks × 4 nodes, light load, one failure on rack 0 from 60 s, 8 °C, no gradient and no drawn failures. */
function inletRun(event: boolean) {
  const config = simConfig({
    ...quiet, nodes: 16, racks: 4, durationS: 600, seed: 5, policy: 'round-robin',
    cooling: { failuresPerH: 0, racksMax: 1, riseMinC: 8, riseMaxC: 8, holdMinS: 300, holdMaxS: 300, rampS: 60, rowGradientC: 0 },
    workload: { inferLoad: 0.3, looperLoad: 0, inferWorkMeanS: 60, looperLifeS: 300, looperDeadlineS: 600, swing: 0, periodS: 1800, burstFactor: 1 },
  });
  const scenario = scenarioFor(config);
  if (event) scenario.cooling = [{ startMs: 60_000, rack: 0, racks: 1, riseC: 8, rampMs: 60_000, holdMs: 300_000 }];
  const inlet: number[][] = [];
  const temp: number[][] = [];
  const r = runSimulation(config, {
    scenario,
    afterStep: (sim: Simulator, nowMs: number) => {
      if (nowMs === 400_000) {
        inlet.push(Array.from(sim.thermal.inletC));
        temp.push(Array.from(sim.thermal.tempC));
      }
    },
  });
  return { inlet: inlet[0]!, temp: temp[0]!, m: r.metrics };
}

describe('a cooling failure in the physics', () => {
  it('warms the hit rack’s inlets and nodes; the next rack a little, by its leak; the others not at all', () => {
    const base = inletRun(false);
    const hit = inletRun(true);
    assert.equal(base.m.throttledNodeS, 0, 'light load: nothing throttles, so round-robin places alike in both runs');
    assert.equal(hit.m.coolingEvents, 1);
    for (let i = 0; i < 16; i++) {
      const rack = Math.floor(i / 4);
      const dIn = hit.inlet[i]! - base.inlet[i]!;
      const dT = hit.temp[i]! - base.temp[i]!;
      if (rack === 0) {
        // Its supply share at least (1 − 1.5 × 0.42 of recirculated air), more where the warmer
        // exhaust below it comes back round.
        assert.ok(dIn >= 8 * (1 - 1.5 * 0.42) - 1e-9 && dIn <= 8 + 1e-9, `node ${i}: inlet +${dIn}`);
        assert.ok(dT > 2.5, `node ${i}: +${dT} °C`);
      } else if (rack === 1) {
        assert.ok(dIn > 0 && dIn < 1, `node ${i}, the next rack: inlet +${dIn} (hot-aisle leak only)`);
      } else {
        assert.ok(Math.abs(dIn) < 0.05 && Math.abs(dT) < 0.05, `node ${i}, far away: ${dIn}, ${dT}`);
      }
    }
    assert.equal(hit.m.eventNodeS, 4 * (60 + 300 + 60 - 1), 'four nodes, from the first step the rise is above 0 to the last');
  });
});

describe('where the work goes during a cooling failure', () => {
  // 8 racks × 5 nodes, one failure of 12 °C on racks 2 and 3 from the fifth minute to the end.
  function run(policy: SimConfig['policy']) {
    const config = simConfig({ ...quiet, nodes: 40, racks: 8, durationS: 1200, seed: 11, policy, cooling: { ...simConfig({}).cooling, failuresPerH: 0 } });
    const scenario = scenarioFor(config);
    scenario.cooling = [{ startMs: 300_000, rack: 2, racks: 2, riseC: 12, rampMs: 90_000, holdMs: 900_000 }];
    return runSimulation(config, { scenario }).metrics;
  }

  it('maxwell sends the hit racks clearly less work than round-robin does; no-gossip, blind, does not', () => {
    const mx = run('maxwell');
    const ng = run('no-gossip');
    const rr = run('round-robin');
    assert.ok(Math.abs(rr.eventArrivalsRatio - 1) < 0.1, `round-robin: ${rr.eventArrivalsRatio} arrivals per hit node ÷ per other`);
    assert.ok(Math.abs(ng.eventArrivalsRatio - 1) < 0.1, `no-gossip: ${ng.eventArrivalsRatio}`);
    assert.ok(mx.eventArrivalsRatio < 0.9 * rr.eventArrivalsRatio, `maxwell: ${mx.eventArrivalsRatio} against round-robin's ${rr.eventArrivalsRatio}`);
    assert.ok(mx.eventBusyRatio < ng.eventBusyRatio - 0.05, `busy cores on the hit racks: maxwell ${mx.eventBusyRatio}, no-gossip ${ng.eventBusyRatio}`);
    // Both sell cores at a price their own heat raises, which keeps both from throttling here
    // (their heat reaches 1 at tMax); only maxwell's work also leaves and stays away, so its
    // hottest node stays cooler. Round-robin, without even a local price, throttles.
    assert.ok(rr.eventThrottledNodeS > 0, `round-robin's hit racks throttle (${rr.eventThrottledNodeS} node-s)`);
    assert.ok(mx.eventThrottledNodeS <= ng.eventThrottledNodeS && ng.eventThrottledNodeS < rr.eventThrottledNodeS);
    assert.ok(mx.peakTempC < ng.peakTempC - 0.5, `the hottest node: maxwell ${mx.peakTempC} °C, no-gossip ${ng.peakTempC} °C`);
    assert.ok(ng.peakTempC < rr.peakTempC);
  });
});
