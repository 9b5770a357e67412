// The heat protocol's wire formats (src/thermal/claim.ts, message.ts) and their validity rules,
// one rule at a time; the flat structures under it (rate.ts, queue.ts) against simple models.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import {
  CLAIM_BYTES,
  ClaimFormat,
  FLAG_ALARM,
  FLAG_NO_READING,
  MAX_CLAIM_TTL_MS,
  clusterTagOf,
  emptyClaimFields,
  encodeClaim,
  readClaim,
  verifyClaim,
  type ClaimFields,
} from '../../src/thermal/claim.js';
import { HEADER_BYTES, MAX_CLAIMS, MAX_MESSAGE_BYTES, MessageFormat, MessageType, MessageWriter, RumourKind, emptyParsed, parseMessage } from '../../src/thermal/message.js';
import { ed25519Crypto } from '../../src/thermal/protocol.js';
import { AdvertRing } from '../../src/thermal/queue.js';
import { BucketReduction, TokenBuckets } from '../../src/thermal/rate.js';
import { rawPublicKey } from '../../src/ledger/keys.js';

const FC = { seed: 0x68656174, numRuns: 200 } as const;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const crypto = ed25519Crypto(privateKey);
const pub = new Uint8Array(rawPublicKey(publicKey));
const TAG = 0x1234abcd;

function fields(over: Partial<ClaimFields> = {}): ClaimFields {
  return { ...emptyClaimFields(), member: 3, version: 1000, issuedMs: 5000, expiresMs: 65_000, tempC: 71.25, powerW: 250.5, headroomW: 49.5, price: 1.5, heat: 0.25, ...over };
}

/** A claim with its bytes changed by `edit`, re-signed (so only the rule under test is broken). */
function resigned(f: ClaimFields, edit: (v: DataView) => void): Uint8Array {
  const b = encodeClaim(f, TAG, crypto);
  edit(new DataView(b.buffer));
  return b;
}

function read(b: Uint8Array): [ClaimFormat, ClaimFields] {
  const out = emptyClaimFields();
  return [readClaim(new DataView(b.buffer, b.byteOffset), 0, out), out];
}

describe('heat claims', () => {
  it('round-trip every field, within the format’s resolution, and verify', () => {
    const b = encodeClaim(fields(), TAG, crypto);
    assert.equal(b.length, CLAIM_BYTES);
    const [fmt, f] = read(b);
    assert.equal(fmt, ClaimFormat.OK);
    assert.deepEqual({ ...f, price: Math.round(f.price * 1e6) / 1e6 }, fields());
    assert.ok(verifyClaim(b, 0, TAG, pub, crypto));
  });

  it('sign the domain, the cluster and every body byte', () => {
    const b = encodeClaim(fields(), TAG, crypto);
    assert.equal(verifyClaim(b, 0, TAG ^ 1, pub, crypto), false, 'another cluster');
    for (let i = 0; i < CLAIM_BYTES; i++) {
      const c = b.slice();
      c[i]! ^= 0x10;
      assert.equal(verifyClaim(c, 0, TAG, pub, crypto), false, `byte ${i} flipped`);
    }
    const other = generateKeyPairSync('ed25519');
    assert.equal(verifyClaim(b, 0, TAG, new Uint8Array(rawPublicKey(other.publicKey)), crypto), false, 'another key');
    assert.equal(crypto.verify(new Uint8Array(31), new Uint8Array(10), new Uint8Array(64)), false, 'a malformed key is false, not a throw');
    assert.equal(crypto.verify(new Uint8Array(32), new Uint8Array(10), new Uint8Array(64)), false, 'a key off the curve is false, not a throw');
  });

  it('enforce each validity rule', () => {
    const cases: [string, Uint8Array, ClaimFormat][] = [
      ['format byte', resigned(fields(), (v) => v.setUint8(0, 2)), ClaimFormat.BAD_FORMAT],
      ['unknown flag', resigned(fields(), (v) => v.setUint8(3, 4)), ClaimFormat.BAD_FLAGS],
      ['version 0', resigned(fields(), (v) => v.setUint32(8, 0)), ClaimFormat.BAD_VERSION],
      ['version past 2^53', resigned(fields(), (v) => v.setUint32(4, 0x200000)), ClaimFormat.BAD_VERSION],
      ['expires before issued', resigned(fields(), (v) => v.setUint32(24, 4000)), ClaimFormat.BAD_TIME],
      ['lives past a day', encodeClaim(fields({ expiresMs: 5000 + MAX_CLAIM_TTL_MS }), TAG, crypto), ClaimFormat.OK],
      ['lives past a day + 1 ms', resigned(fields({ expiresMs: 5000 + MAX_CLAIM_TTL_MS }), (v) => v.setUint32(24, v.getUint32(24) + 1)), ClaimFormat.BAD_TIME],
      ['price NaN', resigned(fields(), (v) => v.setFloat32(38, Number.NaN)), ClaimFormat.BAD_PRICE],
      ['price negative', resigned(fields(), (v) => v.setFloat32(38, -1)), ClaimFormat.BAD_PRICE],
      ['heat past 1', resigned(fields(), (v) => v.setUint16(42, 10_001)), ClaimFormat.BAD_HEAT],
      ['alarm with heat < 1', resigned(fields(), (v) => v.setUint8(3, FLAG_ALARM)), ClaimFormat.BAD_HEAT],
      ['no reading with a temperature', resigned(fields({ heat: 0 }), (v) => v.setUint8(3, FLAG_NO_READING)), ClaimFormat.BAD_FORMAT],
      ['no reading', encodeClaim(fields({ flags: FLAG_NO_READING, heat: 0 }), TAG, crypto), ClaimFormat.OK],
      ['no reading, alarm', encodeClaim(fields({ flags: FLAG_NO_READING | FLAG_ALARM }), TAG, crypto), ClaimFormat.OK],
    ];
    for (const [name, b, want] of cases) assert.equal(read(b)[0], want, name);
  });

  it('clamp what the format cannot hold when encoding', () => {
    const [, f] = read(encodeClaim(fields({ tempC: 1000, powerW: -5, headroomW: 1e12, heat: 3 }), TAG, crypto));
    assert.equal(f.tempC, 327.67);
    assert.equal(f.powerW, 0);
    assert.equal(f.headroomW, 0xffffffff / 1000);
    assert.equal(f.heat, 1);
  });

  it('have a cluster tag that depends on every id and key', () => {
    const k = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const t = clusterTagOf(['a', 'b'], k);
    assert.notEqual(t, clusterTagOf(['a', 'c'], k));
    assert.notEqual(t, clusterTagOf(['a', 'b'], [k[0]!, new Uint8Array(32).fill(3)]));
    assert.notEqual(t, clusterTagOf(['ab', ''], k), 'ids are length-prefixed');
  });
});

describe('heat messages', () => {
  const N = 10;
  function message(build: (w: MessageWriter) => void, type: MessageType = MessageType.PING, seq = 7, target = 0xffff): Uint8Array {
    const w = new MessageWriter().begin(type, TAG, seq, target);
    build(w);
    return w.finish();
  }
  const parse = (b: Uint8Array, n = N) => parseMessage(b, n, TAG, emptyParsed());

  it('parse what the writer writes', () => {
    const claim = encodeClaim(fields(), TAG, crypto);
    const b = message((w) => {
      w.advert(1, 99);
      w.advert(2, 0);
      w.want(4);
      w.rumour(RumourKind.SUSPECT, 5, 6, 77);
      w.claim(claim, 0);
    });
    assert.equal(b.length, HEADER_BYTES + 2 * 10 + 2 + 13 + CLAIM_BYTES);
    const p = emptyParsed();
    assert.equal(parseMessage(b, N, TAG, p), MessageFormat.OK);
    assert.deepEqual([p.type, p.seq, p.adverts, p.wants, p.rumours, p.claims], [MessageType.PING, 7, 2, 1, 1, 1]);
    assert.deepEqual(b.slice(p.claimsAt, p.claimsAt + CLAIM_BYTES), claim);
  });

  it('refuse each broken rule', () => {
    const ok = message((w) => w.advert(1, 5));
    const edit = (f: (v: DataView) => void, from = ok) => {
      const c = from.slice();
      f(new DataView(c.buffer));
      return c;
    };
    assert.equal(parse(ok), MessageFormat.OK);
    assert.equal(parse(ok.slice(0, 15)), MessageFormat.MALFORMED, 'shorter than a header');
    assert.equal(parse(ok.slice(0, ok.length - 1)), MessageFormat.MALFORMED, 'length does not match the counts');
    assert.equal(parse(new Uint8Array([...ok, 0])), MessageFormat.MALFORMED, 'trailing byte');
    assert.equal(parse(edit((v) => v.setUint8(0, 9))), MessageFormat.MALFORMED, 'format');
    assert.equal(parse(edit((v) => v.setUint8(1, 7))), MessageFormat.MALFORMED, 'type');
    assert.equal(parse(edit((v) => v.setUint32(2, TAG + 1))), MessageFormat.WRONG_CLUSTER);
    assert.equal(parse(edit((v) => v.setUint16(10, 3))), MessageFormat.MALFORMED, 'a PING names no target');
    assert.equal(parse(edit((v) => v.setUint16(16, N))), MessageFormat.MALFORMED, 'member index past the list');
    assert.equal(parse(ok, 1), MessageFormat.MALFORMED, 'member index past a shorter list');
    assert.equal(parse(edit((v) => v.setUint32(18, 0x200000))), MessageFormat.MALFORMED, 'advert version past 2^53');
    assert.equal(parse(edit((v) => v.setUint8(12, 65))), MessageFormat.MALFORMED, 'too many adverts');
    assert.equal(parse(message((w) => w.advert(1, 5), MessageType.CLAIMS, 0)), MessageFormat.MALFORMED, 'adverts in CLAIMS');
    assert.equal(parse(message(() => {}, MessageType.CLAIMS, 3)), MessageFormat.MALFORMED, 'CLAIMS with a seq');
    assert.equal(parse(message(() => {}, MessageType.PING_REQ, 3, 0xffff)), MessageFormat.MALFORMED, 'PING_REQ without a target');
    assert.equal(parse(message(() => {}, MessageType.PING_REQ, 3, 2)), MessageFormat.OK);
    const r = message((w) => w.rumour(RumourKind.DEAD, 1, 2, 3));
    assert.equal(parse(edit((v) => v.setUint8(HEADER_BYTES, 3), r)), MessageFormat.MALFORMED, 'rumour kind');
    assert.equal(parse(edit((v) => v.setUint16(HEADER_BYTES + 3, N), r)), MessageFormat.MALFORMED, 'rumour accuser past the list');
    assert.equal(parse(new Uint8Array(MAX_MESSAGE_BYTES + 1)), MessageFormat.MALFORMED, 'too long');
  });

  it('stop the writer at its limits', () => {
    const claim = encodeClaim(fields(), TAG, crypto);
    const w = new MessageWriter().begin(MessageType.ACK, TAG, 1, 0xffff);
    let n = 0;
    while (w.claim(claim, 0)) n++;
    assert.equal(n, MAX_CLAIMS);
    const b = w.finish();
    assert.ok(b.length <= MAX_MESSAGE_BYTES);
    assert.equal(parse(b), MessageFormat.OK);
    const w2 = new MessageWriter().begin(MessageType.ACK, TAG, 1, 0xffff);
    w2.want(1);
    assert.throws(() => w2.advert(1, 1), /wire order/);
  });

  it('never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.integer({ min: 1, max: 100 }), (bytes, n) => {
        const f = parse(bytes, n);
        assert.ok(f === MessageFormat.OK || f === MessageFormat.MALFORMED || f === MessageFormat.WRONG_CLUSTER);
      }),
      FC,
    );
  });
});

describe('token buckets', () => {
  it('start full, refill at their rate, never past their capacity, and create no token', () => {
    const b = new TokenBuckets(2, 4, 2); // 4 tokens, 2 a second
    for (let i = 0; i < 4; i++) assert.equal(b.reduce(0, 0), BucketReduction.SUCCESS);
    assert.equal(b.reduce(0, 0), BucketReduction.FAILURE);
    assert.equal(b.reduce(1, 0), BucketReduction.SUCCESS, 'buckets are independent');
    assert.equal(b.reduce(0, 499), BucketReduction.FAILURE, 'not yet one token (0.998)');
    assert.equal(b.reduce(0, 500), BucketReduction.SUCCESS);
    assert.equal(b.has(0, 1_000_000), true);
    for (let i = 0; i < 4; i++) b.reduce(0, 1_000_000);
    assert.equal(b.reduce(0, 1_000_000), BucketReduction.FAILURE, 'a long silence refills to the capacity, no more');
    assert.equal(b.reduce(0, 10), BucketReduction.FAILURE, 'time running backwards refills nothing');
    assert.ok(b.isValid());
  });
});

describe('the advert ring', () => {
  it('matches a model under any sequence of puts, takes, heards and removes', () => {
    const M = 20;
    const op = fc.oneof(
      fc.record({ k: fc.constant('put' as const), m: fc.integer({ min: 0, max: M - 1 }), v: fc.integer({ min: 1, max: 5 }), limit: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ k: fc.constant('take' as const), max: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ k: fc.constant('heard' as const), m: fc.integer({ min: 0, max: M - 1 }), v: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ k: fc.constant('remove' as const), m: fc.integer({ min: 0, max: M - 1 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const ring = new AdvertRing(8, M, 2);
        const model = new Map<number, { v: number; left: number; heard: number }>();
        for (const o of ops) {
          if (o.k === 'put') {
            if (!model.has(o.m) && model.size === 8) {
              // Full: the ring evicts one entry of its choosing; the model follows it.
              const before = [...model.keys()];
              ring.put(o.m, o.v, o.limit);
              for (const m of before) if (!ringHas(ring, m)) model.delete(m);
              assert.equal(model.size, 7, 'exactly one evicted');
            } else ring.put(o.m, o.v, o.limit);
            model.set(o.m, { v: o.v, left: o.limit, heard: 0 });
          } else if (o.k === 'take') {
            const sent: number[] = [];
            ring.take(o.max, (m, v) => {
              assert.equal(model.get(m)?.v, v, 'the version put');
              sent.push(m);
              return true;
            });
            assert.equal(sent.length, Math.min(o.max, model.size));
            assert.equal(new Set(sent).size, sent.length, 'no advert twice in one message');
            for (const m of sent) {
              const e = model.get(m)!;
              if (--e.left === 0) model.delete(m);
            }
          } else if (o.k === 'heard') {
            ring.heard(o.m, o.v);
            const e = model.get(o.m);
            if (e && e.v === o.v && ++e.heard >= 2) model.delete(o.m);
          } else {
            ring.remove(o.m);
            model.delete(o.m);
          }
          assert.ok(ring.isValid());
          assert.equal(ring.size, model.size);
        }
      }),
      FC,
    );
  });
});

/** Whether the ring holds m (read from its index: the test's only look inside). */
function ringHas(ring: AdvertRing, m: number): boolean {
  return (ring as unknown as { slotOf: Int32Array }).slotOf[m]! >= 0;
}
