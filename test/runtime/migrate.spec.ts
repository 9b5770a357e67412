// Moving a parked process between workers (WorkerPool.migrate): its memory and mutable globals
// are copied into a new instance on the other worker, and it carries on where it stopped. The
// check is an answer only an unbroken computation gives: a miner moved after every slot of its
// search finds the same nonce as the SHA-256 search here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { compileModule } from '../../src/runtime/module.js';
import { WorkerPool } from '../../src/runtime/pool.js';
import type { SlotEnd } from '../../src/runtime/protocol.js';

const AGENTS = fileURLToPath(new URL('../../../agents/build/', import.meta.url));

/** The smallest nonce whose hash has `bits` leading zero bits (the miner's definition). */
function expectedNonce(bits: number): bigint {
  for (let n = 0n; ; n++) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    const d = createHash('sha256').update(Buffer.concat([Buffer.from('maxwell-miner:'), b])).digest();
    let z = 0;
    for (const byte of d) {
      if (byte === 0) { z += 8; continue; }
      z += Math.clz32(byte) - 24;
      break;
    }
    if (z >= bits) return n;
  }
}

describe('migration', () => {
  it('a miner moved between workers after every slot finds the right nonce', async () => {
    let onEnd: (e: SlotEnd & { worker: number }) => void = () => {};
    const pool = new WorkerPool({ workers: 2, slotted: true, sliceFuel: 200_000, onSlotEnd: (e) => onEnd(e) });
    await pool.start();
    try {
      const miner = await compileModule(new Uint8Array(await readFile(`${AGENTS}miner.wasm`)));
      assert.equal(miner.info.migratable, true);
      const s = await pool.spawn(miner, { budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 64, args: ['miner', '12'] });
      let dead = false;
      s.done.then(() => { dead = true; }, () => { dead = true; });
      let moves = 0;
      const workers = new Set<number>();
      while (!dead) {
        const ended = new Promise<SlotEnd>((resolve) => { onEnd = resolve; });
        workers.add(pool.workerOf(s.pid)!);
        pool.grant(s.pid, 3_000_000);
        const e = await ended;
        if (e.dead) break;
        assert.equal(await pool.migrate(s.pid, 1 - pool.workerOf(s.pid)!), true, 'a parked process moves');
        moves++;
      }
      const f = await s.done;
      assert.equal(f.exit.reason, 'exit', f.exit.message);
      assert.ok(moves >= 5, `it was moved ${moves} times`);
      assert.deepEqual([...workers].sort(), [0, 1]);
      const nonce = /nonce=(\d+)/.exec(f.stdout)?.[1];
      assert.equal(nonce, expectedNonce(12).toString(), f.stdout);
    } finally {
      await pool.stop();
    }
  });

  it('refuses to move a process whose module mutates its table, and one that holds a grant', async () => {
    const m = binaryen.parseText(`(module (memory (export "memory") 1) (table 1 funcref) (func $f)
      (func (export "_start") (table.set (i32.const 0) (ref.func $f)) (loop $l (br $l))))`);
    m.setFeatures(binaryen.Features.MutableGlobals | binaryen.Features.ReferenceTypes | binaryen.Features.BulkMemory);
    const bytes = m.emitBinary();
    m.dispose();
    const pinned = await compileModule(bytes);
    assert.equal(pinned.info.migratable, false);
    // A v128 global cannot be read from JavaScript: its process cannot be copied either.
    const v = binaryen.parseText(`(module (memory (export "memory") 1) (global $g (mut v128) (v128.const i32x4 1 2 3 4))
      (func (export "_start") (global.set $g (i32x4.add (global.get $g) (global.get $g))) (loop $l (br $l))))`);
    v.setFeatures(binaryen.Features.MutableGlobals | binaryen.Features.SIMD128);
    const vbytes = v.emitBinary();
    v.dispose();
    assert.equal((await compileModule(vbytes)).info.migratable, false);
    const pool = new WorkerPool({ workers: 2, slotted: true, sliceFuel: 100_000 });
    await pool.start();
    try {
      const a = await pool.spawn(pinned, { budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4 });
      assert.equal(await pool.migrate(a.pid, 1 - pool.workerOf(a.pid)!), false);
      const looper = await compileModule(new Uint8Array(await readFile(`${AGENTS}looper.wasm`)));
      const b = await pool.spawn(looper, { budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4 });
      pool.grant(b.pid, 1e12); // a grant it will be running for a long time
      const from = pool.workerOf(b.pid)!;
      assert.equal(await pool.migrate(b.pid, 1 - from), false, 'a process holding a grant stays');
      assert.equal(pool.workerOf(b.pid), from);
      pool.kill(b.pid);
      assert.equal((await b.done).exit.reason, 'killed', 'and still hears its kill');
    } finally {
      await pool.stop();
    }
  });
});
