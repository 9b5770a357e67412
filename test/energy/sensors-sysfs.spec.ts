import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import {
  listHwmonChips,
  listRaplZones,
  listThermalZones,
  probeSensors,
  raplDeltaUj,
  raplInterval,
  readRaplCounter,
  RaplMeter,
  type SensorProblem,
} from '../../src/energy/sensors/index.js';
import { AssertionError } from '../../src/assert.js';

// From dist/test/energy/ the repository root is three levels up.
const repoRoot = new URL('../../../', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(`test/fixtures/${name}`, repoRoot));

const FULL = fixture('sys-full');
const EMPTY = fixture('sys-empty');
const MALFORMED = fixture('sys-malformed');
const WRAP_T0 = fixture('sys-rapl-wrap-t0');
const WRAP_T1 = fixture('sys-rapl-wrap-t1');
const MAX_RANGE_UJ = 262143328850n;

function isUnreadable(fileSuffix: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof MaxwellError, `expected a MaxwellError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.SENSOR_UNREADABLE);
    const file = err.detail['file'];
    assert.equal(typeof file, 'string');
    assert.ok((file as string).endsWith(fileSuffix), `${String(file)} names ${fileSuffix}`);
    assert.ok(err.message.includes(fileSuffix), `the message names the file: ${err.message}`);
    return true;
  };
}

describe('RAPL zones', () => {
  it('lists package, subzones and psys, ignores the control type and the MMIO duplicate', async () => {
    const zones = await listRaplZones(FULL);
    assert.deepEqual(
      zones.map((z) => [z.id, z.name, z.parentId ?? null]),
      [
        ['intel-rapl:0', 'package-0', null],
        ['intel-rapl:0:0', 'core', 'intel-rapl:0'],
        ['intel-rapl:0:1', 'dram', 'intel-rapl:0'],
        ['intel-rapl:1', 'package-1', null],
        ['intel-rapl:1:0', 'dram', 'intel-rapl:1'],
        ['intel-rapl:2', 'psys', null],
      ],
    );
    assert.equal(zones[2]!.maxRangeUj, 65712999613n);
  });

  it('sums packages and dram only: core is inside the package, psys contains it', async () => {
    const zones = await listRaplZones(FULL);
    const summed = zones.filter((z) => z.summed).map((z) => z.id);
    assert.deepEqual(summed, ['intel-rapl:0', 'intel-rapl:0:1', 'intel-rapl:1', 'intel-rapl:1:0']);
  });

  it('reads counters exactly, as measured bigints', async () => {
    const [pkg] = await listRaplZones(FULL);
    const reading = await readRaplCounter(pkg!);
    assert.equal(reading.counterUj, 123456789n);
    assert.equal(reading.source, 'measured');
    assert.equal(reading.sensor, 'intel-rapl:0');
    assert.equal(reading.label, 'package-0');
  });

  it('finds nothing on a machine without RAPL, or without /sys at all', async () => {
    assert.deepEqual(await listRaplZones(EMPTY), []);
    assert.deepEqual(await listRaplZones(fixture('no-such-tree')), []);
    assert.equal(await RaplMeter.open({ root: EMPTY }), undefined);
  });
});

describe('RAPL wrap-around', () => {
  it('computes deltas without and across a wrap', () => {
    assert.equal(raplDeltaUj(100n, 350n, 1000n), 250n);
    assert.equal(raplDeltaUj(900n, 100n, 1000n), 200n);
    assert.equal(raplDeltaUj(500n, 500n, 1000n), 0n);
    assert.equal(raplDeltaUj(MAX_RANGE_UJ - 1n, 1n, MAX_RANGE_UJ), 2n);
  });

  it('recovers every delta below one range from wrapped readings', () => {
    // A deterministic sweep: prev and delta over the range, now = (prev + delta) mod range.
    const range = 262143328850n;
    for (let i = 0n; i < 500n; i++) {
      const prev = (i * 7919n * 104729n) % range;
      const delta = (i * 15485863n * 31n) % range;
      const now = (prev + delta) % range;
      assert.equal(raplDeltaUj(prev, now, range), delta, `prev ${prev} delta ${delta}`);
    }
  });

  it('asserts on readings outside the range (the reader must have rejected them)', () => {
    assert.throws(() => raplDeltaUj(1001n, 5n, 1000n), AssertionError);
    assert.throws(() => raplDeltaUj(1n, 5n, 0n), AssertionError);
  });

  it('gives joules and watts per zone when the package counter wraps between two samples', async () => {
    const before = await RaplMeter.open({ root: WRAP_T0, clockNs: () => 5_000_000_000n });
    const after = await RaplMeter.open({ root: WRAP_T1, clockNs: () => 5_100_000_000n });
    assert.ok(before !== undefined && after !== undefined);
    const a = await before.sample();
    const b = await after.sample();
    const interval = before.interval(a, b);
    assert.equal(interval.durationMs, 100);
    const pkg = interval.zones.find((z) => z.sensor === 'intel-rapl:0');
    const dram = interval.zones.find((z) => z.sensor === 'intel-rapl:0:0');
    assert.ok(pkg && dram);
    // 262143328850 − 262143000000 = 328850 µJ to the top, then 500000 µJ after the wrap.
    assert.equal(pkg.energyUj, 828850);
    assert.equal(pkg.wrapped, true);
    assert.equal(pkg.energyJ, 0.82885);
    assert.ok(Math.abs(pkg.powerW - 8.2885) < 1e-9, `${pkg.powerW}`);
    assert.equal(dram.energyUj, 300000);
    assert.equal(dram.wrapped, false);
    assert.ok(interval.total);
    assert.equal(interval.total.energyUj, 1128850);
    assert.ok(Math.abs(interval.total.powerW - 11.2885) < 1e-9);
    assert.deepEqual(interval.total.zones, ['intel-rapl:0', 'intel-rapl:0:0']);
    assert.equal(interval.total.source, 'measured');
  });

  it('leaves out a zone missing from one sample instead of reporting 0', async () => {
    const meter = await RaplMeter.open({ root: WRAP_T0, clockNs: () => 1n });
    assert.ok(meter);
    const a = await meter.sample();
    const b = { atNs: 2n, counters: a.counters.filter((c) => c.sensor !== 'intel-rapl:0:0') };
    const interval = raplInterval(a, b);
    assert.deepEqual(interval.zones.map((z) => z.sensor), ['intel-rapl:0']);
    assert.equal(interval.zones[0]!.energyUj, 0);
  });

  it('refuses two samples out of order', async () => {
    const meter = await RaplMeter.open({ root: WRAP_T0, clockNs: () => 7n });
    assert.ok(meter);
    const a = await meter.sample();
    assert.throws(() => raplInterval(a, a), AssertionError);
  });
});

describe('malformed sensor files', () => {
  it('names the RAPL file whose counter is not a number', async () => {
    const zones = await listRaplZones(MALFORMED, []);
    const bad = zones.find((z) => z.id === 'intel-rapl:0');
    assert.ok(bad);
    await assert.rejects(readRaplCounter(bad), isUnreadable('intel-rapl:0/energy_uj'));
  });

  it('rejects a counter above its range and a zero range', async () => {
    const problems: SensorProblem[] = [];
    const zones = await listRaplZones(MALFORMED, problems);
    assert.deepEqual(zones.map((z) => z.id), ['intel-rapl:0', 'intel-rapl:1', 'intel-rapl:3']);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.sensor, 'intel-rapl:2');
    assert.ok(problems[0]!.file?.endsWith('intel-rapl:2/max_energy_range_uj'));
    await assert.rejects(readRaplCounter(zones[2]!), isUnreadable('intel-rapl:3/energy_uj'));
    // The strict listing throws at the first bad zone.
    await assert.rejects(listRaplZones(MALFORMED), isUnreadable('intel-rapl:2/max_energy_range_uj'));
    await assert.rejects(RaplMeter.open({ root: MALFORMED }), isUnreadable('max_energy_range_uj'));
  });

  it('names the hwmon and thermal files, and still reads their neighbours', async () => {
    await assert.rejects(listHwmonChips(MALFORMED), isUnreadable('hwmon0/temp1_input'));
    await assert.rejects(listThermalZones(MALFORMED), isUnreadable('thermal_zone0/temp'));
    const problems: SensorProblem[] = [];
    const chips = await listHwmonChips(MALFORMED, problems);
    assert.deepEqual(chips[0]!.temps.map((t) => [t.sensor, t.tempC]), [['hwmon0/temp2_input', 40]]);
    const zones = await listThermalZones(MALFORMED, problems);
    assert.deepEqual(zones.map((z) => [z.sensor, z.tempC]), [['thermal_zone1', 30]]);
    assert.deepEqual(problems.map((p) => p.sensor), ['hwmon0/temp1_input', 'thermal_zone0']);
    assert.ok(problems.every((p) => p.code === ErrorCode.SENSOR_UNREADABLE));
  });
});

describe('hwmon', () => {
  it('reads temperatures, power and energy in their units, in natural order', async () => {
    const chips = await listHwmonChips(FULL);
    assert.deepEqual(chips.map((c) => [c.sensor, c.name]), [
      ['hwmon0', 'coretemp'],
      ['hwmon1', 'power_meter'],
      ['hwmon2', 'amd_energy'],
      ['hwmon10', 'nvme'],
    ]);
    const [coretemp, meter, energy, nvme] = chips;
    assert.deepEqual(
      coretemp!.temps.map((t) => [t.sensor, t.label, t.tempC, t.source]),
      [
        ['hwmon0/temp1_input', 'Package id 0', 45, 'measured'],
        ['hwmon0/temp2_input', 'Core 0', 43, 'measured'],
      ],
    );
    // temp1_crit is a threshold, not a reading.
    assert.equal(coretemp!.temps.length, 2);
    // An old-style chip keeps its files under device/.
    assert.deepEqual(meter!.powers.map((p) => [p.sensor, p.powerW]), [['hwmon1/power1_average', 187.5]]);
    // A counter past 2^53 keeps every digit.
    assert.deepEqual(energy!.energies.map((e) => [e.label, e.counterUj]), [['Esocket0', 9007199254740993n]]);
    assert.equal(nvme!.temps[0]!.tempC, -5);
  });

  it('finds nothing on an empty machine', async () => {
    assert.deepEqual(await listHwmonChips(EMPTY), []);
  });
});

describe('thermal zones', () => {
  it('reads millidegrees as °C with the zone type, ignoring cooling devices', async () => {
    const zones = await listThermalZones(FULL);
    assert.deepEqual(zones.map((z) => [z.sensor, z.type, z.tempC, z.source]), [
      ['thermal_zone0', 'x86_pkg_temp', 45, 'measured'],
      ['thermal_zone1', 'acpitz', 27.8, 'measured'],
    ]);
  });

  it('finds nothing in an empty thermal class directory', async () => {
    assert.deepEqual(await listThermalZones(EMPTY), []);
  });
});

describe('probeSensors', () => {
  it('reports an empty machine as empty, not as zeros', async () => {
    const inventory = await probeSensors({ root: EMPTY });
    assert.equal(inventory.found, false);
    assert.equal(inventory.energyMeasured, false);
    assert.deepEqual(inventory.rapl, { zones: [], counters: [] });
    assert.deepEqual(inventory.hwmon, []);
    assert.deepEqual(inventory.thermal, []);
    assert.deepEqual(inventory.gpus, []);
    assert.deepEqual(inventory.problems, []);
    assert.equal(inventory.nvidiaSmi, 'not-queried');
  });

  it('finds everything on a full machine', async () => {
    const inventory = await probeSensors({ root: FULL });
    assert.equal(inventory.found, true);
    assert.equal(inventory.energyMeasured, true);
    assert.equal(inventory.rapl.counters.length, 6);
    assert.equal(inventory.hwmon.length, 4);
    assert.equal(inventory.thermal.length, 2);
    assert.deepEqual(inventory.problems, []);
  });

  it('lists bad files as problems and keeps every good reading', async () => {
    const inventory = await probeSensors({ root: MALFORMED });
    assert.deepEqual(
      inventory.problems.map((p) => p.sensor),
      ['intel-rapl:2', 'intel-rapl:0', 'intel-rapl:3', 'hwmon0/temp1_input', 'thermal_zone0'],
    );
    assert.deepEqual(inventory.rapl.counters.map((c) => [c.sensor, c.counterUj]), [['intel-rapl:1', 5000000n]]);
    assert.equal(inventory.energyMeasured, true);
  });

  it('asks the GPU reader it is given', async () => {
    const { NvidiaSmiReader } = await import('../../src/energy/sensors/index.js');
    const reader = new NvidiaSmiReader({
      run: async () => ({ kind: 'ok', stdout: '0, 70.5, 700.00, 30, 0, 71.2, 5000, NVIDIA H200\n', stderr: '' }),
    });
    const inventory = await probeSensors({ root: EMPTY, nvidiaSmi: reader });
    assert.equal(inventory.nvidiaSmi, 'present');
    assert.equal(inventory.found, true);
    assert.equal(inventory.energyMeasured, true);
    assert.deepEqual([inventory.gpus[0]!.powerW, inventory.gpus[0]!.powerInstantW, inventory.gpus[0]!.counterUj], [70.5, 71.2, 5000000n]);
    const missing = new NvidiaSmiReader({ run: async () => ({ kind: 'missing' }) });
    const none = await probeSensors({ root: EMPTY, nvidiaSmi: missing });
    assert.equal(none.nvidiaSmi, 'absent');
    assert.equal(none.found, false);
    const broken = new NvidiaSmiReader({ run: async () => ({ kind: 'timeout', timeoutMs: 2000 }) });
    const unreadable = await probeSensors({ root: EMPTY, nvidiaSmi: broken });
    assert.equal(unreadable.nvidiaSmi, 'unreadable');
    assert.equal(unreadable.problems[0]!.sensor, 'nvidia-smi');
  });
});
