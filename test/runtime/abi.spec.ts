// The process ABI (src/runtime/abi.ts, docs/abi.md) on a slotted executor: what a guest sees
// through bid, balance, price and discard during a slot the kernel sold it, what the slot's
// report tells the kernel, the erasure bond on memory growth, and the death notice.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import binaryen from 'binaryen';
import { compileModule } from '../../src/runtime/module.js';
import { Executor } from '../../src/runtime/executor.js';
import { ABI_EAGAIN, ABI_ECANNOTPAY, ABI_EFAULT, ABI_EINVAL, ABI_OK, MAX_CLAIMS_PER_SLOT, type SlotView } from '../../src/runtime/abi.js';
import type { ProcessQuery } from '../../src/runtime/process.js';
import { ErrorCode } from '../../src/errors.js';

const F = binaryen.Features;
function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(F.MutableGlobals | F.SignExt | F.BulkMemory | F.BulkMemoryOpt);
    if (!m.validate()) throw new Error(`test module does not validate:\n${text}`);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const IMPORTS = `
  (import "maxwell" "bid" (func $bid (param i64) (result i32)))
  (import "maxwell" "balance" (func $balance (result i64)))
  (import "maxwell" "price" (func $price (result i64)))
  (import "maxwell" "discard" (func $discard (param i32 i32) (result i32)))
  (import "maxwell" "query" (func $query (param i32 i32) (result i32)))
  (import "maxwell" "claim" (func $claim (param i32 i32) (result i32)))`;

const VIEW: SlotView = { balanceUj: 1_000_000, ujPerFuel: 0.01, priceTokensPerJ: 2, taxUjPerByte: 0.001 };

/** Runs `entry` of the module on a slotted executor with one grant and `view`; returns the process and its slot report. */
async function runSlot(text: string, o: { entry?: string; view?: SlotView; fuel?: number; entryArgs?: number[]; queries?: ProcessQuery[] } = {}) {
  const compiled = await compileModule(wat(text));
  const ex = new Executor({ slotted: true, sliceFuel: 100_000 });
  const p = ex.spawn(compiled, {
    pid: 1, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4, entry: o.entry ?? 'run', entryArgs: o.entryArgs ?? [],
    ...(o.queries ? { queries: o.queries } : {}),
  });
  ex.grant(1, o.fuel ?? 1_000_000, o.view ?? VIEW);
  const deaths = ex.runToCompletion();
  return { p, deaths, ends: ex.takeSlotEnds(), ex };
}

describe('process ABI', () => {
  const session = (b: number) => new Uint8Array(16).fill(b);
  const QUERIES: ProcessQuery[] = [
    { session: session(0xa1), batch: 2, input: Int8Array.from([1, -2, 3, -128, 127, 0]) },
    { session: session(0xb2), batch: 1, input: Int8Array.from([9, 8, 7]) },
  ];

  it('query hands out the queries in order (session, batch, inputs, int8 input), then 0; a small buffer is -EINVAL and keeps the query; a bad range -EFAULT', async () => {
    // Results at 4096.. (i32 each): query(0, 10), query(0, 100), query(100, 100), query(200, 100), query(65530, 100).
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run")
        (i32.store (i32.const 4096) (call $query (i32.const 0) (i32.const 10)))
        (i32.store (i32.const 4100) (call $query (i32.const 0) (i32.const 100)))
        (i32.store (i32.const 4104) (call $query (i32.const 100) (i32.const 100)))
        (i32.store (i32.const 4108) (call $query (i32.const 200) (i32.const 100)))
        (i32.store (i32.const 4112) (call $query (i32.const 65530) (i32.const 100)))))`;
    const r = await runSlot(text, { queries: QUERIES });
    const mem = Buffer.from((r.p as unknown as { memory: WebAssembly.Memory }).memory.buffer);
    assert.deepEqual([0, 4, 8, 12, 16].map((o) => mem.readInt32LE(4096 + o)), [-ABI_EINVAL, 24 + 6, 24 + 3, 0, -ABI_EFAULT]);
    assert.deepEqual([...mem.subarray(0, 16)], [...session(0xa1)]);
    assert.equal(mem.readUInt32LE(16), 2, 'batch');
    assert.equal(mem.readUInt32LE(20), 3, 'inputs per sample');
    assert.deepEqual([...new Int8Array(mem.buffer, mem.byteOffset + 24, 6)], [1, -2, 3, -128, 127, 0]);
    assert.deepEqual([...mem.subarray(100, 116)], [...session(0xb2)]);
    assert.deepEqual([...new Int8Array(mem.buffer, mem.byteOffset + 124, 3)], [9, 8, 7]);
  });

  it('claim takes a copy for the slot report, only for a session handed out and not yet claimed; bad lengths are EINVAL, bad ranges EFAULT; past the slot\'s limit EAGAIN', async () => {
    // Takes query 0 into 0.., writes a claim of session + 8 bytes at 0, claims it twice, then a
    // claim of a session never handed out (at 200), a 15-byte claim, and one out of range.
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run")
        (drop (call $query (i32.const 0) (i32.const 100)))
        (i64.store (i32.const 16) (i64.const 0x0102030405060708))
        (i32.store (i32.const 4096) (call $claim (i32.const 0) (i32.const 24)))
        (i32.store (i32.const 4100) (call $claim (i32.const 0) (i32.const 24)))
        (i32.store (i32.const 4104) (call $claim (i32.const 200) (i32.const 24)))
        (i32.store (i32.const 4108) (call $claim (i32.const 0) (i32.const 15)))
        (i32.store (i32.const 4112) (call $claim (i32.const 65530) (i32.const 24)))))`;
    const r = await runSlot(text, { queries: QUERIES });
    const mem = Buffer.from((r.p as unknown as { memory: WebAssembly.Memory }).memory.buffer);
    assert.deepEqual([0, 4, 8, 12, 16].map((o) => mem.readInt32LE(4096 + o)), [ABI_OK, ABI_EINVAL, ABI_EINVAL, ABI_EINVAL, ABI_EFAULT]);
    const claims = r.ends[0]!.claims!;
    assert.equal(claims.length, 1);
    assert.deepEqual([...claims[0]!.subarray(0, 16)], [...session(0xa1)]);
    assert.equal(Buffer.from(claims[0]!).readBigUInt64LE(16), 0x0102030405060708n);

    // The limit per slot: MAX_CLAIMS_PER_SLOT claims, then EAGAIN.
    const many: ProcessQuery[] = Array.from({ length: MAX_CLAIMS_PER_SLOT + 1 }, (_, i) => ({ session: session(i + 1), batch: 1, input: Int8Array.of(1) }));
    const loop = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run") (local $i i32)
        (loop $l
          (drop (call $query (i32.const 0) (i32.const 100)))
          (i32.store (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 2))) (call $claim (i32.const 0) (i32.const 20)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const ${MAX_CLAIMS_PER_SLOT + 1}))))))`;
    const m = await runSlot(loop, { queries: many });
    const mm = Buffer.from((m.p as unknown as { memory: WebAssembly.Memory }).memory.buffer);
    const codes = Array.from({ length: MAX_CLAIMS_PER_SLOT + 1 }, (_, i) => mm.readInt32LE(4096 + 4 * i));
    assert.deepEqual(codes, [...new Array<number>(MAX_CLAIMS_PER_SLOT).fill(ABI_OK), ABI_EAGAIN]);
    assert.equal(m.ends[0]!.claims!.length, MAX_CLAIMS_PER_SLOT);
  });

  it('a report full of claims ends the slot at the next slice end: a guest retrying EAGAIN spins for a slice, not its whole grant', async () => {
    const many: ProcessQuery[] = Array.from({ length: MAX_CLAIMS_PER_SLOT + 1 }, (_, i) => ({ session: session(i + 1), batch: 1, input: Int8Array.of(1) }));
    // Claims every query, retrying while EAGAIN; stores the number of claims taken at 8192.
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run") (local $i i32)
        (loop $l
          (drop (call $query (i32.const 0) (i32.const 100)))
          (block $done (loop $retry
            (br_if $done (i32.ne (call $claim (i32.const 0) (i32.const 20)) (i32.const ${ABI_EAGAIN})))
            (br $retry)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const ${MAX_CLAIMS_PER_SLOT + 1}))))
        (i32.store (i32.const 8192) (local.get $i))))`;
    const compiled = await compileModule(wat(text));
    const ex = new Executor({ slotted: true, sliceFuel: 100_000 });
    const p = ex.spawn(compiled, { pid: 1, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4, entry: 'run', queries: many });
    ex.grant(1, 50_000_000, VIEW, 7);
    ex.runToCompletion();
    const first = ex.takeSlotEnds();
    assert.equal(first.length, 1, 'the slot ended');
    assert.equal(first[0]!.claims!.length, MAX_CLAIMS_PER_SLOT);
    assert.ok(first[0]!.fuelUsed <= 3 * 100_000, `it spun ${first[0]!.fuelUsed} fuel, about a slice, not its 50,000,000 grant`);
    assert.notEqual(p.state, 'dead');
    ex.grant(1, 50_000_000, VIEW, 8);
    ex.runToCompletion();
    const second = ex.takeSlotEnds();
    assert.equal(second[0]!.claims!.length, 1, 'the next slot takes the claim that waited');
    assert.equal(p.state, 'dead');
  });

  it('refuses malformed queries at spawn with E_BAD_ARGUMENT', async () => {
    const compiled = await compileModule(wat(`(module ${IMPORTS} (memory (export "memory") 1) (func (export "run")))`));
    const ex = new Executor({ slotted: true, sliceFuel: 100_000 });
    const spawn = (queries: ProcessQuery[]) => ex.spawn(compiled, { pid: 9, budgetFuel: 1e6, memoryLimitPages: 4, entry: 'run', queries });
    assert.throws(() => spawn([{ session: new Uint8Array(15), batch: 1, input: Int8Array.of(1) }]), { code: ErrorCode.BAD_ARGUMENT });
    assert.throws(() => spawn([{ session: session(1), batch: 2, input: Int8Array.of(1, 2, 3) }]), { code: ErrorCode.BAD_ARGUMENT });
    assert.throws(() => spawn([QUERIES[0]!, QUERIES[0]!]), { code: ErrorCode.BAD_ARGUMENT, message: /another query's/ });
  });

  it('refuses a module that imports an ABI function with the wrong type', async () => {
    const text = `(module (import "maxwell" "balance" (func $b (result f64))) (memory (export "memory") 1) (func (export "_start") (drop (call $b))))`;
    await assert.rejects(compileModule(wat(text)), { code: 'E_IMPORT_MISSING', message: /maxwell\.balance .*\(\) -> \(i64\)/ });
  });

  it('bid sets the standing bid in µtokens/J, refuses nonsense with EINVAL, and is reported at the slot end', async () => {
    const text = (v: string) => `(module ${IMPORTS} (memory (export "memory") 1) (func (export "run") (result i32) (call $bid (i64.const ${v}))))`;
    const ok = await runSlot(text('3000000'));
    assert.equal(ok.p.result, ABI_OK);
    assert.equal(ok.p.bid, 3);
    assert.equal(ok.ends[0]?.bid, 3);
    for (const bad of ['0', '-5', '2000000000000000']) {
      const r = await runSlot(text(bad));
      assert.equal(r.p.result, ABI_EINVAL, bad);
      assert.equal(r.ends[0]?.bid, null, 'a refused bid is not reported');
    }
  });

  it('balance falls as the slot burns fuel at its price; price is the reserve in µtokens/J', async () => {
    // Stores balance() at 0, burns ~50,000 fuel in a loop, stores balance() at 8 and price() at 16.
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run") (local $i i32)
        (i64.store (i32.const 0) (call $balance))
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))
        (i64.store (i32.const 8) (call $balance))
        (i64.store (i32.const 16) (call $price))))`;
    const r = await runSlot(text);
    const mem = new DataView((r.p as unknown as { memory: WebAssembly.Memory }).memory.buffer);
    const before = Number(mem.getBigInt64(0, true));
    const after = Number(mem.getBigInt64(8, true));
    // The entry's region is paid for as it starts (instrument.ts), so the first call already sees it.
    assert.ok(before <= VIEW.balanceUj && before > VIEW.balanceUj - 100, `${before}`);
    const fuel = r.ends[0]!.fuelUsed;
    // What it burnt between the two calls, at 0.01 µJ per fuel.
    assert.ok(before - after > 0.8 * fuel * VIEW.ujPerFuel && before - after <= fuel * VIEW.ujPerFuel + 1, `${before} → ${after} for ${fuel} fuel`);
    assert.equal(Number(mem.getBigInt64(16, true)), 2_000_000);
  });

  it('discard zeroes the bytes and reports them; a bad range is EFAULT; a wallet that cannot pay the tax gets ECANNOTPAY and nothing is erased', async () => {
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run") (param $p i32) (param $n i32) (result i32)
        (memory.fill (i32.const 100) (i32.const 255) (i32.const 100))
        (call $discard (local.get $p) (local.get $n))))`;
    const mem = (r: Awaited<ReturnType<typeof runSlot>>) => new Uint8Array((r.p as unknown as { memory: WebAssembly.Memory }).memory.buffer);
    const ok = await runSlot(text, { entryArgs: [120, 50] });
    assert.equal(ok.p.result, ABI_OK);
    assert.deepEqual([...mem(ok).subarray(100, 120)], new Array(20).fill(255), 'before the range: kept');
    assert.deepEqual([...mem(ok).subarray(120, 170)], new Array(50).fill(0), 'the range: erased');
    assert.deepEqual([...mem(ok).subarray(170, 200)], new Array(30).fill(255), 'after the range: kept');
    assert.equal(ok.ends[0]?.discardedBytes, 50);

    const outside = await runSlot(text, { entryArgs: [65_530, 100] });
    assert.equal(outside.p.result, ABI_EFAULT);
    assert.equal(outside.ends[0]?.discardedBytes, 0);

    const broke = await runSlot(text, { entryArgs: [120, 50], view: { ...VIEW, balanceUj: 0 } });
    assert.equal(broke.p.result, ABI_ECANNOTPAY);
    assert.equal(mem(broke)[120], 255, 'nothing was erased');
    assert.equal(broke.ends[0]?.discardedBytes, 0);
  });

  it('memory.grow posts the erasure bond from the balance, and fails (-1) when the wallet cannot post it', async () => {
    // A page's bond is 65,536 B × 0.001 µJ/B = 66 µJ: a view of 100 µJ (less what the slot burns) covers one page, not two.
    const text = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "run") (result i32)
        (i32.store (i32.const 0) (memory.grow (i32.const 1)))
        (i32.store (i32.const 4) (memory.grow (i32.const 1)))
        (i32.const 0)))`;
    const r = await runSlot(text, { view: { ...VIEW, balanceUj: 100, ujPerFuel: 0 } });
    const mem = new Int32Array((r.p as unknown as { memory: WebAssembly.Memory }).memory.buffer, 0, 2);
    assert.equal(mem[0], 1, 'the first page grew (old size 1)');
    assert.equal(mem[1], -1, 'the second could not post its bond');
    assert.equal(r.ends[0]?.grownBytes, 65_536);
  });

  it('a death notice runs maxwell_apoptosis on the grace fuel, then the process dies of the notice; a process that never ran gets none', async () => {
    const text = `(module (memory (export "memory") 1)
      (func (export "_start") (loop $l (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))) (br $l)))
      (func (export "maxwell_apoptosis") (i32.store (i32.const 8) (i32.load (i32.const 0)))))`;
    const compiled = await compileModule(wat(text));
    const ex = new Executor({ slotted: true, sliceFuel: 10_000 });
    const p = ex.spawn(compiled, { pid: 1, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4 });
    ex.grant(1, 50_000, VIEW);
    assert.deepEqual(ex.runToCompletion(), [], 'the looper is parked when its slot ends');
    const exit = { reason: 'apoptosis' as const, code: null, errorCode: ErrorCode.BUDGET_EXHAUSTED, message: 'apoptosis: cannot pay rent' };
    assert.equal(ex.notifyDeath(1, exit, 100_000), undefined, 'it is not dead yet: its handler runs first');
    const deaths = ex.runToCompletion();
    assert.equal(deaths.length, 1);
    assert.deepEqual(deaths[0]!.exit, exit);
    const mem = new Int32Array((p as unknown as { memory: WebAssembly.Memory }).memory.buffer, 0, 3);
    assert.ok(mem[0]! > 0 && mem[2] === mem[0], `the handler saw the loop's count (${mem[0]}, ${mem[2]})`);
    const grace = ex.takeSlotEnds().at(-1)!;
    assert.ok(grace.dead && grace.fuelUsed <= 100_000, `the grace slot: ${JSON.stringify(grace)}`);

    // A handler that would loop forever is stopped at the grace.
    const greedy = await compileModule(wat(text.replace('(i32.store (i32.const 8) (i32.load (i32.const 0)))', '(loop $g (br $g))')));
    const ex2 = new Executor({ slotted: true, sliceFuel: 10_000 });
    const g = ex2.spawn(greedy, { pid: 2, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4 });
    ex2.grant(2, 20_000, VIEW);
    ex2.runToCompletion();
    const before = g.fuelUsed;
    ex2.notifyDeath(2, exit, 50_000);
    const d2 = ex2.runToCompletion();
    assert.deepEqual(d2[0]!.exit, exit);
    assert.ok(g.fuelUsed - before <= 50_000 + 10_000, `the handler used ${g.fuelUsed - before} fuel of 50,000 grace`);

    // Never ran: killed at once, no handler.
    const ex3 = new Executor({ slotted: true, sliceFuel: 10_000 });
    ex3.spawn(compiled, { pid: 3, budgetFuel: Number.MAX_SAFE_INTEGER, memoryLimitPages: 4 });
    const d3 = ex3.notifyDeath(3, exit, 100_000);
    assert.deepEqual(d3?.exit, exit);
    assert.equal(d3?.process.fuelUsed, 0);
  });
});
