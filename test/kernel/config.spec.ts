// The kernel's rates (src/kernel/config.ts) and `maxwell config`: Landauer's bound, rounding of
// rent and tax (up, never to zero in the payer's favour), validation, and the CLI's figures
// labelled measured or assumed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BOLTZMANN_J_PER_K, DEFAULT_KERNEL_CONFIG, erasureTaxUj, landauerJPerBit, rentDueUj, validateKernelConfig,
} from '../../src/kernel/config.js';
import { isMaxwellError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const maxwell = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/maxwell.js'), ...args], { encoding: 'utf8' });

describe('kernel config', () => {
  it("Landauer's bound is kT·ln 2: 2.87e-21 J per bit at 300 K", () => {
    const j = landauerJPerBit(300 - 273.15);
    assert.ok(Math.abs(j - 2.8710e-21) / 2.8710e-21 < 1e-3, String(j));
    assert.equal(landauerJPerBit(0), BOLTZMANN_J_PER_K * 273.15 * Math.LN2);
    assert.ok(landauerJPerBit(80) > landauerJPerBit(20), 'hotter erasure costs more');
    for (const bad of [-273.15, -300, NaN, Infinity]) assert.throws(() => landauerJPerBit(bad), (e) => isMaxwellError(e, 'E_BAD_ARGUMENT'));
  });

  it('rent and tax round up to whole µJ and are exact on whole amounts', () => {
    const c = DEFAULT_KERNEL_CONFIG;
    assert.equal(rentDueUj(c, 1000, 0), c.baseRentUjPerS);
    assert.equal(rentDueUj(c, 1000, 2 ** 20), c.baseRentUjPerS + c.memoryRentUjPerMiBS);
    assert.equal(rentDueUj(c, 1, 0), 1, '10 µJ/s for 1 ms is 0.01 µJ: rounded up to 1');
    assert.equal(erasureTaxUj(c, 0), 0);
    assert.equal(erasureTaxUj(c, 1), 1, 'a byte pays at least 1 µJ');
    assert.equal(erasureTaxUj(c, 65_536), 66, 'a 64 KiB page: 65.536 µJ, rounded up');
  });

  it('the defaults are valid; nonsense is named', () => {
    assert.equal(validateKernelConfig(DEFAULT_KERNEL_CONFIG), undefined);
    assert.match(validateKernelConfig({ ...DEFAULT_KERNEL_CONFIG, quantumMs: 0 })!, /quantumMs/);
    assert.match(validateKernelConfig({ ...DEFAULT_KERNEL_CONFIG, powerCapW: -1 })!, /powerCapW/);
    assert.match(validateKernelConfig({ ...DEFAULT_KERNEL_CONFIG, erasureTaxUjPerByte: NaN })!, /taxes/);
    assert.match(validateKernelConfig({ ...DEFAULT_KERNEL_CONFIG, graceFuel: 1.5 })!, /graceFuel/);
  });

  it('maxwell config shows the floor from a thermal sensor (measured) or 25 °C (assumed)', () => {
    const measured = JSON.parse(maxwell('config', '--json', '--root', join(ROOT, 'test/fixtures/sys-full')));
    assert.equal(measured.landauer.temp_source, 'measured');
    assert.equal(measured.landauer.temp_c, 45); // the hotter of the fixture's two zones
    assert.equal(measured.erasureTaxUjPerByte, DEFAULT_KERNEL_CONFIG.erasureTaxUjPerByte);
    assert.ok(Math.abs(measured.landauer.uj_per_byte - landauerJPerBit(45) * 8e6) < 1e-30);
    const assumed = JSON.parse(maxwell('config', '--json', '--root', join(ROOT, 'test/fixtures/sys-empty')));
    assert.equal(assumed.landauer.temp_source, 'assumed');
    assert.equal(assumed.landauer.temp_c, 25);
    const text = maxwell('config', '--root', join(ROOT, 'test/fixtures/sys-empty'));
    assert.match(text, /Landauer, kT·ln 2 per bit at 25\.0 °C \(assumed\)/);
    assert.match(text, /entropy tax\s+0\.001 µJ\/byte erased/);
  });
});
