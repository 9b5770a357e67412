import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compileModule, type CompiledModule } from '../../src/runtime/module.js';
import { WorkerPool } from '../../src/runtime/pool.js';
import { Executor } from '../../src/runtime/executor.js';
import { Process } from '../../src/runtime/process.js';
import { nominalCalibration } from '../../src/energy/calibration.js';

const AGENTS = fileURLToPath(new URL('../../../agents/build/', import.meta.url));
const load = async (name: string) => compileModule(new Uint8Array(await readFile(`${AGENTS}${name}.wasm`)));

describe('executor: many processes on one thread', () => {
  it('round-robins processes to completion with the same results as running each alone', async () => {
    const miner = await load('miner');
    const alone = new Executor({ sliceFuel: 1_000_000 });
    alone.spawn(miner, { pid: 1, budgetFuel: 1e12, memoryLimitPages: 64, args: ['miner', '12'] });
    const [soloDeath] = alone.runToCompletion();
    assert.equal(soloDeath!.exit.reason, 'exit');

    const ex = new Executor({ sliceFuel: 100_000 });
    for (let pid = 1; pid <= 20; pid++) ex.spawn(miner, { pid, budgetFuel: 1e12, memoryLimitPages: 64, args: ['miner', '12'] });
    const deaths = ex.runToCompletion();
    assert.equal(deaths.length, 20);
    for (const d of deaths) {
      assert.equal(d.exit.reason, 'exit');
      assert.equal(d.process.stdout.text(), soloDeath!.process.stdout.text());
      // The meter charges statically, so the same work costs the same fuel however it is sliced.
      assert.equal(d.process.fuelUsed, soloDeath!.process.fuelUsed);
      assert.ok(d.process.switches > 0, 'interleaved processes were suspended and resumed');
    }
    assert.equal(ex.size, 0);
  });

  it('suspends a process whose fuel runs out at function entries, at its next loop header', async () => {
    // sha256's compression function is called from a loop and burns most of the fuel, so a
    // slice usually runs short at its entry, which can only refill: the process must still be
    // suspended (at the next loop header), or it would never give its worker up.
    const sha = await compileModule(new Uint8Array(await readFile(fileURLToPath(new URL('../../../bench/build/sha256.wasm', import.meta.url)))));
    const p = new Process(sha, { pid: 1, budgetFuel: 1e15, memoryLimitPages: 64, entry: 'run', entryArgs: [256] });
    let o;
    do o = p.runSlice(1_000_000); while (o.kind === 'yielded');
    assert.equal(o.exit.reason, 'exit');
    assert.ok(p.switches >= p.fuelUsed / 1_000_000 / 2, `${p.switches} switches for ${p.fuelUsed} fuel in 10^6-fuel slices`);
    const whole = new Process(sha, { pid: 2, budgetFuel: 1e15, memoryLimitPages: 64, entry: 'run', entryArgs: [256] });
    whole.runSlice(2 ** 30);
    assert.equal(p.result, whole.result);
    assert.equal(p.fuelUsed, whole.fuelUsed);
  });

  it('refuses a spawn past its process limit', async () => {
    const looper = await load('looper');
    const ex = new Executor({ maxProcesses: 2 });
    ex.spawn(looper, { pid: 1, budgetFuel: 1e6, memoryLimitPages: 16 });
    ex.spawn(looper, { pid: 2, budgetFuel: 1e6, memoryLimitPages: 16 });
    assert.throws(() => ex.spawn(looper, { pid: 3, budgetFuel: 1e6, memoryLimitPages: 16 }), { code: 'E_PROCESS_LIMIT' });
  });

  it('kills a waiting process at once and a looping one keeps the others running', async () => {
    const looper = await load('looper');
    const infer = await load('infer');
    const ex = new Executor({ sliceFuel: 100_000 });
    ex.spawn(looper, { pid: 1, budgetFuel: 1e15, memoryLimitPages: 16 });
    ex.spawn(infer, { pid: 2, budgetFuel: 1e12, memoryLimitPages: 64, args: ['infer', '200000'] });
    assert.deepEqual(ex.runFor(5), [], 'nothing finished in the first 5 ms');
    const death = ex.kill(1, { reason: 'killed', code: null, errorCode: 'E_KILLED', message: 'test' });
    assert.equal(death?.exit.reason, 'killed');
    const rest = ex.runToCompletion();
    assert.equal(rest.length, 1);
    assert.equal(rest[0]!.process.pid, 2);
    assert.match(rest[0]!.process.stdout.text(), /queries=200000/);
  });
});

describe('worker pool', () => {
  let pool: WorkerPool;
  let looper: CompiledModule;
  let infer: CompiledModule;
  before(async () => {
    looper = await load('looper');
    infer = await load('infer');
    pool = new WorkerPool({ workers: 2, sliceFuel: 200_000, statsEveryMs: 20 });
    await pool.start();
  });
  after(async () => { await pool.stop(); });

  it('runs processes on both workers and reports each one\'s exit, output and fuel', async () => {
    const spawned = await Promise.all([1, 2, 3, 4].map(() => pool.spawn(infer, { budgetFuel: 1e12, memoryLimitPages: 64, args: ['infer', '300'] })));
    const done = await Promise.all(spawned.map((s) => s.done));
    for (const f of done) {
      assert.equal(f.exit.reason, 'exit');
      assert.match(f.stdout, /queries=300 correct=\d+/);
      assert.ok(f.fuelUsed > 0);
    }
    const workers = new Set(spawned.map((s) => pool.get(s.pid)!.worker));
    assert.equal(workers.size, 2, 'processes were spread over both workers');
    assert.ok(spawned.every((s) => s.spawnUs > 0));
  });

  it('ends a looper by apoptosis within its budget, and kill ends another', async () => {
    const budget = 5_000_000;
    const a = await pool.spawn(looper, { budgetFuel: budget, memoryLimitPages: 16 });
    const b = await pool.spawn(looper, { budgetFuel: 1e15, memoryLimitPages: 16 });
    const fa = await a.done;
    assert.equal(fa.exit.reason, 'apoptosis');
    assert.equal(fa.exit.errorCode, 'E_BUDGET_EXHAUSTED');
    assert.ok(fa.fuelUsed <= budget && fa.fuelUsed > budget * 0.99, `used ${fa.fuelUsed} of ${budget}`);
    await new Promise((r) => setTimeout(r, 30));
    assert.notEqual(pool.get(b.pid)!.state, 'dead');
    pool.kill(b.pid);
    const fb = await b.done;
    assert.equal(fb.exit.reason, 'killed');
    assert.equal(pool.get(b.pid)!.state, 'dead');
    assert.throws(() => pool.kill(99_999), { code: 'E_NO_SUCH_PROCESS' });
  });

  it('reports a spawn that fails with its error code and keeps serving others', async () => {
    await assert.rejects(pool.spawn(infer, { budgetFuel: 1e9, memoryLimitPages: 0 }), { code: 'E_MEMORY_LIMIT' });
    await assert.rejects(pool.spawn(infer, { budgetFuel: 1e9, memoryLimitPages: 64, entry: 'nope' }), { code: 'E_EXPORT_MISSING' });
    await assert.rejects(pool.spawn(infer, { budgetFuel: 1e9, memoryLimitPages: 64, bid: -1 }), { code: 'E_BAD_ARGUMENT' });
    const ok = await pool.spawn(infer, { budgetFuel: 1e12, memoryLimitPages: 64, args: ['infer', '10'] });
    assert.equal((await ok.done).exit.reason, 'exit');
  });

  it('kills a loop-free recursion in the middle of its slice (it cannot be suspended)', async () => {
    const fib = await compileModule(new Uint8Array(await readFile(fileURLToPath(new URL('../../../bench/build/fib.wasm', import.meta.url)))));
    // fib(40) takes seconds and never reaches a suspension point; the pool's shared cell must
    // still stop it at its next refill.
    const big = new WorkerPool({ workers: 1, sliceFuel: 2 ** 30 });
    await big.start();
    try {
      const p = await big.spawn(fib, { budgetFuel: 1e15, memoryLimitPages: 16, entry: 'run', entryArgs: [40] });
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      big.kill(p.pid);
      const f = await p.done;
      assert.equal(f.exit.reason, 'killed');
      assert.ok(performance.now() - t0 < 500, `the kill took ${(performance.now() - t0).toFixed(0)} ms`);
      assert.equal(f.switches, 0);
    } finally {
      await big.stop();
    }
  });

  it('keeps a live process table with fuel that grows while a process runs', async () => {
    const p = await pool.spawn(looper, { budgetFuel: 1e15, memoryLimitPages: 16, bid: 2.5 });
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(pool.get(p.pid)!.bid, 2.5);
    const first = pool.get(p.pid)!.fuelUsed;
    await new Promise((r) => setTimeout(r, 60));
    const second = pool.get(p.pid)!.fuelUsed;
    assert.ok(second > first && first > 0, `fuel ${first} then ${second}`);
    const record = pool.get(p.pid)!;
    assert.equal(record.energySource, 'estimated');
    assert.ok(Math.abs(record.energyJ - record.fuelUsed * nominalCalibration().jPerFuel) < 1e-9);
    assert.ok(pool.list().some((r) => r.pid === p.pid));
    pool.kill(p.pid);
    await p.done;
  });
});
