import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxwell, ROOT } from '../cli-helper.js';


describe('maxwell run', () => {
  it('runs a WASI command and prints the JSON record the issue specifies', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-'));
    const r = await maxwell(['run', '--json', '--state', state, join(ROOT, 'agents/build/miner.wasm'), '--', '10']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(j).slice(0, 8), ['pid', 'exit', 'fuel', 'energy_j', 'energy_source', 'energy_basis', 'wall_ms', 'stdout']);
    assert.equal(j.exit.reason, 'exit');
    assert.equal(j.exit.code, 0);
    assert.equal(j.energy_source, 'estimated');
    assert.ok(j.fuel > 0 && j.energy_j > 0 && j.wall_ms > 0);
    assert.match(j.stdout, /^miner: nonce=\d+ hash=[0-9a-f]{64} bits=10/);
  });

  it('ends a looper by apoptosis having used at most its budget', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-'));
    // A calibration with a known constant makes the budget in fuel exact: 1 nJ per fuel unit.
    await writeFile(join(state, 'calibration.json'), JSON.stringify({
      version: 1, jPerFuel: 1e-9, fuelPerCpuSecond: 1e10, pActiveW: 10, basis: 'calibrated', measuredAt: '2026-01-01T00:00:00Z', machine: null,
    }));
    const r = await maxwell(['run', '--json', '--budget', '0.05', '--state', state, join(ROOT, 'agents/build/looper.wasm')]);
    assert.equal(r.code, 3);
    const j = JSON.parse(r.stdout);
    assert.equal(j.exit.reason, 'apoptosis');
    assert.equal(j.exit.code, 'E_BUDGET_EXHAUSTED');
    assert.equal(j.energy_basis, 'calibrated');
    assert.ok(j.fuel <= 50_000_000 && j.fuel > 49_000_000, `fuel ${j.fuel}`);
    assert.ok(j.energy_j <= 0.05);
  });

  it('reports an invalid module as reason "invalid" with E_WASM_INVALID, and a missing file as a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mw-'));
    const bad = join(dir, 'bad.wasm');
    await writeFile(bad, Buffer.from('this is not wasm'));
    const r = await maxwell(['run', '--json', '--state', dir, bad]);
    assert.equal(r.code, 65);
    const j = JSON.parse(r.stdout);
    assert.equal(j.exit.reason, 'invalid');
    assert.equal(j.exit.code, 'E_WASM_INVALID');
    const missing = await maxwell(['run', join(dir, 'nope.wasm')]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /E_FILE_UNREADABLE/);
  });

  it('rejects bad options with exit 64 and prints help on --help', async () => {
    assert.equal((await maxwell(['run', '--budget', '-1', 'x.wasm'])).code, 64);
    assert.equal((await maxwell(['run', '--bogus'])).code, 64);
    const help = await maxwell(['run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: maxwell run FILE\.wasm/);
    const top = await maxwell(['--help']);
    assert.match(top.stdout, /calibrate/);
    assert.equal((await maxwell(['frobnicate'])).code, 64);
  });

  it('human output names the exit and labels energy as estimated', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-'));
    const r = await maxwell(['run', '--state', state, join(ROOT, 'agents/build/infer.wasm'), '--', '50']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /infer: queries=50/);
    assert.match(r.stderr, /exited with code 0/);
    assert.match(r.stderr, /J \(estimated, nominal model\)/);
  });
});

describe('maxwell calibrate', () => {
  it('stores a calibration whose hold-out check is computed from measured CPU time', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-'));
    const r = await maxwell(['calibrate', '--json', '--seconds', '0.1', '--state', state]);
    const j = JSON.parse(r.stdout);
    const stored = JSON.parse(await readFile(join(state, 'calibration.json'), 'utf8'));
    assert.equal(stored.basis, 'calibrated');
    assert.equal(stored.kernels.length, 8);
    assert.equal(stored.perWorkloadCheck.length, 8);
    assert.ok(stored.fuelPerCpuSecond > 1e8 && stored.fuelPerCpuSecond < 1e12, `fuel/CPU-s ${stored.fuelPerCpuSecond}`);
    assert.equal(stored.jPerFuel, stored.pActiveW / stored.fuelPerCpuSecond);
    assert.equal(j.check.name, 'all workloads, fresh runs');
    assert.ok(Math.abs(j.check.modelJ / j.check.expectedJ - 1 - j.check.errorPct / 100) < 1e-9);
    // Exit status says whether the check met the 5% target.
    assert.equal(r.code, Math.abs(j.check.errorPct) <= 5 ? 0 : 1);
  });
});

describe('maxwell demo', () => {
  it('runs the sample agents on the kernel: useless ones die of apoptosis, useful ones finish, under the cap, the ledger verifies', async () => {
    const state = await mkdtemp(join(tmpdir(), 'mw-'));
    // No power meter (an empty /sys): the cap and power are the model's on any machine.
    const r = await maxwell(['demo', '--json', '--state', state, '--sys-root', join(ROOT, 'test/fixtures/sys-empty')]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    // The shape the issue gives for scripts.
    for (const k of ['processes', 'power_cap_w', 'avg_power_w', 'ledger_db', 'ledger_verified']) assert.ok(k in j, k);
    for (const p of j.processes) for (const k of ['pid', 'agent', 'exit', 'energy_j', 'rent_j', 'tax_j', 'charged_j', 'rewarded_j', 'ig_bits_per_j']) assert.ok(k in p, k);
    const byAgent = (a: string) => j.processes.filter((p: { agent: string }) => p.agent === a);
    assert.equal(byAgent('infer').length, 3);
    for (const p of [...byAgent('infer'), ...byAgent('churner')]) assert.equal(p.exit.reason, 'exit', `${p.agent}: ${p.exit.message}`);
    for (const p of [...byAgent('looper'), ...byAgent('miner')]) {
      assert.equal(p.exit.reason, 'apoptosis', `${p.agent}: ${p.exit.message}`);
      assert.match(p.stdout, /death notice/, 'it heard its death notice');
    }
    // The churner erases what it drops: it pays far more tax than anyone else.
    const churnerTax = byAgent('churner')[0].tax_j;
    for (const p of j.processes) if (p.agent !== 'churner') assert.ok(churnerTax > 100 * p.tax_j, `churner ${churnerTax} J vs ${p.agent} ${p.tax_j} J`);
    // Proof of useful work: the infer agents' answers are verified and paid; they end richer than
    // they started, while the useless agents earn nothing and die.
    for (const p of byAgent('infer')) {
      assert.equal(p.claims.rejected, 0);
      assert.ok(p.claims.accepted > 0 && p.rewarded_j > 0 && p.ig_bits_per_j > 0, JSON.stringify(p));
      assert.ok(p.balance_end_j > p.balance_start_j, `${p.balance_start_j} J → ${p.balance_end_j} J`);
      assert.match(p.stdout, /served=\d+ samples=\d+ refused=0/);
    }
    for (const p of [...byAgent('looper'), ...byAgent('miner'), ...byAgent('churner')]) assert.deepEqual([p.rewarded_j, p.ig_bits_per_j], [0, 0], p.agent);
    // Urgency costs: the infer agent bidding 4 tokens/J paid more for the same work than the one bidding 1.
    const [urgent, , patient] = byAgent('infer');
    assert.ok(urgent.charged_j > patient.charged_j, `urgent ${urgent.charged_j} J, patient ${patient.charged_j} J`);
    assert.ok(j.avg_power_w <= j.power_cap_w, `${j.avg_power_w} W over the cap of ${j.power_cap_w} W`);
    assert.equal(j.ledger_verified, true);
    const v = await maxwell(['ledger', 'verify', '--json', '--state', state]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.equal(JSON.parse(v.stdout).ok, true);
  });
});
