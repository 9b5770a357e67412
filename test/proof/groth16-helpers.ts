// Shared by the Groth16 circuit and prover tests (no tests here): seeded layers and inputs, and
// model.ts's own answer for a layer, the reference every circuit output is compared with.
import { runModel, requantise, type DenseLayer, type Model, type Requant } from '../../src/proof/model.js';
import { seededRandom } from '../../src/market/random.js';

export function randomLayer(seed: number, inputs: number, outputs: number, requant?: Requant, biasRange = 4096): DenseLayer {
  const rand = seededRandom(seed);
  const weights = Int8Array.from({ length: inputs * outputs }, () => Math.floor(rand() * 256) - 128);
  const bias = Int32Array.from({ length: outputs }, () => Math.floor(rand() * 2 * biasRange) - biasRange);
  return { inputs, outputs, weights, bias, ...(requant ? { requant } : {}) };
}

export function randomInput(seed: number, n: number): Int8Array {
  const rand = seededRandom(seed);
  return Int8Array.from({ length: n }, () => Math.floor(rand() * 256) - 128);
}

/** model.ts's answer for one layer: activations (requantised) or accumulators, outputs × batch. */
export function expected(l: DenseLayer, x: Int8Array, batch: number): number[] {
  // runModel wants a model whose last layer classifies: a requantising layer gets a dummy tail.
  const tail: DenseLayer = { inputs: l.outputs, outputs: 2, weights: new Int8Array(2 * l.outputs), bias: new Int32Array(2) };
  const m: Model = { name: 't', layers: l.requant ? [l, tail] : [l], logitScale: 1 };
  return Array.from(runModel(m, x, batch)[0]!, (a) => (l.requant ? requantise(a, l.requant) : a));
}
