import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MaxwellError } from '../../src/errors.js';
import type { SensorProblem } from '../../src/energy/sensors/reading.js';
import { ThermalModel } from '../../src/thermal/model.js';
import { feedMeasuredTemperature, readCpuTemperature } from '../../src/thermal/sensors.js';

// From dist/test/thermal/ the repository root is three levels up.
const repoRoot = new URL('../../../', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(`test/fixtures/${name}`, repoRoot));

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, 'sys', 'class', path);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, `${text}\n`);
  }
}

describe('thermal sensor feed', () => {
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'maxwell-thermal-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('feeds the hottest CPU hwmon channel into the model, labelled measured', async () => {
    // sys-full: coretemp (45 °C package, 43 °C core), an NVMe drive at −5 °C, thermal zones.
    const model = new ThermalModel({ nodes: 4 });
    const shown = await feedMeasuredTemperature(model, 2, fixture('sys-full'));
    assert.deepEqual(shown, { tempC: 45, source: 'measured', sensor: 'hwmon0/temp1_input', label: 'Package id 0' });
    assert.equal(model.tempC[2], 45);
    assert.equal(model.tempC[1], model.params.supplyC, 'other nodes untouched');
  });

  it('keeps the estimate, labelled estimated, on a node with no CPU sensor', async () => {
    for (const name of ['sys-empty', 'sys-thermal-only']) {
      // sys-thermal-only has a board zone (acpitz) alone: a temperature, but not the CPU's.
      const model = new ThermalModel({ nodes: 1, initialC: 33 });
      const shown = await feedMeasuredTemperature(model, 0, fixture(name));
      assert.deepEqual(shown, { tempC: 33, source: 'estimated', sensor: 'model' }, name);
      assert.equal(model.tempC[0], 33);
    }
  });

  it('skips an unreadable channel, records it, and uses the rest', async () => {
    // sys-malformed: coretemp temp1_input is "45.5" (not millidegrees), temp2_input 40000.
    const problems: SensorProblem[] = [];
    const model = new ThermalModel({ nodes: 1 });
    const shown = await feedMeasuredTemperature(model, 0, fixture('sys-malformed'), problems);
    assert.equal(shown.source, 'measured');
    assert.equal(shown.tempC, 40);
    assert.equal(model.tempC[0], 40);
    assert.ok(problems.some((p) => p.code === ErrorCode.SENSOR_UNREADABLE && p.file?.endsWith('temp1_input')), JSON.stringify(problems));
  });

  it('falls back to CPU thermal zones, and refuses an implausible reading', async () => {
    const root = join(scratch, 'zones');
    await writeTree(root, {
      'hwmon/hwmon0/name': 'k10temp',
      'hwmon/hwmon0/temp1_input': '250000', // 250 °C: a broken sensor, not a temperature
      'thermal/thermal_zone0/type': 'acpitz',
      'thermal/thermal_zone0/temp': '70000',
      'thermal/thermal_zone1/type': 'x86_pkg_temp',
      'thermal/thermal_zone1/temp': '61500',
    });
    const problems: SensorProblem[] = [];
    const reading = await readCpuTemperature(root, problems);
    assert.equal(reading?.sensor, 'thermal_zone1');
    assert.equal(reading?.tempC, 61.5);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.sensor, 'hwmon0/temp1_input');
  });

  it('rejects a node index outside the model', async () => {
    const model = new ThermalModel({ nodes: 2 });
    await assert.rejects(
      feedMeasuredTemperature(model, 2, fixture('sys-full')),
      (err: unknown) => err instanceof MaxwellError && err.code === ErrorCode.BAD_ARGUMENT && err.message.startsWith('node:'),
    );
  });
});
