// Groth16 circuits for quantised dense layers (src/proof/groth16, circuits/): what they compute,
// checked through their own witness calculators against src/proof/model.ts — no setup, no proof
// (groth16-prove.spec.ts proves). Rescale + ReLU at every clamp, the big multiplier, the
// commitment against its TS twin, constraint counts against their targets, chunk planning, and
// the error codes of bad shapes and ranges. Compiles go to a temp cache (a few seconds each).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as snarkjs from 'snarkjs';
import { requantise, type Requant } from '../../src/proof/model.js';
import {
  EXAMPLES, EXAMPLES_DIR, chunkSpec, circuitSource, compileCircuit, compileSource, estimateConstraints, planLayer,
  publicSignalCount, requantConstraints, zBitsFor,
} from '../../src/proof/groth16/circuit.js';
import { commitChunk, commitmentElements, poseidonChain } from '../../src/proof/groth16/commitment.js';
import { poseidonEx } from '../../src/proof/groth16/poseidon.js';
import { chunkCommitment, chunkInput, chunkWitness, fieldToInt, publicSignalsFor, readWitness } from '../../src/proof/groth16/prover.js';
import { ensureCircuitSetup, ensurePtau, releaseCurve } from '../../src/proof/groth16/setup.js';
import { seededRandom } from '../../src/market/random.js';
import { ErrorCode, isMaxwellError } from '../../src/errors.js';
import { expected, randomInput, randomLayer } from './groth16-helpers.js';

let cacheDir = '';
before(async () => { cacheDir = await mkdtemp(path.join(tmpdir(), 'maxwell-g16c-')); });
after(async () => {
  await releaseCurve();
  await rm(cacheDir, { recursive: true, force: true });
});

const rejects = async (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => isMaxwellError(e) && e.code === code);
const throws = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => isMaxwellError(e) && e.code === code);

describe('Poseidon and the commitment (TS twin of the circuit)', () => {
  it('Poseidon matches circomlib\'s test vector', () => {
    assert.equal(poseidonEx([1n, 2n]), 7853200120776062878684798364095072458815029376092732009249414926327459813530n);
  });

  it('packs 31 weights and 7 biases per element behind a shape header; a changed weight or bias changes the commitment', () => {
    const l = randomLayer(3, 40, 2);
    const e = commitmentElements(2, 40, l.weights, l.bias);
    assert.equal(e.length, 1 + 3 + 1);
    assert.ok(e.every((v) => v < 2n ** 248n));
    const c = commitChunk(2, 40, l.weights, l.bias);
    const w2 = l.weights.slice();
    w2[77] = w2[77] === 127 ? 126 : w2[77]! + 1;
    assert.notEqual(commitChunk(2, 40, w2, l.bias), c);
    const b2 = l.bias.slice();
    b2[1]! += 1;
    assert.notEqual(commitChunk(2, 40, l.weights, b2), c);
    // The same numbers in another shape are another commitment (the header).
    assert.notEqual(commitChunk(4, 20, l.weights, Int32Array.from([...l.bias, 0, 0])), c);
    assert.notEqual(commitChunk(2, 40, l.weights), c);
    // More than 16 elements: a chain of 16-wide blocks.
    const many = Array.from({ length: 20 }, (_, i) => BigInt(i));
    assert.notEqual(poseidonChain(many), poseidonChain(many.slice(0, 16)));
  });

  it('the circuit states the same commitment as the TS twin (16-wide chain, no bias) and a changed weight changes it', async () => {
    // 1 × 500 weights from columns 100..599 of 700: 1 + 17 elements, so two chained Poseidon blocks.
    const l = randomLayer(5, 700, 1, { multiplier: 1, shift: 12, lo: 0, hi: 127 });
    const s = chunkSpec(l, { rowStart: 0, rows: 1, colStart: 100, cols: 500, batch: 1, weights: 'private' });
    assert.equal(s.mode, 'partial');
    const c = await compileCircuit(s, { cacheDir });
    const x = randomInput(6, 700);
    const w = await chunkWitness(c, l, s, x, [12345]);
    assert.equal(w.commitment, chunkCommitment(l, s));
    const l2 = { ...l, weights: l.weights.slice() };
    l2.weights[300] = l2.weights[300] === 0 ? 1 : 0;
    const w2 = await chunkWitness(c, l2, s, x, [12345]);
    assert.notEqual(w2.commitment, w.commitment);
    assert.equal(w2.commitment, chunkCommitment(l2, s));
    // Partial sums continue: accIn + Σ w·x over the chunk's columns.
    let sum = 12345;
    for (let j = 100; j < 600; j++) sum += l.weights[j]! * x[j]!;
    assert.deepEqual(w.outputs, [BigInt(sum)]);
  });
});

describe('the dense layer circuit computes what model.ts computes', () => {
  it('private weights, batch 2, ReLU: activations and commitment', async () => {
    const l = randomLayer(11, 12, 3, { multiplier: 1, shift: 10, lo: 0, hi: 127 }, 60_000);
    const x = randomInput(12, 12 * 2);
    const s = chunkSpec(l, { rowStart: 0, rows: 3, colStart: 0, cols: 12, batch: 2, weights: 'private' });
    const c = await compileCircuit(s, { cacheDir });
    const w = await chunkWitness(c, l, s, x);
    assert.deepEqual(w.outputs.map(Number), expected(l, x, 2));
    assert.equal(w.commitment, chunkCommitment(l, s));
    assert.ok(c.constraints <= estimateConstraints(s), `${c.constraints} ≤ estimate ${estimateConstraints(s)}`);
    assert.equal(c.publicSignals, publicSignalCount(s));
  });

  it('the iris agent\'s first layer (M ≈ 2^30, S = 35), public weights, and a private chunk of its rows', async () => {
    const { readInferModel, quantiseInput } = await import('../../src/proof/files.js');
    const im = await readInferModel();
    const l = im.model.layers[0]!;
    assert.ok(l.requant!.multiplier > 2 ** 29 && l.requant!.shift === 35);
    const batch = 3;
    const x = quantiseInput(im.testX.slice(0, batch), im.inputZero);
    const want = expected(l, x, batch);
    const pub = chunkSpec(l, { rowStart: 0, rows: l.outputs, colStart: 0, cols: l.inputs, batch, weights: 'public' });
    const cp = await compileCircuit(pub, { cacheDir });
    assert.deepEqual((await chunkWitness(cp, l, pub, x)).outputs.map(Number), want);
    const priv = chunkSpec(l, { rowStart: 4, rows: 4, colStart: 0, cols: l.inputs, batch, weights: 'private' });
    const cq = await compileCircuit(priv, { cacheDir });
    assert.deepEqual((await chunkWitness(cq, l, priv, x)).outputs.map(Number), want.slice(4 * batch, 8 * batch));
  });

  it('the last layer states its accumulators (logits), negative ones included', async () => {
    const l = randomLayer(21, 10, 3, undefined, 100_000);
    const x = randomInput(22, 10);
    const s = chunkSpec(l, { rowStart: 0, rows: 3, colStart: 0, cols: 10, batch: 1, weights: 'public' });
    assert.equal(s.mode, 'logits');
    const w = await chunkWitness(await compileCircuit(s, { cacheDir }), l, s, x);
    const want = expected(l, x, 1);
    assert.ok(want.some((v) => v < 0));
    assert.deepEqual(w.outputs.map(Number), want);
  });
});

describe('the rescale gadget (Requant) at every clamp', () => {
  // One circuit with a Requant per configuration, accumulators as public inputs: each witness
  // checks all configurations on one accumulator per configuration.
  const configs: { r: Requant; maxAcc: number }[] = [
    { r: { multiplier: 1, shift: 8, lo: 0, hi: 127 }, maxAcc: 2 ** 20 }, // ReLU, power-of-two rescale
    { r: { multiplier: 1_098_806_664, shift: 35, lo: 0, hi: 127 }, maxAcc: 2 ** 18 }, // the iris multiplier
    { r: { multiplier: 3, shift: 4, lo: -128, hi: 127 }, maxAcc: 5000 }, // no activation: int8 saturation
    { r: { multiplier: 5, shift: 6, lo: -20, hi: 50 }, maxAcc: 3000 }, // both sides inside int8
    { r: { multiplier: 1, shift: 2, lo: 10, hi: 100 }, maxAcc: 1000 }, // positive floor
    { r: { multiplier: 7, shift: 3, lo: -128, hi: -5 }, maxAcc: 800 }, // negative ceiling
    { r: { multiplier: 1, shift: 1, lo: 0, hi: 127 }, maxAcc: 255 }, // W padded to S + 8 (no middle bits)
  ];
  const wOf = (c: (typeof configs)[number]) => zBitsFor({ inputs: 1, outputs: 1, weights: Int8Array.of(0), bias: Int32Array.of(c.maxAcc), requant: c.r });
  let wasm = '';

  before(async () => {
    const lines = configs.map((c, i) => `    component q${i} = Requant(${wOf(c)}, ${c.r.shift}, ${c.r.multiplier}, ${c.r.lo}, ${c.r.hi}); q${i}.acc <== acc[${i}]; y[${i}] <== q${i}.y;`);
    const main = ['pragma circom 2.1.0;', 'include "maxwell_dense.circom";', 'template T() {', `    signal input acc[${configs.length}];`, `    signal output y[${configs.length}];`, ...lines, '}', 'component main {public [acc]} = T();', ''].join('\n');
    const c = await compileSource(main, [], { cacheDir });
    wasm = c.wasmPath;
    // Each instance costs what requantConstraints says (the per-ReLU figure the docs report).
    assert.equal(c.constraints, configs.reduce((a, k) => a + requantConstraints(wOf(k), k.r), 0));
  });

  const run = async (accs: number[]) => {
    const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
    await snarkjs.wtns.calculate({ acc: accs }, wasm, wtns);
    return readWitness(wtns.data!, 1 + accs.length).slice(1).map((v) => Number(fieldToInt(v)));
  };

  it('equals requantise on edges, thresholds and random accumulators', async () => {
    const rand = seededRandom(31);
    const probes: number[][] = configs.map((c) => {
      const r = c.r;
      // Accumulators where the rounded quotient crosses lo, hi, 0, −128 and 127, ±1 around each.
      const at = (q: number) => Math.floor((q * 2 ** r.shift - 2 ** (r.shift - 1)) / r.multiplier);
      const edges = [-c.maxAcc, c.maxAcc, 0, -1, 1];
      for (const q of [r.lo, r.hi, 0, -128, 127, 128, -129]) for (const d of [-1, 0, 1]) edges.push(at(q) + d, at(q + 1) + d);
      for (let i = 0; i < 20; i++) edges.push(Math.floor((rand() * 2 - 1) * c.maxAcc));
      return edges.filter((a) => Math.abs(a) <= c.maxAcc);
    });
    const rounds = Math.max(...probes.map((p) => p.length));
    let clampedLo = 0;
    let clampedHi = 0;
    for (let k = 0; k < rounds; k++) {
      const accs = probes.map((p) => p[k % p.length]!);
      const got = await run(accs);
      accs.forEach((a, i) => {
        const want = requantise(a, configs[i]!.r);
        assert.equal(got[i], want, `config ${i}, acc ${a}`);
        if (want === configs[i]!.r.lo) clampedLo++;
        if (want === configs[i]!.r.hi) clampedHi++;
      });
    }
    assert.ok(clampedLo > 10 && clampedHi > 10);
  });

  it('an accumulator past the circuit\'s range has no witness', async () => {
    const accs = configs.map(() => 0);
    accs[0] = 2 ** 40;
    await assert.rejects(run(accs));
  });
});

describe('constraint counts (the figures docs/groth16-circuits.md reports)', () => {
  it('private multiply-accumulates cost 1.0 constraint each; ReLU ≤ 32 with a power-of-two rescale; commitment ≈ 9–10 per weight', async () => {
    const macs = await compileSource('pragma circom 2.1.0;\ninclude "maxwell_dense.circom";\ncomponent main {public [x]} = MeasureMacs(4, 16, 2);\n', [], { cacheDir });
    assert.equal(macs.constraints / (4 * 16 * 2), 1);
    // A 784-input layer of random int8 weights, |bias| < 2^12, rescaled by 2^12 (bench.ts's MLP).
    const l = randomLayer(41, 784, 2, { multiplier: 1, shift: 12, lo: 0, hi: 127 });
    const w = zBitsFor(l);
    assert.ok(w <= 25, `W = ${w}`);
    assert.ok(requantConstraints(w, l.requant!) <= 32);
    const relu = await compileSource(`pragma circom 2.1.0;\ninclude "maxwell_dense.circom";\ncomponent main {public [acc]} = MeasureRequant(4, ${w}, 12, 1, 0, 127);\n`, [], { cacheDir });
    assert.ok(relu.constraints / 4 <= 32, `${relu.constraints / 4} per ReLU`);
    // The commitment of 1 × 500 weights (compiled above: 500 MACs + 8 per weight + two Poseidon blocks).
    const l5 = randomLayer(5, 700, 1, { multiplier: 1, shift: 12, lo: 0, hi: 127 });
    const c = await compileCircuit(chunkSpec(l5, { rowStart: 0, rows: 1, colStart: 100, cols: 500, batch: 1, weights: 'private' }), { cacheDir });
    const perWeight = (c.constraints - 500) / 500;
    assert.ok(perWeight > 8 && perWeight < 10.5, `${perWeight} per weight`);
  });

  it('public weights: the multiply-accumulates are linear (no constraints); only the rescale costs', async () => {
    const l = randomLayer(43, 64, 4, { multiplier: 1, shift: 10, lo: 0, hi: 127 });
    const s = chunkSpec(l, { rowStart: 0, rows: 4, colStart: 0, cols: 64, batch: 1, weights: 'public' });
    const c = await compileCircuit(s, { cacheDir });
    assert.equal(c.constraints, 4 * requantConstraints(zBitsFor(l), l.requant!));
  });
});

describe('chunk planning', () => {
  it('784 → 56 with private weights, one sample: chunks fit 2^13 and 2^12, columns split, partial sums flow in order', () => {
    const l = randomLayer(51, 784, 56, { multiplier: 1, shift: 12, lo: 0, hi: 127 });
    for (const power of [12, 13]) {
      const plan = planLayer(l, { batch: 1, weights: 'private', power });
      for (const s of plan) assert.ok(estimateConstraints(s) + publicSignalCount(s) + 1 <= 2 ** power);
      // Every weight is in exactly one chunk.
      const seen = new Uint8Array(784 * 56);
      for (const s of plan) for (let i = 0; i < s.rows; i++) for (let j = 0; j < s.cols; j++) seen[(s.rowStart + i) * 784 + s.colStart + j]! += 1;
      assert.ok(seen.every((v) => v === 1));
      // Within a row group, columns ascend and only the last requantises.
      for (let k = 0; k < plan.length; k++) {
        const s = plan[k]!;
        assert.equal(s.mode === 'requant', s.colStart + s.cols === 784);
        if (s.colStart > 0) assert.equal(plan[k - 1]!.colStart + plan[k - 1]!.cols, s.colStart);
      }
      assert.ok(plan.length < (power === 13 ? 80 : 160), `${plan.length} chunks at 2^${power}`);
    }
  });

  it('a small layer is one chunk; public weights need only the rescale and the inputs', () => {
    const l = randomLayer(52, 16, 8, { multiplier: 1, shift: 10, lo: 0, hi: 127 });
    assert.equal(planLayer(l, { batch: 4, weights: 'public', power: 10 }).length, 1);
    assert.equal(planLayer(l, { batch: 1, weights: 'private', power: 12 }).length, 1);
  });
});

describe('the repo\'s fixed circuits', () => {
  it('each circuits/examples file is the generator\'s output for its spec', async () => {
    for (const [name, spec] of Object.entries(EXAMPLES)) {
      assert.equal(await readFile(path.join(EXAMPLES_DIR, `${name}.circom`), 'utf8'), circuitSource(spec), name);
    }
  });
});

describe('bad shapes and ranges have their codes', () => {
  const l = randomLayer(61, 8, 4, { multiplier: 1, shift: 8, lo: 0, hi: 127 });

  it('layers, chunks and batches', () => {
    throws(() => chunkSpec({ ...l, weights: new Int8Array(31) }, { rowStart: 0, rows: 4, colStart: 0, cols: 8, batch: 1, weights: 'private' }), ErrorCode.MODEL_INVALID);
    throws(() => chunkSpec({ ...l, requant: { multiplier: 1, shift: 8, lo: 5, hi: 4 } }, { rowStart: 0, rows: 4, colStart: 0, cols: 8, batch: 1, weights: 'private' }), ErrorCode.MODEL_INVALID);
    throws(() => chunkSpec(l, { rowStart: 2, rows: 4, colStart: 0, cols: 8, batch: 1, weights: 'private' }), ErrorCode.BAD_ARGUMENT);
    throws(() => chunkSpec(l, { rowStart: 0, rows: 4, colStart: 0, cols: 8, batch: 0, weights: 'private' }), ErrorCode.BAD_ARGUMENT);
    throws(() => chunkSpec(l, { rowStart: 0, rows: 4, colStart: 0, cols: 8, batch: 1, weights: 'private', zBits: 12 }), ErrorCode.BAD_ARGUMENT);
    throws(() => planLayer(l, { batch: 1, weights: 'private', power: 3 }), ErrorCode.BAD_ARGUMENT);
  });

  it('inputs: length, type and int8 range; the layer must be the circuit\'s', async () => {
    const s = EXAMPLES.dense_private_8x4!;
    const c = await compileCircuit(s, { cacheDir });
    await rejects(chunkWitness(c, l, s, new Int8Array(7)), ErrorCode.BAD_ARGUMENT);
    await rejects(chunkWitness(c, l, s, [1, 2, 3, 4, 5, 6, 7, 8] as unknown as Int8Array), ErrorCode.BAD_ARGUMENT);
    await rejects(chunkWitness(c, randomLayer(62, 8, 4, { multiplier: 1, shift: 9, lo: 0, hi: 127 }), s, new Int8Array(8)), ErrorCode.MODEL_INVALID);
    await rejects(chunkWitness(c, randomLayer(63, 8, 5, { multiplier: 1, shift: 8, lo: 0, hi: 127 }), s, new Int8Array(8)), ErrorCode.MODEL_INVALID);
    throws(() => publicSignalsFor(s, { x: [0, 0, 0, 200, 0, 0, 0, 0], outputs: [0, 0, 0, 0], commitment: 1n }), ErrorCode.BAD_ARGUMENT);
    throws(() => publicSignalsFor(s, { x: new Int8Array(8), outputs: [0, 0, 0, 0] }), ErrorCode.BAD_ARGUMENT);
    // Past the TS checks, the circuit itself refuses a weight outside int8: no witness.
    const input = chunkInput(l, s, new Int8Array(8));
    (input.w as number[][])[1]![2] = 200;
    await assert.rejects(snarkjs.wtns.calculate(input, c.wasmPath, { type: 'mem' }));
  });

  it('a setup that may not be generated is E_SETUP_MISSING', async () => {
    await rejects(ensurePtau(10, { cacheDir, generate: false }), ErrorCode.SETUP_MISSING);
    const c = await compileCircuit(EXAMPLES.dense_private_8x4!, { cacheDir });
    await rejects(ensureCircuitSetup(c, { cacheDir, generate: false }), ErrorCode.SETUP_MISSING);
  });
});
