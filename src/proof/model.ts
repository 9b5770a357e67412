/**
 * Quantised models, registered by the hash of their weights. A model is a stack of dense
 * layers over exact integers — int8 weights, int32 biases and accumulators — so that checking
 * an inference is exact arithmetic, never a tolerance:
 *
 *   acc_l = W_l · x_l + b_l                          (int32; what a claim states per layer)
 *   x_{l+1} = clamp((acc_l · M_l + 2^(S_l−1)) >> S_l, lo_l, hi_l)   (requantisation + ReLU)
 *
 * The last layer's accumulators are the logits; `logitScale` turns them into real logits for
 * the softmax (information gain, infogain.ts). The hash commits to every number here,
 * domain-tagged and length-prefixed, so a swapped or edited model is another model.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, MaxwellError } from '../errors.js';

export interface Requant {
  /** Fixed-point multiplier (a positive integer < 2^31) and right shift (1..62). */
  multiplier: number;
  shift: number;
  /** The activation's range after the shift (e.g. 0..127: ReLU into int8). */
  lo: number;
  hi: number;
}

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** outputs × inputs, row-major. */
  weights: Int8Array;
  /** outputs. */
  bias: Int32Array;
  /** How the accumulators become the next layer's inputs; absent on the last layer. */
  requant?: Requant;
}

export interface Model {
  name: string;
  layers: DenseLayer[];
  /** Real logit = accumulator × logitScale (for the softmax). */
  logitScale: number;
}

/** Limits: a model is at most this many layers, units per layer, and weights in all. */
export const MAX_LAYERS = 16;
export const MAX_UNITS = 65_536;
export const MAX_WEIGHTS = 64 * 2 ** 20;

const bad = (why: string) => new MaxwellError(ErrorCode.MODEL_INVALID, why);

/** Checks a model's shapes and ranges; throws E_MODEL_INVALID naming the first problem. */
export function checkModel(m: Model): void {
  if (typeof m.name !== 'string' || m.name.length === 0 || m.name.length > 128) throw bad('a model has a name of 1–128 characters');
  if (!Array.isArray(m.layers) || m.layers.length === 0 || m.layers.length > MAX_LAYERS) throw bad(`a model has 1–${MAX_LAYERS} layers`);
  // Bounded so that any int32 logit times the scale stays finite in the softmax.
  if (!(Number.isFinite(m.logitScale) && m.logitScale > 0 && m.logitScale <= 1e3)) throw bad(`logitScale must be a number in (0, 1000], not ${m.logitScale}`);
  let weights = 0;
  m.layers.forEach((l, i) => {
    const at = `layer ${i}`;
    for (const [k, v] of [['inputs', l.inputs], ['outputs', l.outputs]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > MAX_UNITS) throw bad(`${at}: ${k} must be an integer in [1, ${MAX_UNITS}], not ${v}`);
    }
    if (!(l.weights instanceof Int8Array) || l.weights.length !== l.inputs * l.outputs) throw bad(`${at}: weights must be an Int8Array of outputs × inputs = ${l.inputs * l.outputs}`);
    if (!(l.bias instanceof Int32Array) || l.bias.length !== l.outputs) throw bad(`${at}: bias must be an Int32Array of ${l.outputs}`);
    weights += l.weights.length;
    if (i > 0 && l.inputs !== m.layers[i - 1]!.outputs) throw bad(`${at}: ${l.inputs} inputs after a layer of ${m.layers[i - 1]!.outputs} outputs`);
    const last = i === m.layers.length - 1;
    if (last && l.outputs < 2) throw bad(`${at}: the last layer classifies: at least 2 outputs, not ${l.outputs}`);
    if (last !== (l.requant === undefined)) throw bad(`${at}: every layer but the last requantises its outputs, and the last does not`);
    const r = l.requant;
    if (r !== undefined) {
      if (!Number.isInteger(r.multiplier) || r.multiplier < 1 || r.multiplier >= 2 ** 31) throw bad(`${at}: the multiplier must be an integer in [1, 2^31)`);
      if (!Number.isInteger(r.shift) || r.shift < 1 || r.shift > 62) throw bad(`${at}: the shift must be an integer in [1, 62]`);
      if (!Number.isInteger(r.lo) || !Number.isInteger(r.hi) || r.lo > r.hi || r.lo < -128 || r.hi > 127) throw bad(`${at}: the activation range must be integers within int8, lo ≤ hi`);
    }
  });
  if (weights > MAX_WEIGHTS) throw bad(`the model has ${weights} weights; the limit is ${MAX_WEIGHTS}`);
}

/** The model's identity: SHA-256 over a domain tag and every number, length-prefixed. */
export function modelHash(m: Model): Buffer {
  checkModel(m);
  const h = createHash('sha256').update('maxwell-model-v1\0');
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); h.update(b); };
  const i64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); h.update(b); };
  const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(v); h.update(b); };
  const name = Buffer.from(m.name, 'utf8');
  u32(name.length);
  h.update(name);
  f64(m.logitScale);
  u32(m.layers.length);
  for (const l of m.layers) {
    u32(l.inputs);
    u32(l.outputs);
    h.update(Buffer.from(l.weights.buffer, l.weights.byteOffset, l.weights.byteLength));
    for (const b of l.bias) i64(b);
    if (l.requant) {
      u32(1);
      i64(l.requant.multiplier);
      u32(l.requant.shift);
      i64(l.requant.lo);
      i64(l.requant.hi);
    } else {
      u32(0);
    }
  }
  return h.digest();
}

/** Requantises one accumulator (exactly: the product goes through BigInt past 2^53). */
export function requantise(acc: number, r: Requant): number {
  const prod = acc * r.multiplier; // |acc| < 2^31, multiplier < 2^31: up to 2^62
  let v: number;
  if (Math.abs(prod) < 2 ** 52) v = Math.floor((prod + 2 ** (r.shift - 1)) / 2 ** r.shift);
  else v = Number((BigInt(acc) * BigInt(r.multiplier) + (1n << BigInt(r.shift - 1))) >> BigInt(r.shift));
  return v < r.lo ? r.lo : v > r.hi ? r.hi : v;
}

/**
 * Runs the model on a batch (inputs × batch, column k = sample k, int8) and returns every
 * layer's accumulators (outputs × batch, int32): what an honest claim states. The recompute
 * that Freivalds' check avoids, and what a spot check does.
 */
export function runModel(m: Model, input: Int8Array, batch: number): Int32Array[] {
  const accs: Int32Array[] = [];
  let x: Int8Array = input;
  for (const l of m.layers) {
    const acc = denseForward(l, x, batch);
    accs.push(acc);
    if (l.requant) {
      const next = new Int8Array(acc.length);
      for (let i = 0; i < acc.length; i++) next[i] = requantise(acc[i]!, l.requant);
      x = next;
    }
  }
  return accs;
}

/** acc = W·x + b for a batch, exact in int32 (asserting the accumulators fit). */
export function denseForward(l: DenseLayer, x: Int8Array, batch: number): Int32Array {
  const { inputs: n, outputs: m, weights: w, bias } = l;
  const out = new Float64Array(m * batch);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    const o = i * batch;
    for (let k = 0; k < batch; k++) out[o + k] = bias[i]!;
    for (let j = 0; j < n; j++) {
      const wij = w[row + j]!;
      if (wij === 0) continue;
      const xr = j * batch;
      for (let k = 0; k < batch; k++) out[o + k]! += wij * x[xr + k]!;
    }
  }
  const acc = new Int32Array(m * batch);
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (v < -(2 ** 31) || v >= 2 ** 31) throw new MaxwellError(ErrorCode.MODEL_INVALID, `an accumulator overflows int32 (${v}): the model's ranges are wrong`);
    acc[i] = v;
  }
  return acc;
}
