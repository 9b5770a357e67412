// Groth16 proofs of quantised dense layers, end to end: a development setup of 2^10 made once for
// this file in a temp dir (the direct phase 1, a few seconds), proofs checked with
// snarkjs.groth16.verify against public signals the verifier builds itself (publicSignalsFor).
// Honest layers prove and verify and state model.ts's outputs; a proof does not verify with another
// input or output; a wrong output has no valid witness; partial sums chain across column chunks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as snarkjs from 'snarkjs';
import { EXAMPLES, chunkSpec, compileCircuit, compileExample, planLayer, type CompiledCircuit } from '../../src/proof/groth16/circuit.js';
import { chunkCommitment, chunkWitness, layerCommitments, proveChunk, proveLayer, publicSignalsFor } from '../../src/proof/groth16/prover.js';
import { ensureCircuitSetup, ensurePtau, releaseCurve, type CircuitSetup } from '../../src/proof/groth16/setup.js';
import { ErrorCode, isMaxwellError } from '../../src/errors.js';
import { expected, randomInput, randomLayer } from './groth16-helpers.js';

const POWER = 10;
// snarkjs's witness check reports through a logger it requires.
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let cacheDir = '';

before(async () => {
  cacheDir = await mkdtemp(path.join(tmpdir(), 'maxwell-g16p-'));
  await ensurePtau(POWER, { cacheDir });
});
after(async () => {
  await releaseCurve();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('an honest private-weights layer (circuits/examples/dense_private_8x4, compiled by the build)', () => {
  const spec = EXAMPLES.dense_private_8x4!;
  // Seeded so that the four activations are clamped at 0, clamped at 127, and two in between.
  const l = randomLayer(5, 8, 4, { multiplier: 1, shift: 8, lo: 0, hi: 127 }, 20_000);
  const x = randomInput(6, 8);
  let c: CompiledCircuit;
  let setup: CircuitSetup;

  before(async () => {
    c = await compileExample('dense_private_8x4');
    setup = await ensureCircuitSetup(c, { cacheDir, power: POWER });
  });

  it('proves; the proof verifies with the public signals a verifier builds from the input, the outputs it expects and the commitment of the weights', async () => {
    const p = await proveChunk(c, setup, l, spec, x);
    const want = expected(l, x, 1);
    assert.ok(want.includes(0) && want.includes(127) && want.some((v) => v > 0 && v < 127), `a mix of clamped and passed activations: ${want}`);
    assert.deepEqual(p.outputs.map(Number), want);
    const signals = publicSignalsFor(spec, { x, outputs: want, commitment: chunkCommitment(l, spec) });
    assert.deepEqual(signals, p.publicSignals);
    assert.equal(await snarkjs.groth16.verify(setup.vkey, signals, p.proof), true);
    assert.ok(p.proveMs > 0 && p.constraints === c.constraints);

    // Another input's public signals, another output, another commitment: no.
    const x2 = x.slice();
    x2[3] = x2[3] === 127 ? 126 : x2[3]! + 1;
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignalsFor(spec, { x: x2, outputs: want, commitment: chunkCommitment(l, spec) }), p.proof), false);
    const y2 = want.slice();
    y2[0]! += 1;
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignalsFor(spec, { x, outputs: y2, commitment: chunkCommitment(l, spec) }), p.proof), false);
    const l2 = { ...l, weights: l.weights.slice() };
    l2.weights[5] = l2.weights[5] === 127 ? 126 : l2.weights[5]! + 1;
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignalsFor(spec, { x, outputs: want, commitment: chunkCommitment(l2, spec) }), p.proof), false);
  });

  it('a wrong output has no valid witness: the edited witness fails the constraints, and its proof does not verify', async () => {
    const w = await chunkWitness(c, l, spec, x);
    assert.equal(await snarkjs.wtns.check(c.r1csPath, w.wtns, quiet), true);
    // Witness value 1 is the first output (values are 32-byte little-endian after the headers).
    const data = Uint8Array.from(w.wtns.data!);
    const at = 12 + 12 + 40 + 12 + 32;
    data[at] = (data[at]! + 1) & 0xff;
    const forged = { type: 'mem' as const, data };
    assert.equal(await snarkjs.wtns.check(c.r1csPath, forged, quiet), false);
    const { proof, publicSignals } = await snarkjs.groth16.prove(setup.zkeyPath, forged);
    assert.notEqual(publicSignals[0], String(w.outputs[0]));
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignals, proof), false);
  });
});

describe('a big multiplier and chunks', () => {
  it('four rows of the iris agent\'s first layer (M ≈ 2^30, S = 35), private weights, batch 2: prove, verify, equal model.ts', async () => {
    const { readInferModel, quantiseInput } = await import('../../src/proof/files.js');
    const im = await readInferModel();
    const l = im.model.layers[0]!;
    const x = quantiseInput(im.testX.slice(10, 12), im.inputZero);
    const s = chunkSpec(l, { rowStart: 8, rows: 4, colStart: 0, cols: 4, batch: 2, weights: 'private' });
    const c = await compileCircuit(s, { cacheDir });
    const setup = await ensureCircuitSetup(c, { cacheDir, power: POWER });
    const p = await proveChunk(c, setup, l, s, x);
    assert.deepEqual(p.outputs.map(Number), expected(l, x, 2).slice(8 * 2, 12 * 2));
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignalsFor(s, { x, outputs: p.outputs, commitment: chunkCommitment(l, s) }), p.proof), true);
  });

  it('a layer too wide for one 2^10 proof: columns split, partial sums chained through public signals, every chunk verifies', async () => {
    const l = randomLayer(7, 100, 2, { multiplier: 1, shift: 9, lo: 0, hi: 127 });
    const x = randomInput(8, 100);
    const plan = planLayer(l, { batch: 1, weights: 'private', power: POWER });
    assert.ok(plan.some((s) => s.colStart > 0), 'the plan splits columns');
    const r = await proveLayer(l, x, 1, { weights: 'private', power: POWER, cacheDir });
    assert.deepEqual(Array.from(r.outputs), expected(l, x, 1));
    const commitments = layerCommitments(l, plan);
    let partial: bigint[] | undefined;
    for (const [k, ch] of r.chunks.entries()) {
      const s = ch.spec;
      const c = await compileCircuit(s, { cacheDir });
      const setup = await ensureCircuitSetup(c, { cacheDir, power: POWER, generate: false });
      const signals = publicSignalsFor(s, { x, outputs: ch.outputs, commitment: commitments[k]!, ...(s.colStart > 0 ? { accIn: partial! } : {}) });
      assert.equal(await snarkjs.groth16.verify(setup.vkey, signals, ch.proof), true, `chunk ${k}`);
      partial = ch.outputs;
    }
    // A chunk's proof with its predecessor's partial sums changed does not verify.
    const lastK = r.chunks.findIndex((ch) => ch.spec.colStart > 0);
    const ch = r.chunks[lastK]!;
    const setup = await ensureCircuitSetup(await compileCircuit(ch.spec, { cacheDir }), { cacheDir, power: POWER });
    const prev = r.chunks[lastK - 1]!.outputs.map((v) => v + 1n);
    assert.equal(await snarkjs.groth16.verify(setup.vkey, publicSignalsFor(ch.spec, { x, outputs: ch.outputs, commitment: commitments[lastK]!, accIn: prev }), ch.proof), false);
  });

  it('proving without generating a missing setup is E_SETUP_MISSING', async () => {
    const l = randomLayer(9, 6, 3, { multiplier: 1, shift: 8, lo: 0, hi: 127 });
    const other = await mkdtemp(path.join(tmpdir(), 'maxwell-g16p-none-'));
    try {
      await assert.rejects(proveLayer(l, randomInput(10, 6), 1, { weights: 'public', power: POWER, cacheDir: other, generate: false }), (e: unknown) => isMaxwellError(e) && e.code === ErrorCode.SETUP_MISSING);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
