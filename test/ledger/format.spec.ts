// The ledger's entry format (src/ledger/format.ts): the byte layout of the header table, the
// roundtrip of every kind, what decode refuses, the charge arithmetic, the genesis hash and the
// signed messages.
//
// The layout is checked against the header's table with independent reads (BigInt
// readBigUInt64BE at the documented offsets), not with decodeEntry, so that a change to the
// encoder and the decoder together cannot pass unnoticed: the table is the format's contract
// with every verifier written elsewhere.
//
// Property tests use fast-check with a fixed seed; a failure prints the counterexample and
// the `path` to replay it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  Basis,
  DeathReason,
  FORMAT_VERSION,
  FormatError,
  HEADER_BYTES,
  Kind,
  MAX_ENTRY_BYTES,
  MAX_UJ,
  PRICE_UNIT,
  ZERO_WALLET,
  chargeAmountUj,
  decodeEntry,
  encodeEntry,
  entryLengthAt,
  epochMessage,
  genesisHash,
  leafHash,
  transferMessage,
  type BasisName,
  type DeathReasonName,
  type Entry,
  type KindName,
} from '../../src/ledger/format.js';

const FC = { seed: 0x666d7431, numRuns: 300 } as const;

// ---------- the header's table, as data ----------

type Field = { name: string; at: number; type: 'u64' | 'u32' | 'u8' | 'bytes'; len?: number };
const COMMON: Field[] = [
  { name: 'seq', at: 2, type: 'u64' },
  { name: 'timeMs', at: 10, type: 'u64' },
  { name: 'prevHash', at: 18, type: 'bytes', len: 32 },
  { name: 'from', at: 50, type: 'bytes', len: 32 },
  { name: 'to', at: 82, type: 'bytes', len: 32 },
  { name: 'amountUj', at: 114, type: 'u64' },
  { name: 'fromBalanceUj', at: 122, type: 'u64' },
  { name: 'toBalanceUj', at: 130, type: 'u64' },
];
const BODY: Record<KindName, Field[]> = {
  mint: [{ name: 'periodStartMs', at: 138, type: 'u64' }, { name: 'periodEndMs', at: 146, type: 'u64' }, { name: 'powerCapMw', at: 154, type: 'u64' }],
  grant: [],
  transfer: [{ name: 'nonce', at: 138, type: 'u64' }, { name: 'signature', at: 146, type: 'bytes', len: 64 }],
  charge: [
    { name: 'pid', at: 138, type: 'u32' }, { name: 'fuel', at: 142, type: 'u64' }, { name: 'energyUj', at: 150, type: 'u64' },
    { name: 'priceUtPerJ', at: 158, type: 'u64' }, { name: 'basis', at: 166, type: 'u8' },
  ],
  rent: [{ name: 'pid', at: 138, type: 'u32' }, { name: 'periodMs', at: 142, type: 'u32' }, { name: 'memoryBytes', at: 146, type: 'u64' }],
  erasure_tax: [{ name: 'pid', at: 138, type: 'u32' }, { name: 'bytes', at: 142, type: 'u64' }],
  reward: [{ name: 'pid', at: 138, type: 'u32' }, { name: 'milliBits', at: 142, type: 'u64' }],
  burn: [],
  death: [{ name: 'pid', at: 138, type: 'u32' }, { name: 'reason', at: 142, type: 'u8' }],
  query_fee: [{ name: 'pid', at: 138, type: 'u32' }, { name: 'samples', at: 142, type: 'u64' }],
};
/** Total sizes: 138 + the body sizes of the table (24, 0, 72, 29, 16, 12, 12, 0, 5, 12). */
const SIZE: Record<KindName, number> = { mint: 162, grant: 138, transfer: 210, charge: 167, rent: 154, erasure_tax: 150, reward: 150, burn: 138, death: 143, query_fee: 150 };
const KINDS = Object.keys(Kind) as KindName[];
const CODES: Record<KindName, number> = { mint: 1, grant: 2, transfer: 3, charge: 4, rent: 5, erasure_tax: 6, reward: 7, burn: 8, death: 9, query_fee: 10 };

// ---------- arbitraries ----------

const EDGE_U64 = [0, 1, 0xffff_ffff, 2 ** 32, 2 ** 32 + 1, 2 ** 52, MAX_UJ - 1, MAX_UJ];
/** Safe integers, with the edges of the two u32 halves over-represented. */
const u64 = fc.oneof(fc.maxSafeNat(), fc.nat(), fc.constantFrom(...EDGE_U64));
const u32 = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
const basis = fc.constantFrom<BasisName>('estimated', 'measured');
const reason = fc.constantFrom<DeathReasonName>(...(Object.keys(DeathReason) as DeathReasonName[]));

const common = fc.record({
  seq: u64, timeMs: u64, prevHash: bytes(32), from: bytes(32), to: bytes(32),
  amountUj: u64, fromBalanceUj: u64, toBalanceUj: u64,
});
const bodyOf: { [K in KindName]: fc.Arbitrary<object> } = {
  mint: fc.record({ periodStartMs: u64, periodEndMs: u64, powerCapMw: u64 }),
  grant: fc.constant({}),
  transfer: fc.record({ nonce: u64, signature: bytes(64) }),
  charge: fc.record({ pid: u32, fuel: u64, energyUj: u64, priceUtPerJ: u64, basis }),
  rent: fc.record({ pid: u32, periodMs: u32, memoryBytes: u64 }),
  erasure_tax: fc.record({ pid: u32, bytes: u64 }),
  reward: fc.record({ pid: u32, milliBits: u64 }),
  burn: fc.constant({}),
  death: fc.record({ pid: u32, reason }),
  query_fee: fc.record({ pid: u32, samples: u64 }),
};
const entryOfKind = (k: KindName): fc.Arbitrary<Entry> => fc.tuple(common, bodyOf[k]).map(([c, b]) => ({ kind: k, ...c, ...b }) as Entry);
const anyEntry = fc.constantFrom(...KINDS).chain(entryOfKind);

/** An entry as plain data, Buffers as hex, for deepEqual with a readable diff. */
const plain = (e: Entry) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v]));

function expectFormatError(fn: () => unknown, why: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `${why}: expected a FormatError, got ${String(e)}`);
    return true;
  }, why);
}

/** A valid encoded entry of each kind (all fields mid-range). */
function sample(kind: KindName): Buffer {
  const e = fc.sample(entryOfKind(kind), { seed: CODES[kind], numRuns: 1 })[0]!;
  return encodeEntry(e);
}

// ---------- tests ----------

describe('format: encodeEntry / decodeEntry', () => {
  it('every kind has the size of the header table (138 + body), and MAX_ENTRY_BYTES is the largest', () => {
    assert.equal(HEADER_BYTES, 138);
    assert.equal(FORMAT_VERSION, 1);
    for (const k of KINDS) {
      assert.equal(Kind[k], CODES[k], `the code of ${k}`);
      assert.equal(sample(k).length, SIZE[k], `the size of ${k}`);
    }
    assert.equal(MAX_ENTRY_BYTES, Math.max(...Object.values(SIZE)));
    assert.deepEqual(Basis, { estimated: 0, measured: 1 });
    assert.deepEqual(DeathReason, { cannot_pay_rent: 1, cannot_pay_charge: 2, killed: 3, exited: 4, trapped: 5, lost: 6 });
  });

  it('roundtrips every kind exactly (random entries, safe-integer fields)', () => {
    fc.assert(
      fc.property(anyEntry, (e) => {
        const b = encodeEntry(e);
        assert.equal(b.length, SIZE[e.kind]);
        const d = decodeEntry(b);
        assert.deepEqual(plain(d), plain(e));
        // And back: the encoding is canonical (every byte is a field).
        assert.ok(encodeEntry(d).equals(b));
      }),
      { ...FC, numRuns: 1000 },
    );
  });

  it('puts every field at the offset of the header table, big-endian', () => {
    fc.assert(
      fc.property(anyEntry, (e) => {
        const b = encodeEntry(e);
        assert.equal(b[0], 1, 'version');
        assert.equal(b[1], CODES[e.kind], 'kind');
        const rec = e as unknown as Record<string, number | Buffer | string>;
        for (const f of [...COMMON, ...BODY[e.kind]]) {
          const v = rec[f.name]!;
          switch (f.type) {
            case 'u64': assert.equal(b.readBigUInt64BE(f.at), BigInt(v as number), `${e.kind}.${f.name} at ${f.at}`); break;
            case 'u32': assert.equal(b.readUInt32BE(f.at), v, `${e.kind}.${f.name} at ${f.at}`); break;
            case 'u8': {
              const want = f.name === 'basis' ? Basis[v as BasisName] : DeathReason[v as DeathReasonName];
              assert.equal(b[f.at], want, `${e.kind}.${f.name} at ${f.at}`);
              break;
            }
            case 'bytes': assert.ok(b.subarray(f.at, f.at + f.len!).equals(v as Buffer), `${e.kind}.${f.name} at ${f.at}`); break;
          }
        }
        // The table covers the whole entry: the last field ends at the entry's end.
        const last = [...COMMON, ...BODY[e.kind]].at(-1)!;
        const end = last.at + (last.type === 'u64' ? 8 : last.type === 'u32' ? 4 : last.type === 'u8' ? 1 : last.len!);
        assert.equal(end, b.length);
      }),
      { ...FC, numRuns: 500 },
    );
  });

  it('the largest safe integer (2^53 − 1) roundtrips in every u64 field', () => {
    for (const k of KINDS) {
      const e = decodeEntry(sample(k)) as unknown as Record<string, unknown>;
      const copy: Record<string, unknown> = { ...e };
      for (const f of [...COMMON, ...BODY[k]]) if (f.type === 'u64') copy[f.name] = MAX_UJ;
      const b = encodeEntry(copy as unknown as Entry);
      const d = decodeEntry(b) as unknown as Record<string, unknown>;
      for (const f of [...COMMON, ...BODY[k]]) if (f.type === 'u64') assert.equal(d[f.name], MAX_UJ, `${k}.${f.name}`);
    }
  });

  it('decode refuses a wrong version, with FormatError', () => {
    for (const k of KINDS) {
      for (const v of [0, 2, 0x81, 255]) {
        const b = Buffer.from(sample(k));
        b[0] = v;
        expectFormatError(() => decodeEntry(b), `${k} with version ${v}`);
      }
    }
  });

  it('decode refuses an unknown kind, with FormatError', () => {
    for (const code of [0, 11, 12, 128, 255]) {
      for (const len of [138, 143, 162, 210]) {
        const b = Buffer.alloc(len);
        b[0] = 1;
        b[1] = code;
        expectFormatError(() => decodeEntry(b), `kind ${code}, ${len} bytes`);
      }
    }
  });

  it('decode refuses any length other than the kind\'s, with FormatError', () => {
    for (const k of KINDS) {
      const b = sample(k);
      for (const len of [0, 1, 2, 137, b.length - 1]) expectFormatError(() => decodeEntry(b.subarray(0, len)), `${k} cut to ${len} bytes`);
      for (const extra of [1, 5, 72]) expectFormatError(() => decodeEntry(Buffer.concat([b, Buffer.alloc(extra)])), `${k} + ${extra} bytes`);
      // Another kind's code on this kind's bytes: the length no longer fits (mint and
      // grant/burn, reward and erasure_tax have different or equal sizes: only the unequal ones).
      for (const other of KINDS) {
        if (SIZE[other] === SIZE[k]) continue;
        const c = Buffer.from(b);
        c[1] = CODES[other];
        expectFormatError(() => decodeEntry(c), `${k} bytes with kind ${other}`);
      }
    }
  });

  it('decode refuses a u64 of 2^53 or more in every u64 field, with FormatError, and takes 2^53 − 1', () => {
    for (const k of KINDS) {
      for (const f of [...COMMON, ...BODY[k]]) {
        if (f.type !== 'u64') continue;
        for (const big of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
          const b = Buffer.from(sample(k));
          b.writeBigUInt64BE(big, f.at);
          expectFormatError(() => decodeEntry(b), `${k}.${f.name} = ${big}`);
        }
        const b = Buffer.from(sample(k));
        b.writeBigUInt64BE(2n ** 53n - 1n, f.at);
        assert.equal((decodeEntry(b) as unknown as Record<string, number>)[f.name], MAX_UJ, `${k}.${f.name} = 2^53 − 1`);
      }
    }
  });

  it('decode refuses an unknown charge basis or death reason, with FormatError', () => {
    for (const v of [2, 3, 255]) {
      const b = Buffer.from(sample('charge'));
      b[166] = v;
      expectFormatError(() => decodeEntry(b), `basis ${v}`);
    }
    for (const v of [0, 7, 255]) {
      const b = Buffer.from(sample('death'));
      b[142] = v;
      expectFormatError(() => decodeEntry(b), `reason ${v}`);
    }
  });

  it('random bytes either decode to an entry that re-encodes to the same bytes, or throw FormatError', () => {
    // Nothing else may escape decodeEntry: the verifier reports a FormatError as a corrupt entry
    // and lets any other error crash it.
    const lens = fc.constantFrom(0, 5, 137, 138, 139, 143, 150, 154, 162, 167, 210, 211);
    const raw = fc.tuple(lens, fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 3 }), fc.nat(), fc.uint8Array({ minLength: 211, maxLength: 211 }))
      .map(([len, kind, version, hiMask, body]) => {
        const b = Buffer.from(body.subarray(0, len));
        if (len > 1) {
          b[0] = version === 0 ? 0 : 1;
          b[1] = kind;
        }
        // Mostly small u64 high halves, so that some of these decode.
        for (let at = 2; at + 8 <= len; at += 8) if ((hiMask >> (at % 31)) & 1) b.writeUInt16BE(0, at);
        return b;
      });
    let decoded = 0;
    fc.assert(
      fc.property(raw, (b) => {
        let e: Entry;
        try {
          e = decodeEntry(b);
        } catch (err) {
          assert.ok(err instanceof FormatError, `not a FormatError: ${String(err)}`);
          return;
        }
        decoded++;
        assert.ok(encodeEntry(e).equals(b), 'decode then encode changed the bytes');
      }),
      { ...FC, numRuns: 3000 },
    );
    assert.ok(decoded > 0, 'no random entry decoded: the generator tests nothing but errors');
  });
});

describe('format: entryLengthAt', () => {
  it('walks a concatenation of random entries exactly', () => {
    fc.assert(
      fc.property(fc.array(anyEntry, { minLength: 0, maxLength: 20 }), (es) => {
        const parts = es.map(encodeEntry);
        const all = Buffer.concat(parts);
        let at = 0;
        for (const p of parts) {
          const len = entryLengthAt(all, at);
          assert.equal(len, p.length);
          at += len;
        }
        assert.equal(at, all.length);
        assert.equal(entryLengthAt(all, at), -1, 'past the end');
      }),
      { ...FC, numRuns: 200 },
    );
  });

  it('is -1 where no entry can start: fewer than 138 bytes left, another version, an unknown kind', () => {
    const b = sample('grant');
    assert.equal(entryLengthAt(b, 0), 138);
    assert.equal(entryLengthAt(b.subarray(0, 137), 0), -1);
    assert.equal(entryLengthAt(b, 1), -1);
    assert.equal(entryLengthAt(Buffer.alloc(0), 0), -1);
    for (const v of [0, 2, 255]) {
      const c = Buffer.from(b);
      c[0] = v;
      assert.equal(entryLengthAt(c, 0), -1, `version ${v}`);
    }
    for (const k of [0, 11, 255]) {
      const c = Buffer.from(b);
      c[1] = k;
      assert.equal(entryLengthAt(c, 0), -1, `kind ${k}`);
    }
    for (const k of KINDS) {
      const c = Buffer.concat([Buffer.alloc(7), sample(k)]);
      assert.equal(entryLengthAt(c, 7), SIZE[k], k);
    }
  });

  it('gives the length the kind requires even when the buffer is cut short after the header (the caller checks that it fits)', () => {
    // splitEpoch (sqlite-store.ts) relies on this: it compares at + len with the blob's length.
    const t = sample('transfer');
    assert.equal(entryLengthAt(t.subarray(0, 150), 0), 210);
  });
});

describe('format: chargeAmountUj', () => {
  /** ceil(e × p / 10⁶) in BigInt, Infinity above 2^53 − 1. */
  const ref = (e: number, p: number): number => {
    const q = (BigInt(e) * BigInt(p) + 999_999n) / 1_000_000n;
    return q > BigInt(MAX_UJ) ? Infinity : Number(q);
  };

  it('the examples: rounds up to the next µJ, exactly', () => {
    assert.equal(chargeAmountUj(1, 1), 1, '1 µJ at 1 µtoken/J is 10⁻⁶ µJ, charged as 1');
    assert.equal(chargeAmountUj(0, 1_000_000), 0);
    assert.equal(chargeAmountUj(1_000_000, 0), 0);
    assert.equal(chargeAmountUj(1_000_000, PRICE_UNIT), 1_000_000);
    assert.equal(chargeAmountUj(999_999, 1), 1);
    assert.equal(chargeAmountUj(1_000_000, 1), 1);
    assert.equal(chargeAmountUj(1_000_001, 1), 2);
    assert.equal(chargeAmountUj(3, 333_333), 1);
    assert.equal(chargeAmountUj(3, 333_334), 2);
    assert.equal(chargeAmountUj(MAX_UJ, PRICE_UNIT), MAX_UJ, 'at 1 token/J the charge is the energy');
    assert.equal(chargeAmountUj(MAX_UJ, PRICE_UNIT + 1), Infinity);
    assert.equal(chargeAmountUj(MAX_UJ, 1), ref(MAX_UJ, 1));
    assert.equal(chargeAmountUj(MAX_UJ, MAX_UJ), Infinity);
  });

  it('= ceil(e × p / 10⁶) computed in BigInt, for random safe integers (products far above 2^53 included)', () => {
    const side = fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 1e7 }), fc.nat({ max: 1e9 }), fc.nat({ max: 1e12 }), fc.maxSafeNat(), fc.constantFrom(0, 1, 999_999, 1_000_000, 1_000_001, MAX_UJ));
    let above = 0;
    let infinite = 0;
    fc.assert(
      fc.property(side, side, (e, p) => {
        if (e * p > MAX_UJ) above++;
        const want = ref(e, p);
        if (want === Infinity) infinite++;
        assert.equal(chargeAmountUj(e, p), want, `${e} µJ × ${p} µtokens/J`);
      }),
      { ...FC, numRuns: 20_000 },
    );
    assert.ok(above > 1000 && infinite > 100, `products above 2^53: ${above}, results above 2^53 − 1: ${infinite}`);
  });

  it('is exact at the edge of the safe range: the largest results, and the first that is too large', () => {
    // For price p, the energies whose charge is just below, at and above 2^53 − 1.
    fc.assert(
      fc.property(fc.integer({ min: 1_000_000, max: 1e12 }), fc.integer({ min: -3, max: 3 }), (p, d) => {
        const e0 = (BigInt(MAX_UJ) * 1_000_000n) / BigInt(p);
        const e = Number(e0) + d;
        if (!Number.isSafeInteger(e) || e < 0) return;
        assert.equal(chargeAmountUj(e, p), ref(e, p), `${e} × ${p}`);
      }),
      { ...FC, numRuns: 5000 },
    );
    // And the rounding just around the safe-product edge, where p = e × price crosses 2^53.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: -5, max: 5 }), (p, d) => {
        const e = Math.floor(2 ** 53 / p) + d;
        if (e < 0) return;
        assert.equal(chargeAmountUj(e, p), ref(e, p), `${e} × ${p}`);
      }),
      { ...FC, numRuns: 5000 },
    );
  });
});

describe('format: genesisHash', () => {
  const g = { nodeKey: Buffer.alloc(32, 0xab), genesisTimeMs: 1_700_000_000_123, maxPowerCapMw: 250_000 };

  it('is SHA-256("maxwell-ledger-v1" ‖ nodeKey ‖ genesisTimeMs u64 ‖ maxPowerCapMw u64)', () => {
    fc.assert(
      fc.property(bytes(32), u64, u64, (nodeKey, t, cap) => {
        const tail = Buffer.alloc(16);
        tail.writeBigUInt64BE(BigInt(t), 0);
        tail.writeBigUInt64BE(BigInt(cap), 8);
        const want = createHash('sha256').update('maxwell-ledger-v1').update(nodeKey).update(tail).digest();
        assert.ok(genesisHash({ nodeKey, genesisTimeMs: t, maxPowerCapMw: cap }).equals(want));
      }),
      { ...FC, numRuns: 200 },
    );
  });

  it('changes with every bit of the node key, the genesis time and the power cap (high halves included)', () => {
    const seen = new Set<string>([genesisHash(g).toString('hex')]);
    const add = (x: typeof g, why: string) => {
      const h = genesisHash(x).toString('hex');
      assert.ok(!seen.has(h), `${why}: the hash did not change`);
      seen.add(h);
    };
    for (let bit = 0; bit < 256; bit++) {
      const k = Buffer.from(g.nodeKey);
      k[bit >> 3]! ^= 1 << (bit & 7);
      add({ ...g, nodeKey: k }, `node key bit ${bit}`);
    }
    for (const d of [1, -1, 2 ** 32, 2 ** 40]) add({ ...g, genesisTimeMs: g.genesisTimeMs + d }, `time + ${d}`);
    for (const d of [1, -1, 2 ** 32, 2 ** 40]) add({ ...g, maxPowerCapMw: g.maxPowerCapMw + d }, `cap + ${d}`);
    // The two numbers are not interchangeable.
    add({ ...g, genesisTimeMs: g.maxPowerCapMw, maxPowerCapMw: g.genesisTimeMs }, 'time and cap swapped');
  });

  it('refuses a node key that is not 32 bytes', () => {
    assert.throws(() => genesisHash({ ...g, nodeKey: Buffer.alloc(31) }));
    assert.throws(() => genesisHash({ ...g, nodeKey: Buffer.alloc(33) }));
  });
});

describe('format: transferMessage and epochMessage', () => {
  const tuple = fc.record({ nodeKey: bytes(32), from: bytes(32), to: bytes(32), amount: u64, nonce: u64 });
  type T = { nodeKey: Buffer; from: Buffer; to: Buffer; amount: number; nonce: number };
  const msg = (t: T) => transferMessage(t.nodeKey, t.from, t.to, t.amount, t.nonce);

  it('is "maxwell-transfer-v1" ‖ nodeKey ‖ from ‖ to ‖ amountUj u64 ‖ nonce u64', () => {
    fc.assert(
      fc.property(tuple, (t) => {
        const n = Buffer.alloc(16);
        n.writeBigUInt64BE(BigInt(t.amount), 0);
        n.writeBigUInt64BE(BigInt(t.nonce), 8);
        assert.ok(msg(t).equals(Buffer.concat([Buffer.from('maxwell-transfer-v1'), t.nodeKey, t.from, t.to, n])));
      }),
      { ...FC, numRuns: 200 },
    );
  });

  it('binds every field: changing any one changes the bytes (a bit of a key, ±1 or ±2^32 of a number, from and to swapped)', () => {
    const tweakKey = (b: Buffer, bit: number) => {
      const c = Buffer.from(b);
      c[(bit >> 3) % 32]! ^= 1 << (bit & 7);
      return c;
    };
    const tweakNum = (x: number, d: number) => (x + d >= 0 && x + d <= MAX_UJ ? x + d : x - d);
    fc.assert(
      fc.property(tuple, fc.nat({ max: 255 }), fc.constantFrom(1, 2 ** 32, 2 ** 40), (t, bit, d) => {
        const base = msg(t);
        const variants: [string, T][] = [
          ['nodeKey', { ...t, nodeKey: tweakKey(t.nodeKey, bit) }],
          ['from', { ...t, from: tweakKey(t.from, bit) }],
          ['to', { ...t, to: tweakKey(t.to, bit) }],
          ['amount', { ...t, amount: tweakNum(t.amount, d) }],
          ['nonce', { ...t, nonce: tweakNum(t.nonce, d) }],
        ];
        if (!t.from.equals(t.to)) variants.push(['from/to swapped', { ...t, from: t.to, to: t.from }]);
        if (t.amount !== t.nonce) variants.push(['amount/nonce swapped', { ...t, amount: t.nonce, nonce: t.amount }]);
        for (const [why, v] of variants) assert.ok(!msg(v).equals(base), `changing ${why} left the message unchanged`);
      }),
      { ...FC, numRuns: 500 },
    );
  });

  it('an epoch head is "maxwell-epoch-v1" ‖ nodeKey ‖ epoch u64 ‖ treeSize u64 ‖ timeMs u64 ‖ root', () => {
    fc.assert(
      fc.property(bytes(32), u64, u64, u64, bytes(32), (nodeKey, epoch, treeSize, timeMs, root) => {
        const nums = Buffer.alloc(24);
        nums.writeBigUInt64BE(BigInt(epoch), 0);
        nums.writeBigUInt64BE(BigInt(treeSize), 8);
        nums.writeBigUInt64BE(BigInt(timeMs), 16);
        const m = epochMessage(nodeKey, { epoch, treeSize, timeMs, root });
        assert.ok(m.equals(Buffer.concat([Buffer.from('maxwell-epoch-v1'), nodeKey, nums, root])));
      }),
      { ...FC, numRuns: 200 },
    );
  });

  it('a transfer message is never an epoch message or an entry (distinct tags and lengths)', () => {
    const t = transferMessage(ZERO_WALLET, ZERO_WALLET, ZERO_WALLET, 0, 0);
    const e = epochMessage(ZERO_WALLET, { epoch: 0, treeSize: 0, timeMs: 0, root: ZERO_WALLET });
    assert.equal(t.length, 19 + 96 + 16);
    assert.equal(e.length, 16 + 32 + 24 + 32);
    assert.notEqual(t.subarray(0, 16).toString(), e.subarray(0, 16).toString());
    for (const k of KINDS) assert.ok(![t.length, e.length].includes(SIZE[k]), `${k} entries have a message's length`);
    // And the leaf hash domain-separates entries from nodes anyway.
    assert.notEqual(leafHash(Buffer.alloc(64)).toString('hex'), createHash('sha256').update(Buffer.concat([Buffer.from([1]), Buffer.alloc(64)])).digest('hex'));
  });
});
