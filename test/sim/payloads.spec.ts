// The simulator's message memory (src/sim/payloads.ts): a copy keeps its bytes until it is
// released, whatever is copied after it, and a block is written again only once every copy
// cut from it has been released.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PAYLOAD_BLOCK_BYTES, PayloadPool } from '../../src/sim/payloads.js';

const msg = (n: number, fill: number) => new Uint8Array(n).fill(fill);

it('a copy keeps its bytes while unreleased, through many blocks of later copies', () => {
  const pool = new PayloadPool();
  const kept = pool.copy(msg(1000, 7));
  const src = msg(1400, 0);
  for (let k = 0; k < 2000; k++) {
    src.fill(k & 255);
    pool.release(pool.copy(src));
  }
  assert.ok(kept.every((b) => b === 7), 'the unreleased copy was overwritten');
  assert.equal(pool.live, 1);
  pool.release(kept);
  assert.equal(pool.live, 0);
});

it('blocks are reused once released: a long run of short-lived messages takes a handful', () => {
  const pool = new PayloadPool();
  const inFlight: Uint8Array[] = [];
  for (let k = 0; k < 100_000; k++) {
    inFlight.push(pool.copy(msg(100 + (k % 300), k & 255)));
    // Delivered out of order, a few hundred in flight at once.
    if (inFlight.length > 300) pool.release(inFlight.splice((k * 7919) % inFlight.length, 1)[0]!);
  }
  // 25 MB were copied (~380 blocks without reuse); a few hundred messages in flight pin at most
  // a few blocks each (a straggler released late holds its whole block).
  const copiedBlocks = (100_000 * 250) / PAYLOAD_BLOCK_BYTES;
  assert.ok(pool.blocksAllocated <= 20, `${pool.blocksAllocated} blocks for ${copiedBlocks.toFixed(0)} blocks' worth of copies`);
  for (const c of inFlight) pool.release(c);
  assert.equal(pool.live, 0);
});

it('releasing twice, or a copy the pool did not make, is refused', () => {
  const pool = new PayloadPool();
  const c = pool.copy(msg(10, 1));
  pool.release(c);
  assert.throws(() => pool.release(c));
  assert.throws(() => pool.release(msg(10, 1)));
});
