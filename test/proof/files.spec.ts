// Models and claims as files, the infer agent's model read from its source, and the CLI
// (`maxwell prove`, `maxwell verify`) end to end, including a tampered claim.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDigest } from '../../src/proof/claim.js';
import { claimFromJson, claimToJson, modelFromJson, modelToJson, quantiseInput, readInferModel } from '../../src/proof/files.js';
import { modelHash, runModel } from '../../src/proof/model.js';
import { maxwell } from '../cli-helper.js';


describe('proof files', () => {
  it("the infer agent's model, read from its source, computes exactly what the agent's integer network does", async () => {
    const inf = await readInferModel();
    const batch = inf.testX.length;
    const logits = runModel(inf.model, quantiseInput(inf.testX, inf.inputZero), batch).at(-1)!;
    const predicted = Array.from({ length: batch }, (_, k) => {
      let best = 0;
      for (let i = 1; i < 3; i++) if (logits[i * batch + k]! > logits[best * batch + k]!) best = i;
      return best;
    });
    assert.deepEqual(predicted, inf.testPred, 'the trainer\'s exact integer reference');
    assert.ok(inf.model.logitScale > 1e-5 && inf.model.logitScale < 1e-2);
  });

  it('model and claim files round-trip to the same hash and digest', async () => {
    const inf = await readInferModel();
    const m = modelFromJson(JSON.parse(JSON.stringify(modelToJson(inf.model))));
    assert.deepEqual(modelHash(m), modelHash(inf.model));
    const input = quantiseInput(inf.testX.slice(0, 5), inf.inputZero);
    const c = { modelHash: modelHash(m), agent: Buffer.alloc(32, 7), session: Buffer.from('0123456789abcdef', 'hex'), batch: 5, input, accumulators: runModel(m, input, 5) };
    const back = claimFromJson(JSON.parse(JSON.stringify(claimToJson(c))));
    assert.deepEqual(claimDigest(back), claimDigest(c));
    assert.throws(() => modelFromJson({ format: 'something-else' }), { code: 'E_MODEL_INVALID' });
    assert.throws(() => claimFromJson({ ...claimToJson(c), agent: 'zz' }), { code: 'E_CLAIM_INVALID', message: /agent/ });
  });

  it('untrusted files are refused with codes, never a crash: wrong shapes, too many entries, junk base64, devices, extreme scales', async () => {
    const inf = await readInferModel();
    const good = modelToJson(inf.model) as Record<string, unknown> & { layers: Record<string, unknown>[] };
    assert.throws(() => modelFromJson({ ...good, layers: [null] }), { code: 'E_MODEL_INVALID', message: /layer 0 must be an object/ });
    assert.throws(() => modelFromJson({ ...good, layers: new Array(10_000).fill(good.layers[0]) }), { code: 'E_MODEL_INVALID' });
    assert.throws(() => modelFromJson({ ...good, logit_scale: 1e308 }), { code: 'E_MODEL_INVALID', message: /logitScale/ });
    assert.throws(() => modelFromJson({ ...good, layers: [good.layers[0], { ...good.layers[1], weights_i8_b64: good.layers[1]!['weights_i8_b64'] + '!!' }] }), { code: 'E_MODEL_INVALID', message: /base64/ });
    const one = { ...inf.model, layers: [inf.model.layers[0]!, { ...inf.model.layers[1]!, outputs: 1, weights: new Int8Array(16), bias: new Int32Array(1) }] };
    assert.throws(() => modelHash(one), { code: 'E_MODEL_INVALID', message: /at least 2 outputs/ });
    const input = quantiseInput(inf.testX.slice(0, 2), inf.inputZero);
    const c = claimToJson({ modelHash: modelHash(inf.model), agent: Buffer.alloc(32), session: Buffer.alloc(8), batch: 2, input, accumulators: runModel(inf.model, input, 2) }) as Record<string, unknown>;
    assert.throws(() => claimFromJson({ ...c, accumulators_i32le_b64: new Array(1_000_000).fill('') }), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => claimFromJson({ ...c, input_i8_b64: 'AAAA=junk' }), { code: 'E_CLAIM_INVALID', message: /base64/ });
    assert.throws(() => claimFromJson(null), { code: 'E_CLAIM_INVALID' });
    const r = await maxwell(['verify', '/dev/zero', '--model', 'infer']);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /E_CLAIM_INVALID: \/dev\/zero is not a regular file/);
    const dir = await mkdtemp(join(tmpdir(), 'mw-proof-'));
    await writeFile(join(dir, 'null.json'), 'null');
    const n = await maxwell(['prove', '--model', 'infer', '--input', join(dir, 'null.json')]);
    assert.equal(n.code, 64);
    assert.match(n.stderr, /E_BAD_ARGUMENT: .* is not an input file/);
  });

  it('maxwell prove writes a claim that maxwell verify accepts, and a tampered one is refused (exit 65)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mw-proof-'));
    const claim = join(dir, 'claim.json');
    const p = await maxwell(['prove', '--model', 'infer', '--test-set', '--session', '00112233445566778899', '--out', claim]);
    assert.equal(p.code, 0, p.stderr);
    const v = await maxwell(['verify', claim, '--model', 'infer', '--json']);
    assert.equal(v.code, 0, v.stderr);
    const j = JSON.parse(v.stdout);
    assert.equal(j.verified, true);
    assert.equal(j.batch, 45);
    assert.ok(j.soundness_bits >= 40);
    assert.ok(j.information_gain_bits > 0 && j.information_gain_bits <= 45 * Math.log2(3));

    // One logit changed: the check catches it.
    const text = JSON.parse(await readFile(claim, 'utf8'));
    const logits = Buffer.from(text.accumulators_i32le_b64[1], 'base64');
    logits.writeInt32LE(logits.readInt32LE(0) + 1, 0);
    text.accumulators_i32le_b64[1] = logits.toString('base64');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify(text));
    const r = await maxwell(['verify', bad, '--model', 'infer']);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /E_PROOF_INVALID/);

    // Checked against another session (a replay elsewhere): refused.
    const s = await maxwell(['verify', claim, '--model', 'infer', '--session', 'ffffffffffffffff']);
    assert.equal(s.code, 65);
    assert.match(s.stderr, /E_CLAIM_INVALID: the claim is bound to another session/);
    // A claim for the infer model checked against another model file: unknown model.
    const other = join(dir, 'other.json');
    const m = modelToJson((await readInferModel()).model) as { name: string };
    await writeFile(other, JSON.stringify({ ...m, name: 'another' }));
    const o = await maxwell(['verify', claim, '--model', other]);
    assert.equal(o.code, 65);
    assert.match(o.stderr, /E_MODEL_UNKNOWN/);
  });

  it('maxwell prove --groth16 writes a bundle that maxwell verify accepts (exit 0), a tampered one is refused (65), and a machine without the setup says so (78)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mw-g16-cli-'));
    const input = join(dir, 'input.json');
    await writeFile(input, JSON.stringify({ format: 'maxwell-input-v1', samples: [[1, -2, 3, 4], [0, 0, 0, 0]] }));
    const bundle = join(dir, 'bundle.json');
    const setup = join(dir, 'setup');
    const p = await maxwell(['prove', '--groth16', '--model', 'infer', '--input', input, '--power', '10', '--setup-dir', setup, '--out', bundle], { timeoutMs: 180_000 });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /Groth16 proofs of infer-iris-4-16-3 on 2 sample\(s\)/);
    const v = await maxwell(['verify', bundle, '--model', 'infer', '--setup-dir', setup, '--json']);
    assert.equal(v.code, 0, v.stderr);
    const j = JSON.parse(v.stdout);
    assert.equal(j.proof_system, 'groth16');
    assert.equal(j.batch, 2);
    assert.ok(j.proofs >= 2 && j.information_gain_bits >= 0);
    const text = JSON.parse(await readFile(bundle, 'utf8'));
    text.layers[1].outputs[1] += 1;
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify(text));
    const r = await maxwell(['verify', bad, '--model', 'infer', '--setup-dir', setup]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /E_PROOF_INVALID/);
    const m = await maxwell(['verify', bundle, '--model', 'infer', '--setup-dir', join(dir, 'elsewhere')]);
    assert.equal(m.code, 78, m.stderr);
    assert.match(m.stderr, /E_SETUP_MISSING/);
    assert.equal((await maxwell(['prove', '--groth16', '--model', 'infer', '--input', input, '--weights', 'secret'])).code, 64);
  });
});
