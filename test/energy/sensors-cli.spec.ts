import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import { NOTHING_FOUND, NOTHING_READABLE, SOME_MEASURED, run } from '../../src/cli/sensors.js';

const repoRoot = new URL('../../../', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(`test/fixtures/${name}`, repoRoot));

/** Runs `maxwell sensors` with argv and returns its exit code and what it printed. */
async function sensors(...argv: string[]): Promise<{ code: number; out: string }> {
  const printed: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void printed.push(parts.map(String).join(' '));
  try {
    const code = await run(argv);
    return { code, out: printed.join('\n') };
  } finally {
    console.log = log;
  }
}

interface JsonFigure {
  family: string;
  sensor: string;
  source: string;
  powerW?: number;
  tempC?: number;
  counterUj?: string;
}

describe('maxwell sensors', () => {
  it('says plainly that an empty machine is estimated by the model', async () => {
    const text = await sensors('--root', fixture('sys-empty'));
    assert.equal(text.code, 0);
    assert.ok(text.out.includes(NOTHING_FOUND), text.out);
    assert.doesNotMatch(text.out, / 0\.000 W/);
    const json = await sensors('--root', fixture('sys-empty'), '--json');
    const report = JSON.parse(json.out) as { found: boolean; message: string; figures: JsonFigure[]; nvidiaSmi: string };
    assert.equal(report.found, false);
    assert.equal(report.message, NOTHING_FOUND);
    assert.equal(report.nvidiaSmi, 'not-queried');
    assert.deepEqual([...new Set(report.figures.map((f) => `${f.family}:${f.source}`))], ['model:estimated']);
  });

  it('labels every figure of a full machine, and keeps 64-bit counters exact', async () => {
    const { code, out } = await sensors('--root', fixture('sys-full'), '--json', '--sample-ms', '0');
    assert.equal(code, 0);
    const report = JSON.parse(out) as { message: string; figures: JsonFigure[]; raplZones: { id: string; summed: boolean }[] };
    assert.equal(report.message, SOME_MEASURED);
    for (const f of report.figures) {
      assert.equal(f.source, f.family === 'model' ? 'estimated' : 'measured', `${f.sensor}`);
    }
    const counter = report.figures.find((f) => f.sensor === 'hwmon2/energy1_input');
    assert.equal(counter?.counterUj, '9007199254740993');
    assert.equal(report.figures.find((f) => f.sensor === 'thermal_zone1')?.tempC, 27.8);
    assert.equal(report.figures.find((f) => f.sensor === 'hwmon1/power1_average')?.powerW, 187.5);
    assert.deepEqual(
      report.raplZones.filter((z) => z.summed).map((z) => z.id),
      ['intel-rapl:0', 'intel-rapl:0:1', 'intel-rapl:1', 'intel-rapl:1:0'],
    );
  });

  it('measures RAPL power over the sample window', async () => {
    const { out } = await sensors('--root', fixture('sys-full'), '--json', '--sample-ms', '5');
    const report = JSON.parse(out) as { raplTotal?: { source: string; powerW: number; zones: string[] } };
    // The fixture's counters do not move, so the measured power is a real 0 W, and labelled so.
    assert.equal(report.raplTotal?.source, 'measured');
    assert.equal(report.raplTotal?.powerW, 0);
    assert.equal(report.raplTotal?.zones.length, 4);
  });

  it('names the malformed files and still lists the good sensors', async () => {
    const { out } = await sensors('--root', fixture('sys-malformed'), '--sample-ms', '0');
    assert.match(out, /problems:/);
    assert.match(out, /intel-rapl:0\/energy_uj/);
    assert.match(out, /hwmon0\/temp1_input/);
    assert.match(out, /thermal_zone1 .* 30\.0 °C/);
    assert.match(out, /intel-rapl:1 .*energy counter 5000000 µJ/);
  });

  it('says when sensors exist but none measures energy', async () => {
    // A virtual machine often shows a thermal zone and nothing that measures power.
    const { out } = await sensors('--root', fixture('sys-thermal-only'), '--json');
    const report = JSON.parse(out) as { found: boolean; energyMeasured: boolean; message: string };
    assert.deepEqual([report.found, report.energyMeasured, report.message], [true, false, NOTHING_READABLE]);
  });

  it('rejects bad arguments as E_BAD_ARGUMENT', async () => {
    const bad = (err: unknown): boolean => err instanceof MaxwellError && err.code === ErrorCode.BAD_ARGUMENT;
    await assert.rejects(sensors('--frobnicate'), bad);
    await assert.rejects(sensors('--sample-ms', 'soon'), bad);
    await assert.rejects(sensors('--sample-ms', '99999999'), bad);
    await assert.rejects(sensors('extra'), bad);
  });

  it('prints its help', async () => {
    const { code, out } = await sensors('--help');
    assert.equal(code, 0);
    assert.match(out, /usage: maxwell sensors/);
  });
});
