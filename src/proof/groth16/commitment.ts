/**
 * The commitment to a chunk of a layer's private parameters, computed outside any circuit: the
 * TS twin of `PackedCommitment` in circuits/maxwell_dense.circom (the tests hold the two equal).
 *
 *   elements = [header(R, C, NB), Σ (w_i + 128)·256^i over 31 weights each…, Σ (b_i + 2^31)·2^(32i) over 7 biases each…]
 *   commitment = Poseidon(elements)                                  (≤ 16 elements)
 *              = h_k, h_0 = 0, h_{j+1} = PoseidonEx16(block_j; capacity h_j)   (more; last block zero-padded)
 *
 * Weights are the chunk's R×C block, row-major; the bias (R entries) is present only in the chunk
 * that holds column 0 (NB = R there, 0 elsewhere). Which chunk sits where in the layer is not in
 * the commitment: the model's list of chunk commitments, in plan order, fixes that.
 */
import { ErrorCode, MaxwellError } from '../../errors.js';
import { assert } from '../../assert.js';
import { poseidonEx } from './poseidon.js';

export const COMMITMENT_TAG = 1836607281n; // 'mxg1'
const WEIGHTS_PER_ELEMENT = 31;
const BIASES_PER_ELEMENT = 7;
const RATE = 16;

export function commitmentHeader(rows: number, cols: number, biases: number): bigint {
  return COMMITMENT_TAG + (BigInt(rows) << 64n) + (BigInt(cols) << 96n) + (BigInt(biases) << 128n);
}

/** The field elements the commitment hashes, header first. */
export function commitmentElements(rows: number, cols: number, weights: Int8Array, bias?: Int32Array): bigint[] {
  if (weights.length !== rows * cols) throw new MaxwellError(ErrorCode.MODEL_INVALID, `a ${rows}×${cols} chunk has ${rows * cols} weights, not ${weights.length}`);
  if (bias !== undefined && bias.length !== rows) throw new MaxwellError(ErrorCode.MODEL_INVALID, `a chunk of ${rows} rows has ${rows} biases, not ${bias.length}`);
  const nb = bias?.length ?? 0;
  const out: bigint[] = [commitmentHeader(rows, cols, nb)];
  for (let i = 0; i < weights.length; i += WEIGHTS_PER_ELEMENT) {
    let e = 0n;
    for (let k = Math.min(weights.length, i + WEIGHTS_PER_ELEMENT) - 1; k >= i; k--) e = (e << 8n) + BigInt(weights[k]! + 128);
    out.push(e);
  }
  if (bias !== undefined) {
    for (let i = 0; i < bias.length; i += BIASES_PER_ELEMENT) {
      let e = 0n;
      for (let k = Math.min(bias.length, i + BIASES_PER_ELEMENT) - 1; k >= i; k--) e = (e << 32n) + BigInt(bias[k]!) + (1n << 31n);
      out.push(e);
    }
  }
  return out;
}

/** Poseidon over any number of elements, as `PoseidonChain` in the circuit. */
export function poseidonChain(elements: readonly bigint[]): bigint {
  assert(elements.length > 0, 'something to hash');
  if (elements.length <= RATE) return poseidonEx(elements, 0n);
  let h = 0n;
  for (let i = 0; i < elements.length; i += RATE) {
    const block = elements.slice(i, i + RATE);
    while (block.length < RATE) block.push(0n);
    h = poseidonEx(block, h);
  }
  return h;
}

/** The Poseidon width (t) the chain uses for this many elements: the circuit needs its constants. */
export function chainWidth(elements: number): number {
  return Math.min(elements, RATE) + 1;
}

export function elementCount(rows: number, cols: number, biases: number): number {
  return 1 + Math.ceil((rows * cols) / WEIGHTS_PER_ELEMENT) + Math.ceil(biases / BIASES_PER_ELEMENT);
}

/** The commitment to one chunk: rows × cols weights (row-major), and the rows' biases if it holds column 0. */
export function commitChunk(rows: number, cols: number, weights: Int8Array, bias?: Int32Array): bigint {
  return poseidonChain(commitmentElements(rows, cols, weights, bias));
}
