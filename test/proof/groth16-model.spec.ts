// Groth16 bundles of a whole model (src/proof/groth16/model-proof.ts): the iris agent's model on
// three held-out samples, proved layer by layer in chunks that fit a 2^10 setup (made once, in a
// temporary directory), then checked by the cached-curve verifier with public signals built from
// the model. Every attack is refused with its code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInferModel, quantiseInput } from '../../src/proof/files.js';
import { proveModel, verifyModelProof, modelOutputs, type Groth16Bundle } from '../../src/proof/groth16/model-proof.js';
import { Groth16Verifier } from '../../src/proof/groth16/verifier.js';
import { PROOF_BYTES } from '../../src/proof/groth16/encoding.js';
import { ErrorCode } from '../../src/errors.js';

const infer = await readInferModel();
const BATCH = 3;
const X = quantiseInput(infer.testX.slice(0, BATCH), infer.inputZero);
const clone = (b: Groth16Bundle): Groth16Bundle => JSON.parse(JSON.stringify(b)) as Groth16Bundle;

describe('Groth16 bundles of a model', () => {
  let cacheDir: string;
  let bundle: Groth16Bundle;
  let verifier: Groth16Verifier;
  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'mw-g16-model-'));
    bundle = await proveModel(infer.model, X, BATCH, { power: 10, cacheDir });
    verifier = await Groth16Verifier.create();
  });
  after(async () => {
    await verifier?.terminate();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('proves every layer; the bundle states what the model computes, with 128-byte proofs, and verifies', async () => {
    const want = modelOutputs(infer.model, X, BATCH);
    assert.deepEqual(bundle.layers.map((l) => l.outputs), want.map((o) => Array.from(o)));
    for (const l of bundle.layers) for (const c of l.chunks) assert.equal(Buffer.from(c.proof, 'base64').length, PROOF_BYTES);
    const r = await verifyModelProof(infer.model, bundle, { verifier, cacheDir });
    assert.equal(r.proofs, bundle.layers.reduce((s, l) => s + l.chunks.length, 0));
    assert.deepEqual(Array.from(r.logits), Array.from(want[1]!));
    // It survives a trip through JSON text, as a file does.
    await verifyModelProof(infer.model, JSON.parse(JSON.stringify(bundle)), { verifier, cacheDir });
  });

  it('refuses a wrong output (hidden or logit), another model, another input, and swapped proofs', async () => {
    const logit = clone(bundle);
    logit.layers[1]!.outputs[0]! += 1;
    await assert.rejects(verifyModelProof(infer.model, logit, { verifier, cacheDir }), { code: ErrorCode.PROOF_INVALID, message: /layer 1 chunk 0/ });
    const hidden = clone(bundle);
    hidden.layers[0]!.outputs[2] = hidden.layers[0]!.outputs[2]! === 0 ? 1 : 0;
    await assert.rejects(verifyModelProof(infer.model, hidden, { verifier, cacheDir }), { code: ErrorCode.PROOF_INVALID });
    const input = clone(bundle);
    input.input[0] = input.input[0]! === 5 ? 6 : 5;
    await assert.rejects(verifyModelProof(infer.model, input, { verifier, cacheDir }), { code: ErrorCode.PROOF_INVALID });
    const other = { ...infer.model, name: 'another-model' };
    await assert.rejects(verifyModelProof(other, bundle, { verifier, cacheDir }), { code: ErrorCode.MODEL_UNKNOWN });
    const chunks = bundle.layers[0]!.chunks;
    if (chunks.length > 1) {
      const swapped = clone(bundle);
      [swapped.layers[0]!.chunks[0], swapped.layers[0]!.chunks[1]] = [swapped.layers[0]!.chunks[1]!, swapped.layers[0]!.chunks[0]!];
      await assert.rejects(verifyModelProof(infer.model, swapped, { verifier, cacheDir }), (e: { code?: string }) => e.code === ErrorCode.PROOF_INVALID || e.code === ErrorCode.VKEY_INVALID);
    }
  });

  it('refuses malformed bundles and proofs, out-of-range outputs, and keys it does not have', async () => {
    const cases: Array<[(b: Groth16Bundle) => unknown, string]> = [
      [(b) => ({ ...b, format: 'nope' }), ErrorCode.PROOF_MALFORMED],
      [(b) => ({ ...b, batch: 0 }), ErrorCode.PROOF_MALFORMED],
      [(b) => ({ ...b, layers: [b.layers[0]] }), ErrorCode.PROOF_MALFORMED],
      [(b) => ({ ...b, input: [...b.input, 1] }), ErrorCode.PROOF_MALFORMED],
      [(b) => ({ ...b, input: b.input.map(() => 300) }), ErrorCode.PROOF_MALFORMED],
      [(b) => { b.layers[0]!.chunks.pop(); return b; }, ErrorCode.PROOF_MALFORMED],
      [(b) => { b.layers[0]!.chunks[0]!.proof = Buffer.alloc(127).toString('base64'); return b; }, ErrorCode.PROOF_MALFORMED],
      [(b) => { b.layers[0]!.chunks[0]!.proof = Buffer.alloc(128, 0xff).toString('base64'); return b; }, ErrorCode.PROOF_MALFORMED],
      // A hidden activation of 200: outside the layer's range (and not an int8 input to the next).
      [(b) => { b.layers[0]!.outputs[0] = 200; return b; }, ErrorCode.PROOF_INVALID],
      [(b) => { b.layers[0]!.chunks[0]!.vk_id = 'ab'.repeat(32); return b; }, ErrorCode.VKEY_INVALID],
      [() => null, ErrorCode.PROOF_MALFORMED],
    ];
    for (const [edit, code] of cases) {
      await assert.rejects(verifyModelProof(infer.model, edit(clone(bundle)), { verifier, cacheDir }), { code }, String(edit));
    }
    // Another machine's cache has no setup: E_SETUP_MISSING, unless the bundle's keys are trusted.
    const empty = await mkdtemp(join(tmpdir(), 'mw-g16-empty-'));
    try {
      await assert.rejects(verifyModelProof(infer.model, bundle, { verifier, cacheDir: empty }), { code: ErrorCode.SETUP_MISSING });
      const r = await verifyModelProof(infer.model, bundle, { verifier, cacheDir: empty, keysFromBundle: true });
      assert.ok(r.proofs > 0);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
