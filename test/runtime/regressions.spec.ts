// Regression tests for bugs found in review: each would let a guest escape the meter or hurt
// other processes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { compileModule } from '../../src/runtime/module.js';
import { Process } from '../../src/runtime/process.js';
import { WorkerPool } from '../../src/runtime/pool.js';
import { UNCHECKED_FN_MAX_FUEL } from '../../src/runtime/instrument.js';

function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  const F = binaryen.Features;
  m.setFeatures(F.MutableGlobals | F.SignExt | F.BulkMemory | F.Multivalue);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

describe('meter regressions', () => {
  it('unchecked if-arm charges after a recursive call cannot pile up debt frame by frame', async () => {
    // Each frame runs 200 cheap if-arms (charged without a check) after its recursive call:
    // without an exit check the debt grew with the recursion depth and could wrap the i32
    // fuel counter (fuel used went negative) or blow through the budget.
    const arm = '(if (local.get $one) (then (local.set $x (i32.div_u (local.get $x) (local.get $one)))))\n';
    const bytes = wat(`(module
      (func $f (param $n i32) (param $one i32) (local $x i32)
        (if (local.get $n) (then (call $f (i32.sub (local.get $n) (i32.const 1)) (local.get $one))))
        ${arm.repeat(200)})
      (func (export "run") (call $f (i32.const 3000) (i32.const 1))))`);
    const compiled = await compileModule(bytes);
    for (const budget of [1e6, 1e8]) {
      const p = new Process(compiled, { pid: 1, budgetFuel: budget, memoryLimitPages: 16, entry: 'run' });
      const o = p.runSlice(2 ** 30);
      assert.equal(o.kind, 'dead');
      assert.equal(p.exit!.reason, 'apoptosis', JSON.stringify(p.exit));
      assert.ok(p.fuelUsed > 0 && p.fuelUsed <= budget + UNCHECKED_FN_MAX_FUEL, `used ${p.fuelUsed} of ${budget}`);
    }
  });

  it('random_get with a length of 2^31 (a negative i32 in JavaScript) is EFAULT and charges no negative fuel', async () => {
    const bytes = wat(`(module
      (import "wasi_snapshot_preview1" "random_get" (func $rg (param i32 i32) (result i32)))
      (memory 1)
      (func (export "run") (result i32) (call $rg (i32.const 0) (i32.const 0x80000000))))`);
    const p = new Process(await compileModule(bytes), { pid: 1, budgetFuel: 1e6, memoryLimitPages: 16, entry: 'run' });
    p.runSlice(1e6);
    assert.equal(p.result, 21);
    assert.ok(p.fuelUsed > 0 && p.fuelUsed < 1e6, `fuel used ${p.fuelUsed}`);
  });
});

describe('pool regressions', () => {
  it('kills two processes of one worker in the middle of their slices', async () => {
    const fib = await compileModule(new Uint8Array(await readFile(fileURLToPath(new URL('../../../bench/build/fib.wasm', import.meta.url)))));
    const pool = new WorkerPool({ workers: 1, sliceFuel: 2 ** 30 });
    await pool.start();
    try {
      // Both spawns are sent at once: a loop-free process cannot be suspended, so once the
      // first runs, its worker reads no message (a later spawn) until it ends (docs/design.md).
      const [a, b] = await Promise.all([
        pool.spawn(fib, { budgetFuel: 1e15, memoryLimitPages: 16, entry: 'run', entryArgs: [40] }),
        pool.spawn(fib, { budgetFuel: 1e15, memoryLimitPages: 16, entry: 'run', entryArgs: [40] }),
      ]);
      await new Promise((r) => setTimeout(r, 30));
      const t0 = performance.now();
      pool.kill(a.pid);
      pool.kill(b.pid);
      const [fa, fb] = await Promise.all([a.done, b.done]);
      assert.equal(fa.exit.reason, 'killed');
      assert.equal(fb.exit.reason, 'killed');
      assert.ok(performance.now() - t0 < 1_000, `the kills took ${(performance.now() - t0).toFixed(0)} ms`);
    } finally {
      await pool.stop();
    }
  });

  it('a crashed worker fails its processes, frees their places and gets no new ones', async () => {
    const looper = await compileModule(new Uint8Array(await readFile(fileURLToPath(new URL('../../../agents/build/looper.wasm', import.meta.url)))));
    const pool = new WorkerPool({ workers: 2, maxProcesses: 2 });
    await pool.start();
    try {
      const a = await pool.spawn(looper, { budgetFuel: 1e15, memoryLimitPages: 16 });
      const b = await pool.spawn(looper, { budgetFuel: 1e15, memoryLimitPages: 16 });
      const crashed = pool.get(a.pid)!.worker;
      // Simulate a crash: the worker thread goes away under the pool.
      await (pool as unknown as { workers: Array<{ terminate(): Promise<number> }> }).workers[crashed]!.terminate();
      await assert.rejects(a.done, /crashed/);
      assert.equal(pool.get(a.pid)!.state, 'dead');
      // Its place is free again (maxProcesses is 2), and the new process goes to the live worker.
      const c = await pool.spawn(looper, { budgetFuel: 1e15, memoryLimitPages: 16 });
      assert.notEqual(pool.get(c.pid)!.worker, crashed);
      pool.kill(b.pid);
      pool.kill(c.pid);
      await Promise.all([b.done, c.done]);
    } finally {
      await pool.stop();
    }
  });
});
