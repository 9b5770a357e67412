// A slotted executor (the kernel's mode): a process runs only on fuel granted to it, parks when
// the grant is used, and each used grant is reported with the fuel it really used, so that the
// kernel can sell slots and charge for them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../../src/runtime/module.js';
import { Executor } from '../../src/runtime/executor.js';
import { WorkerPool } from '../../src/runtime/pool.js';
import { setTimeout as sleep } from 'node:timers/promises';

const AGENTS = fileURLToPath(new URL('../../../agents/build/', import.meta.url));
const load = async (name: string) => compileModule(new Uint8Array(await readFile(`${AGENTS}${name}.wasm`)));

describe('slotted executor', () => {
  it('cuts a slot at its next slice end when the node preempts it (by slot number), reporting the fuel used so far', async () => {
    const looper = await load('looper');
    const preempt = new Int32Array(new SharedArrayBuffer(4));
    const ex = new Executor({ sliceFuel: 100_000, slotted: true, preempt });
    ex.spawn(looper, { pid: 7, budgetFuel: 1e12, memoryLimitPages: 16 });
    ex.grant(7, 1e9, undefined, 42);
    Atomics.store(preempt, 0, 42);
    ex.runFor(1_000);
    const [end] = ex.takeSlotEnds();
    assert.equal(end?.pid, 7, 'the slot ended');
    assert.ok(end!.fuelUsed <= 200_000, `after one slice or so, not the grant's 10^9: ${end!.fuelUsed}`);
    assert.equal(ex.runnable, 0, 'and the process is parked');
    assert.equal(Atomics.load(preempt, 0), 0, 'the request was consumed');
    // A request that arrives after its slot ended cuts nothing: the next slot runs in full.
    Atomics.store(preempt, 0, 42);
    ex.grant(7, 1_000_000, undefined, 43);
    ex.runFor(1_000);
    assert.ok(ex.takeSlotEnds()[0]!.fuelUsed >= 1_000_000);
    // Nor does a request for a slot number on a grant that has none (a death notice's grace).
    Atomics.store(preempt, 0, 0);
    ex.grant(7, 1_000_000);
    ex.runFor(1_000);
    assert.ok(ex.takeSlotEnds()[0]!.fuelUsed >= 1_000_000);
  });

  it('runs nothing without a grant, and a grant for about its fuel', async () => {
    const looper = await load('looper');
    const ex = new Executor({ sliceFuel: 1_000_000, slotted: true });
    ex.spawn(looper, { pid: 1, budgetFuel: 1e12, memoryLimitPages: 16 });
    ex.spawn(looper, { pid: 2, budgetFuel: 1e12, memoryLimitPages: 16 });
    assert.equal(ex.runnable, 0);
    assert.deepEqual(ex.runFor(20), []);
    assert.equal(ex.get(1)!.fuelUsed + ex.get(2)!.fuelUsed, 0, 'nobody ran unpaid');

    const GRANT = 5_000_000;
    assert.equal(ex.grant(1, GRANT), true);
    ex.runFor(1_000);
    const [end] = ex.takeSlotEnds();
    assert.equal(end!.pid, 1);
    assert.equal(end!.dead, false);
    assert.equal(end!.fuelUsed, ex.get(1)!.fuelUsed, 'the slot reports the fuel really used');
    // A loop header can stop it only at the next one: a grant may be passed by one loop body, no more.
    assert.ok(end!.fuelUsed >= GRANT && end!.fuelUsed <= GRANT + 10_000, `used ${end!.fuelUsed} on a grant of ${GRANT}`);
    assert.equal(ex.get(2)!.fuelUsed, 0, 'the process without a slot did not run');
    assert.equal(ex.runnable, 0, 'a used grant parks its process');
    ex.runFor(20);
    assert.equal(ex.get(1)!.fuelUsed, end!.fuelUsed, 'parked: no further fuel');
  });

  it('shares by grants: the process granted three times as much gets ~three times the fuel', async () => {
    const looper = await load('looper');
    const ex = new Executor({ sliceFuel: 500_000, slotted: true });
    ex.spawn(looper, { pid: 1, budgetFuel: 1e12, memoryLimitPages: 16 });
    ex.spawn(looper, { pid: 2, budgetFuel: 1e12, memoryLimitPages: 16 });
    for (let round = 0; round < 20; round++) {
      ex.grant(1, 3_000_000);
      ex.grant(2, 1_000_000);
      ex.runFor(1_000);
      assert.equal(ex.takeSlotEnds().length, 2);
    }
    const ratio = ex.get(1)!.fuelUsed / ex.get(2)!.fuelUsed;
    assert.ok(ratio > 2.7 && ratio < 3.3, `fuel ratio ${ratio}`);
  });

  it('a death ends its grant and is reported; grants to the dead are refused', async () => {
    const miner = await load('miner');
    const ex = new Executor({ sliceFuel: 10_000_000, slotted: true });
    ex.spawn(miner, { pid: 7, budgetFuel: 1e12, memoryLimitPages: 64, args: ['miner', '4'] });
    ex.grant(7, 1e11);
    const deaths = ex.runFor(5_000);
    assert.equal(deaths.length, 1);
    assert.equal(deaths[0]!.exit.reason, 'exit');
    const [end] = ex.takeSlotEnds();
    assert.deepEqual({ pid: end!.pid, dead: end!.dead }, { pid: 7, dead: true });
    assert.equal(end!.fuelUsed, deaths[0]!.process.fuelUsed);
    assert.equal(ex.grant(7, 1000), false);
  });

  it('round robin (not slotted) is unchanged: processes run without grants', async () => {
    const looper = await load('looper');
    const ex = new Executor({ sliceFuel: 1_000_000 });
    ex.spawn(looper, { pid: 1, budgetFuel: 5_000_000, memoryLimitPages: 16 });
    const deaths = ex.runToCompletion();
    assert.equal(deaths[0]!.exit.reason, 'apoptosis');
    assert.throws(() => ex.grant(1, 10), /slotted/);
  });
});

describe('slotted pool', () => {
  it('a process runs on its worker only on the grants the kernel sends, and each used grant comes back', async () => {
    const looper = await load('looper');
    const ends: { pid: number; fuelUsed: number; dead: boolean }[] = [];
    const pool = new WorkerPool({ workers: 1, slotted: true, sliceFuel: 1_000_000, onSlotEnd: (e) => ends.push(e) });
    await pool.start();
    try {
      const a = await pool.spawn(looper, { budgetFuel: 1e12, memoryLimitPages: 16 });
      const b = await pool.spawn(looper, { budgetFuel: 1e12, memoryLimitPages: 16 });
      await sleep(50);
      assert.equal(ends.length, 0, 'nothing runs unpaid');
      for (let i = 0; i < 3; i++) pool.grant(a.pid, 5_000_000);
      const deadline = Date.now() + 10_000;
      while (ends.reduce((s, e) => s + e.fuelUsed, 0) < 15_000_000 && Date.now() < deadline) await sleep(5);
      const used = ends.filter((e) => e.pid === a.pid).reduce((s, e) => s + e.fuelUsed, 0);
      assert.ok(used >= 15_000_000 && used < 15_000_000 + 30_000, `a used ${used} on 3 grants of 5e6`);
      assert.ok(ends.every((e) => e.pid === a.pid && !e.dead));
      assert.throws(() => pool.grant(999, 10), (e: Error & { code?: string }) => e.code === 'E_NO_SUCH_PROCESS');
      assert.throws(() => pool.grant(a.pid, 0), (e: Error & { code?: string }) => e.code === 'E_BAD_ARGUMENT');
      pool.kill(a.pid);
      pool.kill(b.pid);
      const [fa, fb] = await Promise.all([a.done, b.done]);
      assert.equal(fa.exit.reason, 'killed');
      assert.equal(fb.fuelUsed, 0, 'the process that bought no slot never ran');
    } finally {
      await pool.stop();
    }
  });
});
