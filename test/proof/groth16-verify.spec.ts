// The Groth16 verifier and proof encoding against the committed fixtures
// (scripts/make-groth16-fixture.js): honest proofs verify and snarkjs agrees, and every attack
// is refused with its code — malformed bytes and keys, proofs for other inputs or circuits, a
// key without a phase-2 contribution (which snarkjs accepts a forgery with).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as snarkjs from 'snarkjs';

/** snarkjs's verify on JSON as read from the fixtures (its typings are the prover's; the fixtures are plain JSON). */
const snarkVerify = (vk: unknown, signals: unknown, proof: unknown) => snarkjs.groth16.verify(vk as never, signals as never, proof as never);
import {
  encodeG2,
  encodeProof,
  G1_BYTES,
  G2_BYTES,
  P,
  PROOF_BYTES,
  R,
  type SnarkjsProof,
} from '../../src/proof/groth16/encoding.js';
import { Groth16Verifier, MAX_PUBLIC_SIGNALS, parseVerificationKey, type PreparedKey } from '../../src/proof/groth16/verifier.js';
import { measureVerify, synthesizeGroth16 } from '../../src/proof/groth16/verify-bench.js';

const FIXTURES = new URL('../../../test/fixtures/groth16/', import.meta.url);
// Fixtures are re-read for each use, so that a test that mutates one cannot affect another.
const fixture = <T = unknown>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
const proofOf = (c: string, suffix = ''): SnarkjsProof => fixture<SnarkjsProof>(`${c}/proof${suffix}.json`);
const publicOf = (c: string, suffix = ''): string[] => fixture<string[]>(`${c}/public${suffix}.json`);

const MALFORMED = 'E_PROOF_MALFORMED';
const VKEY = 'E_VKEY_INVALID';

function modpow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const writeBE = (out: Uint8Array, at: number, v: bigint): void => {
  for (let i = 31; i >= 0; i--, v >>= 8n) out[at + i] = Number(v & 0xffn);
};

describe('groth16 verifier', () => {
  let v: Groth16Verifier;
  let dense: PreparedKey;
  let square: PreparedKey;
  /** A point on G2's curve (the twist) outside the order-r subgroup. */
  let offSubgroup: { x: readonly [bigint, bigint]; y: readonly [bigint, bigint] };

  before(async () => {
    v = await Groth16Verifier.create();
    dense = v.prepare(fixture('dense4/vk.json'));
    square = v.prepare(fixture('square4/vk.json'));
    const { F2 } = v.curve;
    for (let k = 1n; ; k++) {
      const x = F2.fromObject([k, 1n]);
      const rhs = F2.add(F2.mul(F2.square(x), x), v.curve.G2.b);
      if (!F2.isSquare(rhs)) continue;
      const q = new Uint8Array(128);
      q.set(x, 0);
      q.set(F2.sqrt(rhs), 64);
      assert.ok(!v.bn.inG2SubgroupByOrder(q), 'a random twist point is outside G2 (cofactor ≈ 2^254)');
      offSubgroup = v.bn.g2FromCurve(q);
      break;
    }
  });

  after(async () => {
    await v.terminate();
    // snarkjs caches a threaded curve in a global; its workers would keep the process alive.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
  });

  it('honest proofs verify, from proof.json and from 128 bytes, and snarkjs agrees', async () => {
    for (const [c, key, suffix] of [['dense4', () => dense, ''], ['dense4', () => dense, '-b'], ['square4', () => square, '']] as const) {
      const proof = proofOf(c, suffix);
      const pub = publicOf(c, suffix);
      assert.equal(await v.verify(key(), pub, proof), true, `${c}${suffix} from JSON`);
      assert.equal(await v.verify(key(), pub, encodeProof(proof)), true, `${c}${suffix} from bytes`);
      assert.equal(await v.verify(key(), pub.map(BigInt), encodeProof(proof)), true, 'signals as bigints');
      assert.equal(await snarkVerify(fixture(`${c}/vk.json`), pub, proof), true, 'snarkjs');
      await v.verifyOrThrow(key(), pub, proof);
    }
  });

  it('encodes a proof in 128 bytes and decodes it back to the same proof.json', () => {
    for (const [c, s] of [['dense4', ''], ['dense4', '-b'], ['square4', '']]) {
      const proof = proofOf(c!, s);
      const bytes = encodeProof(proof);
      assert.equal(bytes.length, PROOF_BYTES);
      assert.equal(PROOF_BYTES, 128);
      assert.deepEqual(v.decodeProof(bytes), proof);
      assert.deepEqual(encodeProof(v.decodeProof(bytes)), bytes);
      // Every point carries a y flag (0b10 or 0b11) in its first byte's top bits.
      for (const at of [0, G1_BYTES, G1_BYTES + G2_BYTES]) assert.equal(bytes[at]! >> 7, 1);
    }
  });

  it('a proof for another input, A and C swapped, or another circuit does not verify (false), and snarkjs agrees', async () => {
    const swapped = (p: SnarkjsProof): SnarkjsProof => ({ ...p, pi_a: p.pi_c, pi_c: p.pi_a });
    const cases: [string, PreparedKey, string, string[], SnarkjsProof][] = [
      ["dense4's proof with input B's signals", dense, 'dense4', publicOf('dense4', '-b'), proofOf('dense4')],
      ["proof B with input A's signals", dense, 'dense4', publicOf('dense4'), proofOf('dense4', '-b')],
      ['A and C swapped', dense, 'dense4', publicOf('dense4'), swapped(proofOf('dense4'))],
      ["square4's proof against dense4's key", dense, 'dense4', publicOf('square4'), proofOf('square4')],
      ["dense4's proof against square4's key", square, 'square4', publicOf('dense4'), proofOf('dense4')],
      ['one signal changed by 1', dense, 'dense4', publicOf('dense4').map((s, i) => (i === 3 ? String(BigInt(s) + 1n) : s)), proofOf('dense4')],
    ];
    for (const [name, key, vkName, pub, proof] of cases) {
      assert.equal(await v.verify(key, pub, encodeProof(proof)), false, name);
      assert.equal(await snarkVerify(fixture(`${vkName}/vk.json`), pub, proof), false, `snarkjs: ${name}`);
    }
    await assert.rejects(v.verifyOrThrow(dense, publicOf('dense4', '-b'), proofOf('dense4')), { code: 'E_PROOF_INVALID' });
  });

  it('tampered bytes: a flipped y flag is another valid point (false); a flipped x bit is off the curve (malformed)', async () => {
    const good = encodeProof(proofOf('dense4'));
    const pub = publicOf('dense4');
    for (const [name, at] of [['A', 0], ['B', G1_BYTES], ['C', G1_BYTES + G2_BYTES]] as const) {
      const negated = good.slice();
      negated[at] = negated[at]! ^ 0b0100_0000; // 0b10 ↔ 0b11: the other root, −P
      const decoded = v.decodeProof(negated); // well-formed
      assert.equal(await v.verify(dense, pub, negated), false, `${name} negated`);
      assert.equal(await snarkVerify(fixture('dense4/vk.json'), pub, decoded), false, `snarkjs: ${name} negated`);
      // The first flip of x's low bits that leaves the curve (about half of them do).
      let found = false;
      for (let bit = 0; bit < 8 && !found; bit++) {
        const t = good.slice();
        const last = at + (name === 'B' ? G2_BYTES : G1_BYTES) - 1;
        t[last] = t[last]! ^ (1 << bit);
        try {
          v.decodeProof(t);
          assert.equal(await v.verify(dense, pub, t), false, `${name} bit ${bit}: on the curve but not the proof`);
        } catch (e) {
          assert.equal((e as { code?: string }).code, MALFORMED);
          assert.match((e as Error).message, new RegExp(`^proof ${name}: (not on the curve|not in the prime-order subgroup)`));
          found = true;
        }
      }
      assert.ok(found, `some flip of ${name}'s x leaves the curve`);
    }
  });

  it('malformed bytes: length, non-canonical x, infinity, uncompressed flag, off-curve A, B outside G2 → PROOF_MALFORMED', async () => {
    const good = encodeProof(proofOf('dense4'));
    const pub = publicOf('dense4');
    const refuse = async (bytes: Uint8Array, message: RegExp): Promise<void> => {
      assert.throws(() => v.decodeProof(bytes), { code: MALFORMED, message });
      await assert.rejects(v.verify(dense, pub, bytes), { code: MALFORMED, message });
    };
    for (const n of [0, 127, 129, 256]) {
      const b = new Uint8Array(n);
      b.set(good.subarray(0, Math.min(n, PROOF_BYTES)));
      await refuse(b, /proof is \d+ bytes, expected 128/);
    }
    // x + p decodes to the same point mod p: the non-canonical twin of a valid encoding.
    const ax = BigInt(proofOf('dense4').pi_a[0]!);
    const t1 = good.slice();
    writeBE(t1, 0, ax + P < 2n ** 254n ? ax + P : P);
    t1[0] = t1[0]! | (good[0]! & 0b1100_0000);
    await refuse(t1, /^proof A\.x: x is not below p \(non-canonical\)/);
    const t2 = good.slice();
    writeBE(t2, G1_BYTES + 32, P); // B's x0 = p
    await refuse(t2, /^proof B\.x0: x is not below p/);
    for (const [name, at, len] of [['A', 0, G1_BYTES], ['B', G1_BYTES, G2_BYTES], ['C', G1_BYTES + G2_BYTES, G1_BYTES]] as const) {
      const inf = good.slice();
      inf.fill(0, at, at + len);
      inf[at] = 0b0100_0000;
      await refuse(inf, new RegExp(`^proof ${name}: the point at infinity is not allowed`));
      inf[at + len - 1] = 1;
      await refuse(inf, new RegExp(`^proof ${name}: infinity flag with a nonzero x`));
      const raw = good.slice();
      raw[at] = raw[at]! & 0b0011_1111;
      await refuse(raw, new RegExp(`^proof ${name}: flag bits 0b00 \\(uncompressed\\)`));
    }
    // An x with x³ + 3 not a square mod p (Euler's criterion) is no point's x.
    let x = 1n;
    while (modpow(x ** 3n + 3n, (P - 1n) / 2n, P) === 1n) x++;
    const off = good.slice();
    writeBE(off, 0, x);
    off[0] = off[0]! | 0b1000_0000;
    await refuse(off, /^proof A: not on the curve/);
    const outside = good.slice();
    encodeG2(offSubgroup, outside, G1_BYTES);
    await refuse(outside, /^proof B: not in the prime-order subgroup/);
    // The same B in proof.json: refused too; snarkjs (which checks the curve, not the subgroup) rejects it by the pairing.
    const json = { ...proofOf('dense4'), pi_b: [offSubgroup.x.map(String), offSubgroup.y.map(String), ['1', '0']] };
    await assert.rejects(v.verify(dense, pub, json), { code: MALFORMED, message: /^proof pi_b: not in the prime-order subgroup/ });
    assert.throws(() => encodeProof({ ...json, pi_a: [String(x), '1', '1'] }), { code: MALFORMED, message: /^proof pi_a: not on the curve/ });
    assert.equal(await snarkVerify(fixture('dense4/vk.json'), pub, json), false);
  });

  it('malformed proof.json: unknown fields, wrong protocol or curve, non-canonical numbers, z ≠ 1 → PROOF_MALFORMED', () => {
    const p = proofOf('dense4');
    const bad: [unknown, RegExp][] = [
      [null, /not a JSON object/],
      [{ ...p, extra: 1 }, /^proof extra: unknown field/],
      [{ ...p, protocol: 'plonk' }, /^proof protocol/],
      [{ ...p, curve: 'bls12381' }, /^proof curve/],
      [{ ...p, pi_a: [p.pi_a[0], p.pi_a[1]] }, /^proof pi_a: expected an array of 3/],
      [{ ...p, pi_a: ['0' + p.pi_a[0], p.pi_a[1], '1'] }, /^proof pi_a\.x: not a canonical decimal/],
      [{ ...p, pi_a: [String(BigInt(p.pi_a[0]!) + P), p.pi_a[1], '1'] }, /^proof pi_a\.x: not below the base field modulus p/],
      [{ ...p, pi_c: ['0', '1', '0'] }, /^proof pi_c: the point at infinity is not allowed/],
      [{ ...p, pi_c: [p.pi_c[0], p.pi_c[1], '2'] }, /^proof pi_c: z must be "1"/],
      [{ ...p, pi_b: [p.pi_b[0], p.pi_b[1], ['0', '0']] }, /^proof pi_b: the point at infinity/],
    ];
    for (const [json, message] of bad) assert.throws(() => encodeProof(json), { code: MALFORMED, message }, String(message));
  });

  it('the G2 subgroup test ψ(P) = [6x²]P agrees with [r]P = O, in and out of the subgroup', () => {
    const { G2, F2 } = v.curve;
    let outside = 0;
    for (let k = 1n; k <= 24n; k++) {
      const inG2 = G2.toAffine(G2.timesScalar(G2.g, k * 0x1234567890abcdefn + k));
      assert.equal(v.bn.inG2Subgroup(inG2), true);
      assert.equal(v.bn.inG2SubgroupByOrder(inG2), true);
      const x = F2.fromObject([k * 7n, k + 3n]);
      const rhs = F2.add(F2.mul(F2.square(x), x), G2.b);
      if (!F2.isSquare(rhs)) continue;
      const q = new Uint8Array(128);
      q.set(x, 0);
      q.set(F2.sqrt(rhs), 64);
      assert.equal(v.bn.inG2Subgroup(q), v.bn.inG2SubgroupByOrder(q));
      assert.equal(v.bn.inG2Subgroup(q), false);
      // Clearing the cofactor lands in G2: both tests must then say yes.
      const cleared = G2.toAffine(G2.timesScalar(q, 2n * P - R));
      assert.equal(v.bn.inG2Subgroup(cleared), true);
      assert.equal(v.bn.inG2SubgroupByOrder(cleared), true);
      outside++;
    }
    assert.ok(outside >= 6, `${outside} twist points tried`);
  });

  it('malformed keys → VKEY_INVALID naming the field', () => {
    const vk = (): Record<string, unknown> => fixture('dense4/vk.json');
    const ic = (vk().IC as string[][]);
    const offCurve = ic.map((p, i) => (i === 2 ? [p[0], String((BigInt(p[1]!) + 1n) % P), '1'] : p));
    const twist = [offSubgroup.x.map(String), offSubgroup.y.map(String), ['1', '0']];
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['missing field', (({ vk_delta_2: _, ...rest }) => rest)(vk()), /vk_delta_2: expected an array of 3/],
      ['wrong curve', { ...vk(), curve: 'bls12381' }, /curve: must be "bn128"/],
      ['wrong protocol', { ...vk(), protocol: 'plonk' }, /protocol: must be "groth16"/],
      ['unknown field', { ...vk(), extra: [] }, /extra: unknown field/],
      ['IC too short', { ...vk(), IC: ic.slice(0, 8) }, /IC: must hold nPublic \+ 1 = 9 points/],
      ['IC too long', { ...vk(), IC: [...ic, ic[1]] }, /IC: must hold/],
      ['nPublic not an integer', { ...vk(), nPublic: 8.5 }, /nPublic: must be an integer/],
      ['nPublic as a string', { ...vk(), nPublic: '8' }, /nPublic: must be an integer/],
      ['too many publics', { ...vk(), nPublic: MAX_PUBLIC_SIGNALS + 1, IC: Array(MAX_PUBLIC_SIGNALS + 2).fill(ic[1]) }, /nPublic: must be an integer in \[0, 1024\]/],
      ['IC point off the curve', { ...vk(), IC: offCurve }, /IC\[2\]: not on the curve/],
      ['non-canonical coordinate', { ...vk(), vk_alpha_1: [String(BigInt((vk().vk_alpha_1 as string[])[0]!) + P), (vk().vk_alpha_1 as string[])[1], '1'] }, /vk_alpha_1\.x: not below/],
      ['alpha at infinity', { ...vk(), vk_alpha_1: ['0', '1', '0'] }, /vk_alpha_1: the point at infinity/],
      ['beta outside G2', { ...vk(), vk_beta_2: twist }, /vk_beta_2: not in the prime-order subgroup/],
      ['gamma outside G2', { ...vk(), vk_gamma_2: twist }, /vk_gamma_2: not in the prime-order subgroup/],
      ['delta = gamma (no phase 2)', fixture('dense4/vk-no-phase2.json'), /vk_delta_2: δ equals γ: the key never had a phase-2 contribution/],
      ['delta = −gamma', (() => { const k = vk(); const g = k.vk_gamma_2 as string[][]; return { ...k, vk_delta_2: [g[0], g[1]!.map((c) => String((P - BigInt(c)) % P)), g[2]] }; })(), /vk_delta_2: δ equals −γ/],
    ];
    for (const [name, json, message] of bad) {
      assert.throws(() => v.prepare(json), { code: VKEY, message }, name);
    }
    assert.throws(() => v.prepare('not a key'), { code: VKEY });
  });

  it('a key before phase 2 (δ = γ) lets anyone forge: snarkjs accepts (α, β, −vk_x) for any input, we refuse the key', async () => {
    const vk0 = fixture<Record<string, unknown>>('dense4/vk-no-phase2.json');
    const { G1 } = v.curve;
    const signals = ['1', '2', '3', '4', '5', '6', '7', '8']; // any statement at all
    const ic = (vk0.IC as string[][]).map((p) => v.bn.g1ToCurve({ x: BigInt(p[0]!), y: BigInt(p[1]!) }));
    let vkx = G1.toJacobian(ic[0]!);
    signals.forEach((s, i) => { vkx = G1.add(vkx, G1.timesScalar(ic[i + 1]!, BigInt(s))); });
    const c = v.bn.g1FromCurve(G1.toAffine(G1.neg(vkx)));
    const forged = { pi_a: vk0.vk_alpha_1, pi_b: vk0.vk_beta_2, pi_c: [String(c.x), String(c.y), '1'], protocol: 'groth16', curve: 'bn128' };
    assert.equal(await snarkVerify(vk0, signals, forged), true, 'snarkjs accepts the forgery');
    assert.throws(() => v.prepare(vk0), { code: VKEY, message: /phase-2/ });
    // The contributed key shares α, β, γ and IC with it; only δ differs, and the forgery fails.
    assert.equal(await v.verify(dense, signals, forged as SnarkjsProof), false);
    assert.equal(await snarkVerify(fixture('dense4/vk.json'), signals, forged), false);
  });

  it('public signals: exactly nPublic canonical field elements below r, else CLAIM_INVALID', async () => {
    const proof = encodeProof(proofOf('dense4'));
    const pub = publicOf('dense4');
    const bad: [unknown[], RegExp][] = [
      [pub.slice(0, 7), /public signals: 7 given, the key has 8/],
      [[...pub, '1'], /public signals: 9 given/],
      [[String(R), ...pub.slice(1)], /public signal 0: not below the group order r/],
      [[...pub.slice(0, 5), R, ...pub.slice(6)], /public signal 5: not in \[0, r\)/],
      [[-1n, ...pub.slice(1)], /public signal 0: not in \[0, r\)/],
      [['06', ...pub.slice(1)], /public signal 0: not a canonical decimal/],
      [['-6', ...pub.slice(1)], /public signal 0: not a canonical decimal/],
      [['0x6', ...pub.slice(1)], /public signal 0: not a canonical decimal/],
      [[6, ...pub.slice(1)], /public signal 0: not a canonical decimal/],
    ];
    for (const [signals, message] of bad) {
      await assert.rejects(v.verify(dense, signals as string[], proof), { code: 'E_CLAIM_INVALID', message }, String(message));
    }
    // r − 1 is a field element: well-formed, it just is not this proof's input.
    assert.equal(await v.verify(dense, [R - 1n, ...pub.slice(1).map(BigInt)], proof), false);
  });

  it("a key's identity is stable under formatting and changes with any point", () => {
    const a = parseVerificationKey(fixture('dense4/vk.json'));
    const { vk_alphabeta_12: _, ...withoutTarget } = fixture<Record<string, unknown>>('dense4/vk.json');
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.equal(parseVerificationKey(JSON.parse(JSON.stringify(withoutTarget, null, 4))).id, a.id);
    assert.equal(dense.id, a.id);
    assert.equal(v.prepare(a).id, a.id, 'prepare takes a parsed key too');
    // …but only one parseVerificationKey made: a look-alike is parsed (and refused) as JSON.
    assert.throws(() => v.prepare({ ...a }), { code: VKEY, message: /unknown field/ });
    assert.notEqual(parseVerificationKey(fixture('square4/vk.json')).id, a.id);
    assert.notEqual(parseVerificationKey(fixture('dense4/vk-no-phase2.json')).id, a.id, 'only δ differs');
    // vk_alphabeta_12 is not trusted: a wrong one changes nothing.
    const lying = { ...fixture<Record<string, unknown>>('dense4/vk.json'), vk_alphabeta_12: [] };
    assert.equal(parseVerificationKey(lying).id, a.id);
  });

  it('synthetic keys with 0 and MAX_PUBLIC_SIGNALS signals verify (the wasm memory grows to fit the table)', async () => {
    for (const n of [0, 3, MAX_PUBLIC_SIGNALS]) {
      const s = synthesizeGroth16(v.bn, n, 7);
      const key = v.prepare(s.vk);
      assert.equal(key.nPublic, n);
      assert.equal(await v.verify(key, s.publicSignals, encodeProof(s.proof)), true, `n = ${n}`);
      if (n > 0) {
        const other = s.publicSignals.map((x, i) => (i === n - 1 ? String((BigInt(x) + 1n) % R) : x));
        assert.equal(await v.verify(key, other, encodeProof(s.proof)), false, `n = ${n}, last signal changed`);
      }
      if (n === 3) assert.equal(await snarkVerify(s.vk, s.publicSignals, s.proof), true, 'snarkjs agrees on a synthetic key');
    }
  });

  it('measureVerify reports cold and warm figures for a valid proof', async () => {
    const f = await measureVerify({ vk: fixture('dense4/vk.json'), proof: proofOf('dense4'), publicSignals: publicOf('dense4'), runs: 5 });
    assert.equal(f.proof_bytes, 128);
    assert.equal(f.public_signals, 8);
    assert.ok(f.groth16_first_verify_ms > f.groth16_verify_ms && f.groth16_verify_ms > 0);
    assert.ok(f.groth16_verify_p99_ms >= f.groth16_verify_ms);
    await assert.rejects(measureVerify({ vk: fixture('dense4/vk.json'), proof: proofOf('dense4'), publicSignals: publicOf('dense4', '-b'), runs: 1 }), { code: 'E_PROOF_INVALID' });
    await assert.rejects(measureVerify({ vk: fixture('dense4/vk.json'), proof: proofOf('dense4'), publicSignals: publicOf('dense4'), runs: 0 }), { code: 'E_BAD_ARGUMENT' });
  });

  it('the threaded verifier gives the same answers', async () => {
    const t = await Groth16Verifier.create({ threads: true });
    try {
      const key = t.prepare(fixture('dense4/vk.json'));
      assert.equal(await t.verify(key, publicOf('dense4'), encodeProof(proofOf('dense4'))), true);
      assert.equal(await t.verify(key, publicOf('dense4', '-b'), encodeProof(proofOf('dense4'))), false);
      assert.equal(await t.verify(key, publicOf('square4'), proofOf('square4')), false);
      assert.equal(await t.verify(dense, publicOf('dense4', '-b'), proofOf('dense4', '-b')), true, "another verifier's prepared key");
    } finally {
      await t.terminate();
    }
  });
});
