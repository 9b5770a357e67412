/**
 * Groth16 proofs on BN254 (snarkjs's "bn128") as 128 bytes, and the point checks that every
 * untrusted point goes through before it reaches a pairing. The format is written down in
 * docs/groth16-verifier.md ("Encoding"); in short:
 *
 *   proof = A (32 bytes, compressed G1) ‖ B (64 bytes, compressed G2) ‖ C (32 bytes, compressed G1)
 *
 * A compressed point is its x coordinate, big-endian (for G2, x = x0 + x1·u is written x1 then
 * x0), with the two spare top bits of the first byte (p < 2^254) saying which of the two y roots
 * it is: 0b10 the lexicographically smaller, 0b11 the larger (y > p − y; on G2 compared on y1,
 * or on y0 when y1 = 0), 0b01 the point at infinity. This is gnark-crypto's compressed encoding
 * for BN254, so proofs are readable by gnark-based tools. There is no version byte: the proof is
 * always checked against a verification key that a claim names by its identity (verifier.ts),
 * and another curve or encoding would change the length (BLS12-381 needs 192 bytes).
 *
 * Why each check on decode (an attacker chooses these bytes):
 *  - exact length: no trailing data that a hash of the claim would cover but the verifier ignores;
 *  - x < p, the infinity form all zeros, no y-flag on y = 0: one encoding per point, so a proof
 *    cannot be re-encoded into a different byte string that still verifies (malleability);
 *  - x³ + b a square (the point is on the curve): pairing code assumes curve points, and
 *    off-curve inputs are the classic invalid-curve attack;
 *  - B in the order-r subgroup: G2's curve has a cofactor, and a point outside G2 makes the
 *    pairing no longer bilinear on it (snarkjs does not check this; we do);
 *  - no point at infinity: an honest prover's A, B, C are never the identity, and the identity
 *    in a pairing argument is how trivial "proofs" are built.
 */
import { ErrorCode, MaxwellError } from '../../errors.js';
import type { Bn128Curve } from 'ffjavascript';

/** BN254's base field modulus. */
export const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** BN254's group order (the scalar field of the circuits). */
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254's seed x (p and r are polynomials in it); p − r = 6x², used by the G2 subgroup check. */
const SEED = 4965661367192848881n;
const SIX_SEED_SQUARED = 6n * SEED * SEED;

export const G1_BYTES = 32;
export const G2_BYTES = 64;
/** A compressed proof: A ‖ B ‖ C. */
export const PROOF_BYTES = 2 * G1_BYTES + G2_BYTES;

const FLAG_MASK = 0b1100_0000;
const FLAG_SMALLEST = 0b1000_0000;
const FLAG_LARGEST = 0b1100_0000;
const FLAG_INFINITY = 0b0100_0000;

const HALF_P = (P - 1n) / 2n;
/** Decimal field elements: no sign, no leading zeros, at most 77 digits (p has 77). */
const DECIMAL = /^(0|[1-9][0-9]{0,76})$/;

export type Fp2 = readonly [bigint, bigint];
/** An affine point with plain (non-Montgomery) coordinates; never the point at infinity. */
export interface G1Point { readonly x: bigint; readonly y: bigint }
export interface G2Point { readonly x: Fp2; readonly y: Fp2 }
export interface ProofPoints { readonly a: G1Point; readonly b: G2Point; readonly c: G1Point }

/** A proof as snarkjs writes it (proof.json): decimal strings, projective with z = 1. */
export interface SnarkjsProof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

/** Builds the error for a bad field: proofs raise PROOF_MALFORMED, keys VKEY_INVALID. */
export type FieldError = (field: string, why: string) => MaxwellError;
export const proofError: FieldError = (field, why) =>
  new MaxwellError(ErrorCode.PROOF_MALFORMED, `proof ${field}: ${why}`, { field });

// ---------------------------------------------------------------- field arithmetic (BigInt)

function mod(a: bigint, m = P): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}
/** a⁻¹ mod a prime m, by extended Euclid; a must not be 0 mod m. */
export function invMod(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  if (r0 === 0n) throw new RangeError('0 has no inverse');
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
const f2add = (a: Fp2, b: Fp2): Fp2 => [mod(a[0] + b[0]), mod(a[1] + b[1])];
// Fp2 = Fp[u]/(u² + 1).
const f2mul = (a: Fp2, b: Fp2): Fp2 => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])];
const f2eq = (a: Fp2, b: Fp2): boolean => a[0] === b[0] && a[1] === b[1];
function f2pow(a: Fp2, e: bigint): Fp2 {
  let r: Fp2 = [1n, 0n];
  let s = a;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = f2mul(r, s);
    s = f2mul(s, s);
  }
  return r;
}
/** The twist's b: 3 / (9 + u), the curve y² = x³ + b that G2 lives on. */
export const B2: Fp2 = (() => {
  const d = invMod(82n, P); // 1/(9 + u) = (9 − u)/82
  return [mod(27n * d), mod(-3n * d)];
})();

export function onCurveG1(p: G1Point): boolean {
  return mod(p.y * p.y) === mod(p.x * p.x * p.x + 3n);
}
export function onCurveG2(p: G2Point): boolean {
  return f2eq(f2mul(p.y, p.y), f2add(f2mul(f2mul(p.x, p.x), p.x), B2));
}

// ---------------------------------------------------------------- JSON (snarkjs) points

/** A canonical decimal field element below `modulus`. */
export function parseDecimal(v: unknown, modulus: bigint, field: string, err: FieldError): bigint {
  if (typeof v !== 'string' || !DECIMAL.test(v)) throw err(field, 'not a canonical decimal string');
  const n = BigInt(v);
  if (n >= modulus) throw err(field, `not below the ${modulus === P ? 'base field modulus p' : 'group order r'} (non-canonical)`);
  return n;
}

function arrayOf(v: unknown, length: number, field: string, err: FieldError): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw err(field, `expected an array of ${length}`);
  return v;
}

/**
 * A G1 point as snarkjs writes it, [x, y, "1"], checked on the curve. The infinity form
 * ["0", "1", "0"] and any other z are refused: neither is ever needed in a key or a proof.
 */
export function parseG1Json(v: unknown, field: string, err: FieldError): G1Point {
  const a = arrayOf(v, 3, field, err);
  if (a[2] !== '1') throw err(field, a[2] === '0' ? 'the point at infinity is not allowed' : 'z must be "1" (affine)');
  const p = { x: parseDecimal(a[0], P, `${field}.x`, err), y: parseDecimal(a[1], P, `${field}.y`, err) };
  if (!onCurveG1(p)) throw err(field, 'not on the curve');
  return p;
}

/** A G2 point as snarkjs writes it, [[x0, x1], [y0, y1], ["1", "0"]], checked on the twist. */
export function parseG2Json(v: unknown, field: string, err: FieldError): G2Point {
  const a = arrayOf(v, 3, field, err);
  const z = arrayOf(a[2], 2, `${field}.z`, err);
  if (z[1] !== '0' || z[0] !== '1') throw err(field, z[0] === '0' && z[1] === '0' ? 'the point at infinity is not allowed' : 'z must be ["1", "0"] (affine)');
  const f2 = (w: unknown, name: string): Fp2 => {
    const c = arrayOf(w, 2, `${field}.${name}`, err);
    return [parseDecimal(c[0], P, `${field}.${name}0`, err), parseDecimal(c[1], P, `${field}.${name}1`, err)];
  };
  const p = { x: f2(a[0], 'x'), y: f2(a[1], 'y') };
  if (!onCurveG2(p)) throw err(field, 'not on the curve');
  return p;
}

const PROOF_KEYS = new Set(['pi_a', 'pi_b', 'pi_c', 'protocol', 'curve']);

/** snarkjs's proof.json, strictly: canonical coordinates, points on their curves (subgroup: see Bn254). */
export function parseProofJson(v: unknown): ProofPoints {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw proofError('', 'not a JSON object');
  for (const k of Object.keys(v)) if (!PROOF_KEYS.has(k)) throw proofError(k, 'unknown field');
  const o = v as Record<string, unknown>;
  if (o.protocol !== 'groth16') throw proofError('protocol', 'must be "groth16"');
  if (o.curve !== 'bn128') throw proofError('curve', 'must be "bn128"');
  return { a: parseG1Json(o.pi_a, 'pi_a', proofError), b: parseG2Json(o.pi_b, 'pi_b', proofError), c: parseG1Json(o.pi_c, 'pi_c', proofError) };
}

export function proofToJson(p: ProofPoints): SnarkjsProof {
  const s = (n: bigint) => n.toString();
  return {
    pi_a: [s(p.a.x), s(p.a.y), '1'],
    pi_b: [[s(p.b.x[0]), s(p.b.x[1])], [s(p.b.y[0]), s(p.b.y[1])], ['1', '0']],
    pi_c: [s(p.c.x), s(p.c.y), '1'],
    protocol: 'groth16',
    curve: 'bn128',
  };
}

// ---------------------------------------------------------------- compression (pure)

function writeBE(out: Uint8Array, at: number, v: bigint): void {
  for (let i = 31; i >= 0; i--) {
    out[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
function readBE(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 32; i++) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

/** The y flag: is y the larger of y and p − y (on Fp2: by the imaginary part, else the real one)? */
const largestG1 = (y: bigint): boolean => y > HALF_P;
const largestG2 = (y: Fp2): boolean => (y[1] !== 0n ? y[1] > HALF_P : y[0] > HALF_P);

export function encodeG1(p: G1Point, out = new Uint8Array(G1_BYTES), at = 0): Uint8Array {
  writeBE(out, at, p.x);
  out[at] = out[at]! | (largestG1(p.y) ? FLAG_LARGEST : FLAG_SMALLEST);
  return out;
}
export function encodeG2(p: G2Point, out = new Uint8Array(G2_BYTES), at = 0): Uint8Array {
  writeBE(out, at, p.x[1]);
  writeBE(out, at + 32, p.x[0]);
  out[at] = out[at]! | (largestG2(p.y) ? FLAG_LARGEST : FLAG_SMALLEST);
  return out;
}

/** A proof's 128 bytes. The points must be valid (from parseProofJson or a decode). */
export function encodeProofPoints(p: ProofPoints): Uint8Array {
  const out = new Uint8Array(PROOF_BYTES);
  encodeG1(p.a, out, 0);
  encodeG2(p.b, out, G1_BYTES);
  encodeG1(p.c, out, G1_BYTES + G2_BYTES);
  return out;
}

/**
 * snarkjs's proof.json to 128 bytes. Checks canonical form and that the points are on their
 * curves; B's subgroup is checked when the bytes are decoded (that needs the wasm curve).
 */
export function encodeProof(proof: unknown): Uint8Array {
  return encodeProofPoints(parseProofJson(proof));
}

interface Compressed { readonly x: bigint; readonly largest: boolean }
interface CompressedG2 { readonly x: Fp2; readonly largest: boolean }

/** The flag and x of a compressed point, refusing infinity, the uncompressed flag and x ≥ p. */
function readFlags(b: Uint8Array, at: number, bytes: number, field: string): { largest: boolean; head: number } {
  const flag = b[at]! & FLAG_MASK;
  if (flag === FLAG_INFINITY) {
    for (let i = 1; i < bytes; i++) if (b[at + i] !== 0) throw proofError(field, 'infinity flag with a nonzero x (non-canonical)');
    if (b[at] !== FLAG_INFINITY) throw proofError(field, 'infinity flag with a nonzero x (non-canonical)');
    throw proofError(field, 'the point at infinity is not allowed');
  }
  if (flag === 0) throw proofError(field, 'flag bits 0b00 (uncompressed) are not allowed in a compressed proof');
  return { largest: flag === FLAG_LARGEST, head: b[at]! & ~FLAG_MASK };
}
function readCoordinate(b: Uint8Array, at: number, head: number, field: string): bigint {
  const c = b.slice(at, at + 32);
  c[0] = head;
  const v = readBE(c, 0);
  if (v >= P) throw proofError(field, 'x is not below p (non-canonical)');
  return v;
}
function readG1(b: Uint8Array, at: number, field: string): Compressed {
  const { largest, head } = readFlags(b, at, G1_BYTES, field);
  return { x: readCoordinate(b, at, head, `${field}.x`), largest };
}
function readG2(b: Uint8Array, at: number, field: string): CompressedG2 {
  const { largest, head } = readFlags(b, at, G2_BYTES, field);
  const x1 = readCoordinate(b, at, head, `${field}.x1`);
  const x0 = readCoordinate(b, at + 32, b[at + 32]!, `${field}.x0`);
  return { x: [x0, x1], largest };
}

/** The compressed fields of a proof's bytes: length, flags and canonical x checked (no curve needed). */
export function splitProofBytes(bytes: Uint8Array): { a: Compressed; b: CompressedG2; c: Compressed } {
  if (!(bytes instanceof Uint8Array)) throw proofError('', 'not bytes');
  if (bytes.length !== PROOF_BYTES) throw new MaxwellError(ErrorCode.PROOF_MALFORMED, `proof is ${bytes.length} bytes, expected ${PROOF_BYTES}`, { field: '' });
  return { a: readG1(bytes, 0, 'A'), b: readG2(bytes, G1_BYTES, 'B'), c: readG1(bytes, G1_BYTES + G2_BYTES, 'C') };
}

// ---------------------------------------------------------------- with the wasm curve

/** Affine points in ffjavascript's internal form (Montgomery, little-endian): what the pairing takes. */
export interface CurveProof { readonly a: Uint8Array; readonly b: Uint8Array; readonly c: Uint8Array }

/**
 * The curve operations that need square roots and scalar multiplications, on ffjavascript's
 * wasm curve (a pure-BigInt square root in Fp2 costs about a millisecond; wasm, a tenth of it).
 * Constants are converted to Montgomery form once per curve.
 */
export class Bn254 {
  private readonly sqrtExp: bigint = (P + 1n) / 4n; // p ≡ 3 mod 4: y = rhs^((p+1)/4)
  private readonly psiX: Uint8Array;
  private readonly psiY: Uint8Array;
  private readonly b1: Uint8Array;

  constructor(readonly curve: Bn128Curve) {
    if (curve.q !== P || curve.r !== R) throw new Error('ffjavascript curve is not BN254');
    // ψ = untwist ∘ Frobenius ∘ twist: ψ(x, y) = (conj(x)·ξ^((p−1)/3), conj(y)·ξ^((p−1)/2)), ξ = 9 + u.
    this.psiX = curve.F2.fromObject(f2pow([9n, 1n], (P - 1n) / 3n) as [bigint, bigint]);
    this.psiY = curve.F2.fromObject(f2pow([9n, 1n], (P - 1n) / 2n) as [bigint, bigint]);
    this.b1 = curve.F1.fromObject(3n);
  }

  private conj(a: Uint8Array): Uint8Array {
    const out = a.slice();
    out.set(this.curve.F1.neg(a.subarray(32, 64)), 32);
    return out;
  }

  /**
   * Is an on-curve affine G2 point in the order-r subgroup? ψ acts on G2 as multiplication by
   * p ≡ 6x² (mod r), and by El Housni, Guillevic and Piellard (eprint 2022/352) no point of the
   * twist outside G2 satisfies ψ(P) = [6x²]P: a 127-bit multiplication instead of [r]P's 254.
   * The test suite cross-checks it against [r]P = O on points in and out of the subgroup.
   */
  inG2Subgroup(q: Uint8Array): boolean {
    const { F2, G2 } = this.curve;
    const psi = new Uint8Array(128);
    psi.set(F2.mul(this.conj(q.subarray(0, 64)), this.psiX), 0);
    psi.set(F2.mul(this.conj(q.subarray(64, 128)), this.psiY), 64);
    return G2.eq(G2.timesScalar(q, SIX_SEED_SQUARED), psi);
  }

  /** The reference subgroup test, [r]P = O (twice the cost): for tests. */
  inG2SubgroupByOrder(q: Uint8Array): boolean {
    return this.curve.G2.isZero(this.curve.G2.timesScalar(q, R));
  }

  /** G1 point from x and the y flag; throws PROOF_MALFORMED when x³ + 3 has no square root. */
  decompressG1(c: Compressed, field: string): Uint8Array {
    const F = this.curve.F1;
    const x = F.fromObject(c.x);
    const rhs = F.add(F.mul(F.square(x), x), this.b1);
    let y = F.exp(rhs, this.sqrtExp);
    if (!F.eq(F.square(y), rhs)) throw proofError(field, 'not on the curve (x³ + 3 is not a square)');
    if (largestG1(F.toObject(y)) !== c.largest) y = F.neg(y);
    // y = 0 would make the flag meaningless; it cannot happen on G1 (odd prime order, no 2-torsion).
    const out = new Uint8Array(64);
    out.set(x, 0);
    out.set(y, 32);
    return out;
  }

  /** G2 point from x and the y flag, on the twist and in the subgroup, or PROOF_MALFORMED. */
  decompressG2(c: CompressedG2, field: string): Uint8Array {
    const F = this.curve.F2;
    const x = F.fromObject(c.x as [bigint, bigint]);
    const rhs = F.add(F.mul(F.square(x), x), this.curve.G2.b);
    // ffjavascript's Fp2 sqrt traps on a non-square: ask first.
    if (!F.isSquare(rhs)) throw proofError(field, 'not on the curve (x³ + b is not a square)');
    let y = F.sqrt(rhs);
    if (!F.eq(F.square(y), rhs)) throw proofError(field, 'not on the curve (x³ + b is not a square)');
    const yv = F.toObject(y);
    if (yv[0] === 0n && yv[1] === 0n) throw proofError(field, 'y = 0 (not in the subgroup)');
    if (largestG2(yv) !== c.largest) y = F.neg(y);
    const out = new Uint8Array(128);
    out.set(x, 0);
    out.set(y, 64);
    if (!this.inG2Subgroup(out)) throw proofError(field, 'not in the prime-order subgroup');
    return out;
  }

  /** 128 bytes to curve points, every check in the file header applied. */
  decodeProofToCurve(bytes: Uint8Array): CurveProof {
    const s = splitProofBytes(bytes);
    return { a: this.decompressG1(s.a, 'A'), b: this.decompressG2(s.b, 'B'), c: this.decompressG1(s.c, 'C') };
  }

  /** Parsed JSON points to curve points (B's subgroup checked here: parsing cannot). */
  proofPointsToCurve(p: ProofPoints, field = 'pi_b', err: FieldError = proofError): CurveProof {
    const b = this.g2ToCurve(p.b);
    if (!this.inG2Subgroup(b)) throw err(field, 'not in the prime-order subgroup');
    return { a: this.g1ToCurve(p.a), b, c: this.g1ToCurve(p.c) };
  }

  g1ToCurve(p: G1Point): Uint8Array {
    const out = new Uint8Array(64);
    out.set(this.curve.F1.fromObject(p.x), 0);
    out.set(this.curve.F1.fromObject(p.y), 32);
    return out;
  }
  g2ToCurve(p: G2Point): Uint8Array {
    const out = new Uint8Array(128);
    out.set(this.curve.F2.fromObject(p.x as [bigint, bigint]), 0);
    out.set(this.curve.F2.fromObject(p.y as [bigint, bigint]), 64);
    return out;
  }
  g1FromCurve(a: Uint8Array): G1Point {
    return { x: this.curve.F1.toObject(a.subarray(0, 32)), y: this.curve.F1.toObject(a.subarray(32, 64)) };
  }
  g2FromCurve(a: Uint8Array): G2Point {
    return { x: this.curve.F2.toObject(a.subarray(0, 64)), y: this.curve.F2.toObject(a.subarray(64, 128)) };
  }

  /** 128 bytes to snarkjs's proof.json (every decode check applied). */
  decodeProof(bytes: Uint8Array): SnarkjsProof {
    const c = this.decodeProofToCurve(bytes);
    return proofToJson({ a: this.g1FromCurve(c.a), b: this.g2FromCurve(c.b), c: this.g1FromCurve(c.c) });
  }
}
