/**
 * Freivalds' check of a dense layer over a batch: is acc = W·X + b·1ᵀ (int8 W, X; int32 b, acc)?
 *
 * Recomputing costs m·n·batch multiply-adds. Instead, draw r uniform in F_P^m and compare
 *
 *     rᵀ·acc  =  (rᵀ·W)·X + (rᵀ·b)·1ᵀ      (mod P, a vector of `batch` entries)
 *
 * which costs m·n + n·batch + m·batch. If acc is wrong, the difference D = W·X + b·1ᵀ − acc has
 * a nonzero column d, and rᵀ·d = 0 for at most a 1/P fraction of the vectors r (a nonzero
 * linear form over a field): one repetition misses with probability ≤ 1/P < 2^-40; k independent
 * repetitions with ≤ P^-k. The cost ratio to recomputing is about 1/batch + 1/n + 1/m per
 * repetition, so the check pays off on batches (bench: `maxwell bench proof`).
 *
 * Exactness: every sum is kept below 2^52 (field.ts), so the doubles hold exact integers.
 */
import { assert } from '../assert.js';
import { mod, mulInt32, type FieldRandom, TERMS_PER_REDUCTION } from './field.js';
import type { DenseLayer } from './model.js';

/**
 * One repetition's vector: r drawn uniform in F_P^m, and what depends only on r and the layer,
 * u = rᵀ·W and c = rᵀ·b (mod P): the m·n part of the check's cost. A verifier may keep it for
 * later claims while r stays secret (see ClaimVerifier: it is thrown away at the first claim it
 * rejects, the only event that tells a prover anything about r).
 */
export interface FreivaldsVector {
  r: Float64Array;
  u: Float64Array;
  c: number;
}

export function freivaldsVector(l: DenseLayer, random: FieldRandom): FreivaldsVector {
  const { inputs: n, outputs: m, weights: w, bias } = l;
  const r = new Float64Array(m);
  const u = new Float64Array(n);
  for (let i = 0; i < m; i++) r[i] = random();
  // u = rᵀ·W: |r_i·w_ij| < 2^41 · 2^7, reduced every TERMS_PER_REDUCTION rows.
  for (let i = 0; i < m; i++) {
    const ri = r[i]!;
    const row = i * n;
    for (let j = 0; j < n; j++) u[j]! += ri * w[row + j]!;
    if ((i + 1) % TERMS_PER_REDUCTION === 0) for (let j = 0; j < n; j++) u[j] = mod(u[j]!);
  }
  for (let j = 0; j < n; j++) u[j] = mod(u[j]!);
  let c = 0;
  for (let i = 0; i < m; i++) c = mod(c + mulInt32(r[i]!, bias[i]!));
  return { r, u, c };
}

/** True when acc = W·x + b passes `reps` independent checks, each with a fresh vector. */
export function freivaldsDense(l: DenseLayer, x: Int8Array, acc: Int32Array, batch: number, random: FieldRandom, reps = 1): boolean {
  for (let rep = 0; rep < reps; rep++) if (!freivaldsCheck(l, x, acc, batch, freivaldsVector(l, random))) return false;
  return true;
}

/** The rest of one repetition, given its vector: rᵀ·acc against u·X + c (n·batch + m·batch). */
export function freivaldsCheck(l: DenseLayer, x: Int8Array, acc: Int32Array, batch: number, v: FreivaldsVector): boolean {
  const { inputs: n, outputs: m } = l;
  assert(x.length === n * batch && acc.length === m * batch, 'the shapes were checked by the caller');
  assert(v.r.length === m && v.u.length === n, 'the vector is this layer\'s');
  const { r, u, c } = v;
  const t = new Float64Array(batch);
  const lhs = new Float64Array(batch);
  const ll = new Float64Array(batch);
  const lh = new Float64Array(batch);
  const hl = new Float64Array(batch);
  const hh = new Float64Array(batch);
  // t = u·X, reduced every TERMS_PER_REDUCTION inputs.
  for (let j = 0; j < n; j++) {
    const uj = u[j]!;
    const xr = j * batch;
    for (let k = 0; k < batch; k++) t[k]! += uj * x[xr + k]!;
    if ((j + 1) % TERMS_PER_REDUCTION === 0) for (let k = 0; k < batch; k++) t[k] = mod(t[k]!);
  }
  // lhs = rᵀ·acc. acc is int32 and r has 41 bits: their product does not fit a double, so both
  // are split (r = rh·2^21 + rl, y = yh·2^16 + yl) and the four partial products, each below
  // 2^37, are summed exactly in four columns of accumulators (reduced every 2^15 rows), then
  // recombined once per column. Four multiply-adds an entry instead of a modular product.
  ll.fill(0); lh.fill(0); hl.fill(0); hh.fill(0);
  for (let i = 0; i < m; i++) {
    const ri = r[i]!;
    const rl = ri % 2_097_152;
    const rh = (ri - rl) / 2_097_152;
    const row = i * batch;
    for (let k = 0; k < batch; k++) {
      const y = acc[row + k]!;
      const yl = y & 0xffff;
      const yh = y >> 16;
      ll[k]! += rl * yl;
      lh[k]! += rl * yh;
      hl[k]! += rh * yl;
      hh[k]! += rh * yh;
    }
    if ((i + 1) % 32_768 === 0) for (let k = 0; k < batch; k++) { ll[k] = mod(ll[k]!); lh[k] = mod(lh[k]!); hl[k] = mod(hl[k]!); hh[k] = mod(hh[k]!); }
  }
  for (let k = 0; k < batch; k++) {
    const hi = mulInt32(mulInt32(mod(hh[k]!), 2_097_152), 65_536);
    lhs[k] = mod(mod(ll[k]!) + mulInt32(mod(lh[k]!), 65_536) + mulInt32(mod(hl[k]!), 2_097_152) + hi);
  }
  for (let k = 0; k < batch; k++) if (mod(lhs[k]!) !== mod(t[k]! + c)) return false;
  return true;
}
