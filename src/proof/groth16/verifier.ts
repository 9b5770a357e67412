/**
 * Groth16 verification on BN254 with a cached curve and per-key precomputation
 * (docs/groth16-verifier.md).
 *
 * A proof (A, B, C) for public signals x₁..xₙ verifies when
 *
 *   e(A, B) = e(α, β) · e(vk_x, γ) · e(C, δ),   vk_x = IC₀ + Σ xᵢ·ICᵢ
 *
 * which we check as  FE( ML(−A, B) · ML(vk_x, γ) · ML(C, δ) ) = e(α, β)⁻¹  (ML the Miller loop,
 * FE the final exponentiation). Everything that depends on the key alone is computed once, in
 * `prepare`: e(α, β)⁻¹ in GT, γ's and δ's Miller-loop line coefficients ("prepared G2"), and a
 * fixed-base table 2^(8j)·ICᵢ (j = 0..31) that turns the multi-exponentiation into one over
 * 32·n points with 1-byte scalars (the bytes of each xᵢ), about half the cost of the generic one
 * for the key sizes we use. A verify is then one MSM, three Miller loops, one final
 * exponentiation; snarkjs prepares all four G2 points and runs four Miller loops on each call.
 *
 * Conventions: bytes or JSON that are not a proof → PROOF_MALFORMED; a key that is not a key →
 * VKEY_INVALID (the message names the field); public signals of the wrong count or out of range
 * → CLAIM_INVALID (they come from a claim); a well-formed proof that does not verify → `verify`
 * returns false (`verifyOrThrow` throws PROOF_INVALID).
 */
import { createHash } from 'node:crypto';
import { buildBn128, type Bn128Curve, type TaskCommand } from 'ffjavascript';
import { assert } from '../../assert.js';
import { ErrorCode, MaxwellError } from '../../errors.js';
import {
  Bn254,
  encodeG1,
  encodeG2,
  G1_BYTES,
  G2_BYTES,
  parseDecimal,
  parseG1Json,
  parseG2Json,
  parseProofJson,
  R,
  type CurveProof,
  type FieldError,
  type G1Point,
  type G2Point,
  type SnarkjsProof,
} from './encoding.js';

/**
 * The most public signals a key may have. Verify time grows by about 0.033 ms per signal
 * (docs/groth16-verifier.md, "Figures") and the key's prepared table by 2 KiB per signal, so
 * 1024 bounds a verify near 40 ms and a prepared key near 2.1 MiB.
 */
export const MAX_PUBLIC_SIGNALS = 1024;

/** A parsed verification key: every point canonical and on its curve (subgroups: see `prepare`). */
export interface VerificationKey {
  readonly nPublic: number;
  readonly alpha: G1Point;
  readonly beta: G2Point;
  readonly gamma: G2Point;
  readonly delta: G2Point;
  /** nPublic + 1 points. */
  readonly ic: readonly G1Point[];
  /** Hex SHA-256 of the canonical encoding (`encodeVerificationKey`): what a claim names. */
  readonly id: string;
}

const vkError: FieldError = (field, why) =>
  new MaxwellError(ErrorCode.VKEY_INVALID, `verification key ${field}: ${why}`, { field });

/**
 * Keys that came out of parseVerificationKey. `prepare` skips parsing only for these: an object
 * that merely looks parsed (say, JSON with `id` and `ic` fields) must not skip the checks.
 */
const PARSED = new WeakSet<object>();

const VK_KEYS = new Set(['protocol', 'curve', 'nPublic', 'vk_alpha_1', 'vk_beta_2', 'vk_gamma_2', 'vk_delta_2', 'vk_alphabeta_12', 'IC']);

/**
 * snarkjs's verification_key.json, strictly. vk_alphabeta_12 (e(α, β), which snarkjs exports)
 * is allowed but ignored: `prepare` recomputes it, so a key cannot make us trust a wrong target.
 */
export function parseVerificationKey(json: unknown): VerificationKey {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw vkError('', 'not a JSON object');
  for (const k of Object.keys(json)) if (!VK_KEYS.has(k)) throw vkError(k, 'unknown field');
  const o = json as Record<string, unknown>;
  if (o.protocol !== 'groth16') throw vkError('protocol', 'must be "groth16"');
  if (o.curve !== 'bn128') throw vkError('curve', 'must be "bn128"');
  const n = o.nPublic;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_PUBLIC_SIGNALS) {
    throw vkError('nPublic', `must be an integer in [0, ${MAX_PUBLIC_SIGNALS}]`);
  }
  if (!Array.isArray(o.IC) || o.IC.length !== n + 1) throw vkError('IC', `must hold nPublic + 1 = ${n + 1} points`);
  const ic = o.IC.map((p, i) => parseG1Json(p, `IC[${i}]`, vkError));
  const vk = {
    nPublic: n,
    alpha: parseG1Json(o.vk_alpha_1, 'vk_alpha_1', vkError),
    beta: parseG2Json(o.vk_beta_2, 'vk_beta_2', vkError),
    gamma: parseG2Json(o.vk_gamma_2, 'vk_gamma_2', vkError),
    delta: parseG2Json(o.vk_delta_2, 'vk_delta_2', vkError),
    ic,
  };
  const parsed: VerificationKey = Object.freeze({ ...vk, id: createHash('sha256').update(encodeVerificationKey(vk)).digest('hex') });
  PARSED.add(parsed);
  return parsed;
}

/**
 * The key's canonical bytes: a domain tag, nPublic (u16 big-endian), then α, β, γ, δ, IC₀..ICₙ
 * compressed as in a proof. Two JSON files that differ only in formatting (or in the ignored
 * vk_alphabeta_12) have the same identity; any change to a point changes it.
 */
export function encodeVerificationKey(vk: Omit<VerificationKey, 'id'>): Uint8Array {
  const tag = new TextEncoder().encode('maxwell/groth16-bn254-vk/v1\0');
  const out = new Uint8Array(tag.length + 2 + G1_BYTES + 3 * G2_BYTES + (vk.nPublic + 1) * G1_BYTES);
  out.set(tag, 0);
  let at = tag.length;
  out[at++] = vk.nPublic >> 8;
  out[at++] = vk.nPublic & 0xff;
  encodeG1(vk.alpha, out, at);
  at += G1_BYTES;
  for (const p of [vk.beta, vk.gamma, vk.delta]) {
    encodeG2(p, out, at);
    at += G2_BYTES;
  }
  for (const p of vk.ic) {
    encodeG1(p, out, at);
    at += G1_BYTES;
  }
  assert(at === out.length, 'vk encoding fills its buffer');
  return out;
}

/** A key ready to verify against: everything that depends on the key alone, computed once. */
export class PreparedKey {
  /** @internal */
  constructor(
    readonly id: string,
    readonly nPublic: number,
    /** IC₀, affine (Montgomery). */
    readonly ic0: Uint8Array,
    /** 2^(8j)·ICᵢ for i = 1..n, j = 0..31, affine, at index 32·(i−1) + j. */
    readonly table: Uint8Array,
    readonly gammaPrepared: Uint8Array,
    readonly deltaPrepared: Uint8Array,
    /** e(α, β)⁻¹ in GT. */
    readonly target: Uint8Array,
  ) {}
}

export interface VerifierOptions {
  /**
   * Run two of the three Miller loops on ffjavascript's worker threads (one per CPU) while the
   * main thread does the MSM and the third. Off by default: see docs/groth16-verifier.md,
   * "Single-threaded or threaded". The threaded curve is ffjavascript's global one, shared with
   * snarkjs in the same process, and `terminate` stops it for both.
   */
  threads?: boolean;
}

type WasmFn = (...args: number[]) => number;

/** G1/G2 Jacobian size, GT size (bytes). */
const G1_JAC = 96;
const G2_JAC = 192;
const GT = 384;
/** Wasm memory kept free beyond a verify's own buffers (the library's scratch allocations). */
const MEMORY_SLACK_BYTES = 256 * 1024;

export class Groth16Verifier {
  private terminated = false;
  private readonly ex: Record<string, WasmFn>;

  private constructor(
    readonly curve: Bn128Curve,
    readonly bn: Bn254,
    readonly threads: boolean,
  ) {
    this.ex = curve.tm.instance.exports as unknown as Record<string, WasmFn>;
  }

  /** Builds the wasm curve (about 250 ms, once per verifier). */
  static async create(options: VerifierOptions = {}): Promise<Groth16Verifier> {
    const threads = options.threads ?? false;
    const curve = await buildBn128(!threads);
    return new Groth16Verifier(curve, new Bn254(curve), threads);
  }

  /** Releases the curve (and its worker threads when threaded). The verifier is unusable after. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    await this.curve.terminate();
  }

  /**
   * Validates a key (JSON as snarkjs exports it, or parsed) and precomputes for it. Throws
   * VKEY_INVALID naming the field: shape, canonical form, points on their curves, β, γ, δ in
   * G2's subgroup, and δ ≠ ±γ, ±G2's generator (a key that never had a phase-2 contribution,
   * with which anyone can forge proofs: docs/groth16-verifier.md, "Checks").
   */
  prepare(vk: unknown): PreparedKey {
    assert(!this.terminated, 'verifier used after terminate');
    const k = isParsedKey(vk) ? vk : parseVerificationKey(vk);
    const { curve, bn } = this;
    const { G1, G2, F12 } = curve;
    const g2 = (p: G2Point, field: string): Uint8Array => {
      const q = bn.g2ToCurve(p);
      if (!bn.inG2Subgroup(q)) throw vkError(field, 'not in the prime-order subgroup');
      return q;
    };
    const beta = g2(k.beta, 'vk_beta_2');
    const gamma = g2(k.gamma, 'vk_gamma_2');
    const delta = g2(k.delta, 'vk_delta_2');
    const generator = G2.toAffine(G2.g);
    for (const [what, q] of [['γ', gamma], ['−γ', G2.neg(gamma)], ["G2's generator", generator], ["−G2's generator", G2.neg(generator)]] as const) {
      if (G2.eq(delta, q)) {
        throw vkError('vk_delta_2', `δ equals ${what}: the key never had a phase-2 contribution, and with it anyone can forge a proof for any public input`);
      }
    }
    const alpha = bn.g1ToCurve(k.alpha);
    const target = F12.inv(curve.pairing(alpha, beta));
    const ic = k.ic.map((p) => bn.g1ToCurve(p));
    // Doublings and affine conversions in wasm memory directly: n·32 of each would cost ~10× as
    // many buffer copies through the JS wrappers.
    const table = new Uint8Array(k.nPublic * 32 * 64);
    const { tm } = curve;
    tm.startSyncOp();
    try {
      const pJ = tm.alloc(G1_JAC);
      const pA = tm.alloc(64);
      for (let i = 1; i <= k.nPublic; i++) {
        tm.setBuff(pJ, G1.toJacobian(ic[i]!));
        for (let j = 0; j < 32; j++) {
          this.ex.g1m_toAffine!(pJ, pA);
          table.set(tm.getBuff(pA, 64), ((i - 1) * 32 + j) * 64);
          for (let d = 0; d < 8; d++) this.ex.g1m_double!(pJ, pJ);
        }
      }
    } finally {
      tm.endSyncOp();
    }
    return new PreparedKey(k.id, k.nPublic, ic[0]!, table, this.prepareG2(gamma), this.prepareG2(delta), target);
  }

  private prepareG2(q: Uint8Array): Uint8Array {
    const { tm } = this.curve;
    tm.startSyncOp();
    try {
      const p = tm.allocBuff(this.curve.G2.toJacobian(q));
      const out = tm.alloc(this.curve.preQSize);
      this.ex.bn128_prepareG2!(p, out);
      return tm.getBuff(out, this.curve.preQSize);
    } finally {
      tm.endSyncOp();
    }
  }

  /** 128 bytes to snarkjs's proof.json (PROOF_MALFORMED unless every point check passes). */
  decodeProof(bytes: Uint8Array): SnarkjsProof {
    assert(!this.terminated, 'verifier used after terminate');
    return this.bn.decodeProof(bytes);
  }

  /**
   * Does `proof` (128 bytes, or snarkjs's proof.json) prove the key's statement for these
   * public signals? Throws for input that is not a proof (PROOF_MALFORMED) or signals that are
   * not exactly nPublic canonical field elements below r (CLAIM_INVALID); false for a
   * well-formed proof that does not verify.
   */
  async verify(key: PreparedKey, publicSignals: readonly (bigint | string)[], proof: Uint8Array | SnarkjsProof): Promise<boolean> {
    assert(!this.terminated, 'verifier used after terminate');
    assert(key instanceof PreparedKey, 'verify takes a key from prepare()');
    const scalars = publicScalars(publicSignals, key.nPublic);
    const p: CurveProof = proof instanceof Uint8Array ? this.bn.decodeProofToCurve(proof) : this.bn.proofPointsToCurve(parseProofJson(proof));
    return this.threads ? this.checkThreaded(key, scalars, p) : this.checkSingle(key, scalars, p);
  }

  /** `verify`, with a proof that does not verify thrown as PROOF_INVALID. */
  async verifyOrThrow(key: PreparedKey, publicSignals: readonly (bigint | string)[], proof: Uint8Array | SnarkjsProof): Promise<void> {
    if (!(await this.verify(key, publicSignals, proof))) {
      throw new MaxwellError(ErrorCode.PROOF_INVALID, `the Groth16 proof does not verify against key ${key.id.slice(0, 16)}… for these public signals`, { vk: key.id });
    }
  }

  /** Grows the main wasm memory (ffjavascript's sync allocator never does) so `bytes` fit. */
  private ensureMemory(bytes: number): void {
    const { tm } = this.curve;
    const free = tm.memory.buffer.byteLength - tm.u32[0]!;
    if (free >= bytes + MEMORY_SLACK_BYTES) return;
    tm.memory.grow(Math.ceil((bytes + MEMORY_SLACK_BYTES - free) / 65536));
    // The old views are detached by grow(): the library reads tm.u8/u32 afresh on each call.
    tm.u8 = new Uint8Array(tm.memory.buffer);
    tm.u32 = new Uint32Array(tm.memory.buffer);
  }

  /** vk_x = IC₀ + Σ xᵢ·ICᵢ into pX (Jacobian), inside a sync op. */
  private vkx(key: PreparedKey, scalars: Uint8Array, pX: number): void {
    const { tm } = this.curve;
    const pIc0 = tm.allocBuff(key.ic0);
    if (key.nPublic === 0) {
      this.ex.g1m_toJacobian!(pIc0, pX);
      return;
    }
    const pBases = tm.allocBuff(key.table);
    const pScalars = tm.allocBuff(scalars);
    // One bucket pass over all 32·n digits (the library's own entry point would pick 7-bit
    // chunks for this n, two passes over 8-bit digits: measured 10–20% slower).
    this.ex.g1m_multiexpAffine_chunk!(pBases, pScalars, 1, 32 * key.nPublic, 0, 8, pX);
    this.ex.g1m_addMixed!(pX, pIc0, pX);
  }

  private workingBytes(key: PreparedKey): number {
    // The table and digits, the MSM's 256 Jacobian buckets, three prepared G2 points, GT scratch.
    return key.table.length + 32 * key.nPublic + 256 * G1_JAC + 3 * this.curve.preQSize + 4 * GT + 4 * G2_JAC;
  }

  private checkSingle(key: PreparedKey, scalars: Uint8Array, p: CurveProof): boolean {
    const { tm, G1, G2 } = this.curve;
    const ex = this.ex;
    this.ensureMemory(this.workingBytes(key));
    tm.startSyncOp();
    try {
      const pX = tm.alloc(G1_JAC);
      this.vkx(key, scalars, pX);
      const pP = tm.alloc(this.curve.prePSize);
      const pQ = tm.alloc(this.curve.preQSize);
      const acc = tm.alloc(GT);
      const aux = tm.alloc(GT);
      ex.bn128_prepareG1!(tm.allocBuff(G1.toJacobian(G1.neg(p.a))), pP);
      ex.bn128_prepareG2!(tm.allocBuff(G2.toJacobian(p.b)), pQ);
      ex.bn128_millerLoop!(pP, pQ, acc);
      // vk_x = O only for signals chosen against the key's discrete logs; e(O, γ) = 1, and the
      // wasm Miller loop is not written for O, so its factor is skipped rather than computed.
      if (!ex.g1m_isZero!(pX)) {
        ex.bn128_prepareG1!(pX, pP);
        ex.bn128_millerLoop!(pP, tm.allocBuff(key.gammaPrepared), aux);
        ex.ftm_mul!(acc, aux, acc);
      }
      ex.bn128_prepareG1!(tm.allocBuff(G1.toJacobian(p.c)), pP);
      ex.bn128_millerLoop!(pP, tm.allocBuff(key.deltaPrepared), aux);
      ex.ftm_mul!(acc, aux, acc);
      ex.bn128_finalExponentiation!(acc, acc);
      return ex.ftm_eq!(acc, tm.allocBuff(key.target)) !== 0;
    } finally {
      tm.endSyncOp();
    }
  }

  private async checkThreaded(key: PreparedKey, scalars: Uint8Array, p: CurveProof): Promise<boolean> {
    const { tm, G1, G2, prePSize, preQSize } = this.curve;
    const ex = this.ex;
    // Each task: prepare the G1 point, prepare the G2 point unless it comes prepared, one loop.
    const loop = (g1: Uint8Array, g2: Uint8Array, g2Prepared: boolean): Promise<Uint8Array[]> => {
      const task: TaskCommand[] = [
        { cmd: 'ALLOCSET', var: 0, buff: g1 },
        { cmd: 'ALLOC', var: 1, len: prePSize },
        { cmd: 'ALLOC', var: 4, len: GT },
        { cmd: 'CALL', fnName: 'bn128_prepareG1', params: [{ var: 0 }, { var: 1 }] },
      ];
      if (g2Prepared) {
        task.push({ cmd: 'ALLOCSET', var: 3, buff: g2 });
      } else {
        task.push({ cmd: 'ALLOCSET', var: 2, buff: g2 }, { cmd: 'ALLOC', var: 3, len: preQSize });
        task.push({ cmd: 'CALL', fnName: 'bn128_prepareG2', params: [{ var: 2 }, { var: 3 }] });
      }
      task.push({ cmd: 'CALL', fnName: 'bn128_millerLoop', params: [{ var: 1 }, { var: 3 }, { var: 4 }] });
      task.push({ cmd: 'GET', out: 0, var: 4, len: GT });
      return tm.queueAction(task);
    };
    // Queued first, so the workers run while this thread computes the MSM and the γ loop.
    const ab = loop(G1.toJacobian(G1.neg(p.a)), G2.toJacobian(p.b), false);
    const cd = loop(G1.toJacobian(p.c), key.deltaPrepared, true);
    this.ensureMemory(this.workingBytes(key));
    let mine: Uint8Array;
    tm.startSyncOp();
    try {
      const pX = tm.alloc(G1_JAC);
      this.vkx(key, scalars, pX);
      const acc = tm.alloc(GT);
      ex.ftm_one!(acc);
      if (!ex.g1m_isZero!(pX)) {
        const pP = tm.alloc(prePSize);
        ex.bn128_prepareG1!(pX, pP);
        ex.bn128_millerLoop!(pP, tm.allocBuff(key.gammaPrepared), acc);
      }
      mine = tm.getBuff(acc, GT);
    } finally {
      tm.endSyncOp();
    }
    const [r1, r2] = await Promise.all([ab, cd]);
    tm.startSyncOp();
    try {
      const acc = tm.allocBuff(mine);
      const aux = tm.alloc(GT);
      for (const r of [r1, r2]) {
        tm.setBuff(aux, r[0]!);
        ex.ftm_mul!(acc, aux, acc);
      }
      ex.bn128_finalExponentiation!(acc, acc);
      return ex.ftm_eq!(acc, tm.allocBuff(key.target)) !== 0;
    } finally {
      tm.endSyncOp();
    }
  }
}

function isParsedKey(v: unknown): v is VerificationKey {
  return typeof v === 'object' && v !== null && PARSED.has(v);
}

const claimError: FieldError = (field, why) =>
  new MaxwellError(ErrorCode.CLAIM_INVALID, `${field}: ${why}`, { field });

/** The signals as 32-byte little-endian scalars, back to back (their bytes are the table's digits). */
export function publicScalars(signals: readonly (bigint | string)[], nPublic: number): Uint8Array {
  if (!Array.isArray(signals)) throw claimError('public signals', 'not an array');
  if (signals.length !== nPublic) throw claimError('public signals', `${signals.length} given, the key has ${nPublic}`);
  const out = new Uint8Array(32 * nPublic);
  for (let i = 0; i < nPublic; i++) {
    const s = signals[i];
    let v: bigint;
    if (typeof s === 'bigint') {
      if (s < 0n || s >= R) throw claimError(`public signal ${i}`, 'not in [0, r) (non-canonical)');
      v = s;
    } else {
      v = parseDecimal(s, R, `public signal ${i}`, claimError);
    }
    const be = Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
    for (let b = 0; b < 32; b++) out[32 * i + b] = be[31 - b]!;
  }
  return out;
}
