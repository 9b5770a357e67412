// `maxwell bench kernel`, small and fast: a real node with a few loopers for a couple of seconds
// returns the figures the issue names, with the machine; the money the ledger file records
// matches the accounts to the µJ; the CLI takes --processes and --seconds.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchKernel, formatKernel, type KernelBench } from '../../src/bench/kernel.js';

// dist/test/bench/ -> repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

describe('bench kernel', () => {
  let r: KernelBench;
  before(async () => {
    r = await benchKernel({ processes: 12, seconds: 1.5, samples: 6, baselineSeconds: 0.5, quick: true });
  });

  it('reports the three goals, the machine and the setup', () => {
    assert.equal(r.suite, 'kernel');
    for (const k of ['overhead_pct_1000', 'conservation_error_pct', 'p99_wait_for_top_bid_ms'] as const) {
      assert.ok(Number.isFinite(r[k]) && r[k] >= 0, `${k} = ${r[k]}`);
    }
    assert.equal(r.processes, 12);
    assert.ok(r.seconds >= 1.4 && r.seconds < 5, `measured ${r.seconds} s`);
    assert.equal(typeof r.machine.node, 'string');
    assert.ok(r.machine.cores >= 1);
    assert.ok(r.overhead.slots_sold > 0 && r.overhead.slots_per_s > 0, 'slots were sold');
    assert.ok(r.overhead.kernel_ms > 0 && r.overhead.kernel_ms < r.overhead.wall_ms);
    assert.ok(r.overhead.worker_utilisation > 0 && r.overhead.worker_utilisation <= 1.05);
    assert.ok(r.overhead.baseline_round_robin_fuel_per_s! > 0);
    assert.equal(r.wait_for_top_bid.samples, 6);
    assert.ok(r.wait_for_top_bid.p50_ms <= r.wait_for_top_bid.p99_ms && r.wait_for_top_bid.p99_ms <= r.wait_for_top_bid.max_ms);
    assert.deepEqual(Object.keys(r.goals).sort(), ['conservation_energy_error_pct', 'conservation_money_error_pct', 'overhead_pct_1000', 'p99_wait_for_top_bid_ms']);
    assert.equal(r.config.powerCapW, 100_000);
    assert.match(r.setup, /power cap 100000 W/);
    const text = formatKernel(r);
    assert.match(text, /kernel time ÷ total CPU/);
    assert.match(text, /conservation_error_pct/);
    assert.ok(JSON.parse(JSON.stringify(r)).suite === 'kernel', 'the result is plain JSON');
  });

  it('conserves money exactly: ledger debits = the accounts, balances = grants − debits', () => {
    const m = r.conservation.money;
    assert.equal(m.processes_checked, 12);
    assert.equal(m.granted_uj, 12 * r.wallet_j * 1e6);
    assert.ok(m.charge_uj > 0 && m.rent_uj > 0 && m.tax_uj > 0, 'every kind of debit occurred');
    assert.equal(m.ledger_debits_uj, m.account_debits_uj);
    assert.equal(m.ledger_debits_uj, m.charge_uj + m.rent_uj + m.tax_uj);
    assert.equal(m.mismatched_processes, 0);
    assert.equal(m.abs_error_uj, 0);
    assert.equal(m.error_pct, 0);
  });

  it('conserves energy: node = Σ processes + idle, within 1%', () => {
    const e = r.conservation.energy;
    assert.ok(e.node_energy_j > 0 && e.process_energy_j > 0 && e.idle_energy_j > 0);
    assert.ok(Math.abs(e.error_pct) <= 1, `energy error ${e.error_pct}%`);
  });

  it('runs from the CLI with --processes and --seconds', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin/maxwell.js'), 'bench', 'kernel', '--processes', '4', '--seconds', '1', '--quick', '--json'], {
      cwd: ROOT, maxBuffer: 1 << 22, timeout: 25_000,
    });
    const j = JSON.parse(stdout) as KernelBench;
    assert.equal(j.processes, 4);
    assert.ok(j.seconds >= 0.9 && j.seconds < 4);
    assert.equal(j.conservation.money.abs_error_uj, 0);
    await assert.rejects(run(process.execPath, [join(ROOT, 'bin/maxwell.js'), 'bench', 'kernel', '--processes', '0'], { cwd: ROOT }), /--processes must be a positive number/);
  });
});
