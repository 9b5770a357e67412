// Proof of inference, the pure core (src/proof): field arithmetic against BigInt, Freivalds'
// check against recomputation, the claim verifier against every attack issue 6 lists (each
// rejected with its code), information gain, and the spot-check odds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { P, mod, mulInt32, cryptoFieldRandom, seededFieldRandom, SOUNDNESS_BITS } from '../../src/proof/field.js';
import { freivaldsDense } from '../../src/proof/freivalds.js';
import { modelHash, runModel, denseForward, requantise, type Model, type DenseLayer } from '../../src/proof/model.js';
import { ClaimVerifier, claimDigest, MAX_BATCH, type InferenceClaim } from '../../src/proof/claim.js';
import { informationGainBits, batchInformationGainBits, milliBits } from '../../src/proof/infogain.js';
import { catchProbability, claimsToCatch, shouldSpotCheck } from '../../src/proof/spotcheck.js';
import { seededRandom } from '../../src/market/random.js';

const BP = BigInt(P);

function randomLayer(rand: () => number, inputs: number, outputs: number, requant: boolean): DenseLayer {
  const weights = new Int8Array(inputs * outputs);
  for (let i = 0; i < weights.length; i++) weights[i] = Math.floor(rand() * 256) - 128;
  const bias = new Int32Array(outputs);
  for (let i = 0; i < outputs; i++) bias[i] = Math.floor(rand() * 20_000) - 10_000;
  return { inputs, outputs, weights, bias, ...(requant ? { requant: { multiplier: 1_234_567, shift: 31, lo: 0, hi: 127 } } : {}) };
}

function randomModel(seed: number, shape = [4, 16, 3]): Model {
  const rand = seededRandom(seed);
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < shape.length; i++) layers.push(randomLayer(rand, shape[i]!, shape[i + 1]!, i + 2 < shape.length));
  return { name: `test-${seed}`, layers, logitScale: 1 / 4096 };
}

function randomInput(seed: number, n: number, batch: number): Int8Array {
  const rand = seededRandom(seed);
  const x = new Int8Array(n * batch);
  for (let i = 0; i < x.length; i++) x[i] = Math.floor(rand() * 256) - 128;
  return x;
}

const AGENT = randomBytes(32);
const SESSION = Buffer.from('session-0001');

function honestClaim(m: Model, batch: number, seed = 1): InferenceClaim {
  const input = randomInput(seed, m.layers[0]!.inputs, batch);
  return { modelHash: modelHash(m), agent: AGENT, session: SESSION, batch, input, accumulators: runModel(m, input, batch) };
}

describe('field arithmetic mod P (the least prime above 2^40)', () => {
  it('P is above 2^40 and one repetition is sound to 2^-40', () => {
    assert.ok(P > 2 ** 40 && P < 2 ** 41);
    assert.ok(SOUNDNESS_BITS > 40);
  });

  it('mod and mulInt32 agree with BigInt', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n }),
      fc.bigInt({ min: 0n, max: BP - 1n }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      (x, a, y) => {
        assert.equal(mod(Number(x)), Number(((x % BP) + BP) % BP));
        assert.equal(mulInt32(Number(a), y), Number((((a * BigInt(y)) % BP) + BP) % BP));
      },
    ), { numRuns: 2000 });
    for (const y of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)]) assert.equal(mulInt32(P - 1, y), Number((((BP - 1n) * BigInt(y)) % BP + BP) % BP));
  });

  it('crypto field draws are in [0, P) and not all alike', () => {
    const r = cryptoFieldRandom();
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r();
      assert.ok(Number.isInteger(v) && v >= 0 && v < P);
      seen.add(v);
    }
    assert.equal(seen.size, 1000);
  });
});

describe("Freivalds' check of a dense layer", () => {
  it('accepts the true product and rejects any single wrong accumulator', () => {
    const rand = seededRandom(7);
    const layer = randomLayer(rand, 64, 24, false);
    const batch = 32;
    const x = randomInput(8, 64, batch);
    const acc = denseForward(layer, x, batch);
    const random = cryptoFieldRandom();
    assert.equal(freivaldsDense(layer, x, acc, batch, random), true);
    fc.assert(fc.property(fc.integer({ min: 0, max: acc.length - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (at, v) => {
      fc.pre(v !== acc[at]);
      const bad = acc.slice();
      bad[at] = v;
      assert.equal(freivaldsDense(layer, x, bad, batch, random), false, `a changed entry ${at} passed`);
    }), { numRuns: 300 });
  });

  it('catches errors that cancel in row sums and column sums (what a fixed check vector would miss)', () => {
    const rand = seededRandom(9);
    const layer = randomLayer(rand, 16, 8, false);
    const batch = 8;
    const x = randomInput(10, 16, batch);
    const acc = denseForward(layer, x, batch);
    const bad = acc.slice();
    // +1/−1 on a 2×2 square: every row and column sum unchanged.
    bad[0]! += 1; bad[1]! -= 1; bad[batch]! -= 1; bad[batch + 1]! += 1;
    const random = cryptoFieldRandom();
    for (let i = 0; i < 50; i++) assert.equal(freivaldsDense(layer, x, bad, batch, random), false);
  });

  it('stays exact past 2^15 rows (where the accumulators of rᵀ·acc are reduced)', () => {
    const rand = seededRandom(11);
    const layer = randomLayer(rand, 1, 40_000, false);
    const x = Int8Array.from([-128, 127]); // 1 × 2
    const acc = denseForward(layer, x, 2);
    const random = cryptoFieldRandom();
    assert.equal(freivaldsDense(layer, x, acc, 2, random), true);
    const bad = acc.slice();
    bad[39_999 * 2 + 1]! -= 1; // the last row, after the reduction
    assert.equal(freivaldsDense(layer, x, bad, 2, random), false);
  });

  it('matches recomputation on the extremes of int8 and int32', () => {
    const layer: DenseLayer = { inputs: 2, outputs: 2, weights: Int8Array.from([-128, 127, 127, -128]), bias: Int32Array.from([2 ** 31 - 1 - 32_513, -(2 ** 31) + 32_768]) };
    const x = Int8Array.from([-128, 127, -128, 127]); // 2 × 2
    const acc = denseForward(layer, x, 2);
    assert.equal(freivaldsDense(layer, x, acc, 2, cryptoFieldRandom(), 3), true);
  });
});

describe('models', () => {
  it('a model hash commits to every weight, bias and requantisation constant', () => {
    const m = randomModel(1);
    const h = modelHash(m).toString('hex');
    const w = structuredClone(m);
    w.layers[0]!.weights[5]! ^= 1;
    const b = structuredClone(m);
    b.layers[1]!.bias[0]! += 1;
    const r = structuredClone(m);
    r.layers[0]!.requant!.shift += 1;
    const s = structuredClone(m);
    s.logitScale *= 2;
    const hashes = [w, b, r, s].map((x) => modelHash(x).toString('hex'));
    assert.equal(new Set([h, ...hashes]).size, 5);
    assert.equal(modelHash(structuredClone(m)).toString('hex'), h, 'and nothing else');
  });

  it('refuses malformed models with E_MODEL_INVALID', () => {
    const m = randomModel(2);
    assert.throws(() => modelHash({ ...m, layers: [] }), { code: 'E_MODEL_INVALID' });
    assert.throws(() => modelHash({ ...m, layers: [m.layers[1]!, m.layers[0]!] }), { code: 'E_MODEL_INVALID' });
    assert.throws(() => modelHash({ ...m, logitScale: 0 }), { code: 'E_MODEL_INVALID' });
    const l = m.layers[0]!;
    assert.throws(() => modelHash({ ...m, layers: [{ ...l, weights: new Int8Array(3) }, m.layers[1]!] }), { code: 'E_MODEL_INVALID' });
  });

  it('requantises exactly, also past 2^53 (BigInt)', () => {
    const r = { multiplier: 2 ** 31 - 1, shift: 40, lo: -128, hi: 127 };
    for (const acc of [2 ** 31 - 1, -(2 ** 31), 12_345_678, -99]) {
      const exact = Number((BigInt(acc) * BigInt(r.multiplier) + (1n << 39n)) >> 40n);
      assert.equal(requantise(acc, r), Math.min(127, Math.max(-128, exact)));
    }
  });
});

describe('the claim verifier: every attack rejected with its code', () => {
  const m = randomModel(3);
  const other = randomModel(4);
  const setup = () => {
    const v = new ClaimVerifier();
    v.register(m);
    v.register(other);
    return v;
  };
  const expected = { agent: AGENT, session: SESSION };

  it('an honest claim verifies, once, with the stated soundness', () => {
    const v = setup();
    const c = honestClaim(m, 64);
    const ok = v.verify(c, expected);
    assert.equal(ok.batch, 64);
    assert.ok(ok.soundnessBits >= 40, `${ok.soundnessBits} bits`);
    assert.equal(ok.repetitions, 2, 'two layers: two repetitions each for 2^-40 over the claim');
    assert.deepEqual(ok.digest, claimDigest(c));
    assert.throws(() => v.verify(c, expected), { code: 'E_CLAIM_REPLAYED' });
    // The same work under a new session is a new claim.
    const again = { ...c, session: Buffer.from('session-0002') };
    assert.equal(v.verify(again, { agent: AGENT, session: again.session }).batch, 64);
  });

  it('keeps its vectors between honest claims and draws new ones after a rejection (what makes keeping them sound)', () => {
    let draws = 0;
    const crypto = cryptoFieldRandom();
    const v = new ClaimVerifier({ random: () => { draws++; return crypto(); } });
    v.register(m);
    const at = (s: string) => ({ agent: AGENT, session: Buffer.from(s) });
    const c = honestClaim(m, 8);
    v.verify({ ...c, session: Buffer.from('session-a') }, at('session-a'));
    const first = draws;
    assert.equal(first, (m.layers[0]!.outputs + m.layers[1]!.outputs) * 2, 'one vector per layer and repetition');
    v.verify({ ...c, session: Buffer.from('session-b') }, at('session-b'));
    assert.equal(draws, first, 'an honest claim reuses them');
    const logits = c.accumulators[1]!.slice();
    logits[0]! += 1;
    assert.throws(() => v.verify({ ...c, session: Buffer.from('session-c'), accumulators: [c.accumulators[0]!, logits] }, at('session-c')), { code: 'E_PROOF_INVALID' });
    v.verify({ ...c, session: Buffer.from('session-d') }, at('session-d'));
    assert.equal(draws, 2 * first, 'after a rejection, the next claim meets new vectors');
    // Redrawn every vectorClaims claims too.
    const every2 = new ClaimVerifier({ random: () => { draws++; return crypto(); }, vectorClaims: 2 });
    every2.register(m);
    draws = 0;
    for (const s of ['s-1', 's-2', 's-3']) every2.verify({ ...c, session: Buffer.from(`session-${s}`) }, at(`session-${s}`));
    assert.equal(draws, 2 * first, 'claims 1–2 share vectors, claim 3 meets new ones');
    // Without reuse, every claim draws its own.
    const fresh = new ClaimVerifier({ random: () => { draws++; return crypto(); }, reuseVectors: false });
    fresh.register(m);
    draws = 0;
    fresh.verify({ ...c, session: Buffer.from('session-e') }, at('session-e'));
    fresh.verify({ ...c, session: Buffer.from('session-f') }, at('session-f'));
    assert.equal(draws, 2 * first);
  });

  it('a wrong output, in the logits or in a hidden layer', () => {
    const v = setup();
    const c = honestClaim(m, 16);
    const logits = c.accumulators[1]!.slice();
    logits[3]! += 1;
    assert.throws(() => v.verify({ ...c, accumulators: [c.accumulators[0]!, logits] }, expected), { code: 'E_PROOF_INVALID', message: /layer 1/ });
    const hidden = c.accumulators[0]!.slice();
    hidden[0]! += 1_000_000; // changes the next layer's input too
    assert.throws(() => v.verify({ ...c, accumulators: [hidden, c.accumulators[1]!] }, expected), { code: 'E_PROOF_INVALID', message: /layer 0/ });
  });

  it('a swapped model: outputs of one model claimed for another, or an unregistered model', () => {
    const v = setup();
    const c = honestClaim(other, 8);
    assert.throws(() => v.verify({ ...c, modelHash: modelHash(m) }, expected), { code: 'E_PROOF_INVALID' });
    const unknown = randomModel(99);
    assert.throws(() => v.verify(honestClaim(unknown, 8), expected), { code: 'E_MODEL_UNKNOWN' });
  });

  it('a claim replayed under another agent, session or input', () => {
    const v = setup();
    const c = honestClaim(m, 8);
    assert.throws(() => v.verify({ ...c, agent: randomBytes(32) }, expected), { code: 'E_CLAIM_INVALID', message: /another agent/ });
    assert.throws(() => v.verify(c, { agent: randomBytes(32), session: SESSION }), { code: 'E_CLAIM_INVALID', message: /another agent/ });
    assert.throws(() => v.verify(c, { agent: AGENT, session: Buffer.from('session-9999') }), { code: 'E_CLAIM_INVALID', message: /another session/ });
    // A proof for a different input: the outputs of input A claimed for input B.
    const b = honestClaim(m, 8, 2);
    assert.throws(() => v.verify({ ...c, input: b.input }, expected), { code: 'E_PROOF_INVALID' });
  });

  it('malformed and oversized claims', () => {
    const v = setup();
    const c = honestClaim(m, 4);
    assert.throws(() => v.verify({ ...c, batch: 5 }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, batch: MAX_BATCH + 1 }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, input: new Int8Array(3) }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, accumulators: [c.accumulators[0]!] }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, accumulators: [c.accumulators[0]!, new Int32Array(5)] }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, modelHash: Buffer.alloc(7) }, expected), { code: 'E_CLAIM_INVALID' });
    assert.throws(() => v.verify({ ...c, session: Buffer.alloc(3) }, { agent: AGENT, session: Buffer.alloc(3) }), { code: 'E_CLAIM_INVALID' });
    // A rejected claim is not remembered: the honest one still verifies.
    assert.equal(v.verify(c, expected).batch, 4);
  });
});

describe('information gain', () => {
  it('is 0 bits for a uniform answer, log2(C) for a certain one, and the textbook value between', () => {
    assert.equal(informationGainBits([5, 5, 5, 5], 1), 0);
    assert.ok(Math.abs(informationGainBits([10_000, 0, 0, 0], 1) - 2) < 1e-9);
    // Two classes with p = (0.75, 0.25): IG = 1 − H(0.75) = 1 − 0.811278 = 0.188722 bits.
    const a = Math.log(3); // e^a / (e^a + 1) = 0.75
    assert.ok(Math.abs(informationGainBits([a * 1000, 0], 1 / 1000) - 0.188_722_4) < 1e-6);
  });

  it('sums over a batch and pays whole milli-bits, rounded down', () => {
    const logits = Int32Array.from([100, 0, 0, 100]); // 2 classes × 2 samples: both certain at scale 1
    assert.ok(Math.abs(batchInformationGainBits(logits, 2, 2, 1) - 2) < 1e-9);
    assert.equal(milliBits(0.1887), 188);
    assert.equal(milliBits(2), 2000);
  });
});

describe('spot checks', () => {
  it('gives the odds of catching a cheater and the claims needed', () => {
    assert.ok(Math.abs(catchProbability(0.1, 0.1, 100) - (1 - 0.99 ** 100)) < 1e-12);
    assert.equal(catchProbability(0, 0.5, 1000), 0);
    assert.equal(catchProbability(1, 1, 1), 1);
    const n = claimsToCatch(0.1, 0.1, 0.99);
    assert.ok(catchProbability(0.1, 0.1, n) >= 0.99 && catchProbability(0.1, 0.1, n - 1) < 0.99);
    assert.equal(claimsToCatch(0, 0.1, 0.99), Infinity);
    assert.throws(() => catchProbability(1.5, 0.1, 3), { code: 'E_BAD_ARGUMENT' });
    assert.equal(shouldSpotCheck(0.25, 0.1), true);
    assert.equal(shouldSpotCheck(0.25, 0.3), false);
  });

  it('a seeded field source is reproducible (for benchmarks), and uniform enough to be sound in tests', () => {
    const a = seededFieldRandom(seededRandom(5));
    const b = seededFieldRandom(seededRandom(5));
    for (let i = 0; i < 100; i++) assert.equal(a(), b());
  });
});
