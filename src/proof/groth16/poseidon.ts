/**
 * Poseidon over the BN254 scalar field, exactly as circomlib's `PoseidonEx` circuit computes it
 * (the optimised form: round constants C, sparse matrices S, P, MDS matrix M), so that a verifier
 * who holds only a model's weights computes the same commitment as the circuit, without running
 * a circuit. The constants are read from circomlib's own `poseidon_constants.circom` (one source
 * of truth for both sides), parsed lazily per width t.
 *
 * The same parser writes trimmed copies of that file for the compiler: circom parses all 2 MB of
 * it on every compile otherwise (≈2 s of a 3 s compile).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { assert } from '../../assert.js';

/** The BN254 (alt_bn128) scalar field: circom's default prime. */
export const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Widths circomlib provides: t = inputs + 1 ∈ [2, 17]. */
export const MIN_WIDTH = 2;
export const MAX_WIDTH = 17;
const N_ROUNDS_F = 8;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

const FUNCTIONS = ['POSEIDON_C', 'POSEIDON_S', 'POSEIDON_M', 'POSEIDON_P'] as const;
type ConstName = (typeof FUNCTIONS)[number];

let sourceText: string | undefined;
function constantsSource(): string {
  if (sourceText === undefined) {
    const path = createRequire(import.meta.url).resolve('circomlib/circuits/poseidon_constants.circom');
    sourceText = readFileSync(path, 'utf8');
  }
  return sourceText;
}

/** The text of `return <literal>` for function `fn`'s branch `t == width`: a bracketed array literal. */
function literalFor(fn: ConstName, width: number): string {
  const src = constantsSource();
  const start = src.indexOf(`function ${fn}(t)`);
  assert(start >= 0, `circomlib's poseidon constants have ${fn}`);
  const branch = new RegExp(`\\(t\\s*==\\s*${width}\\)\\s*\\{\\s*return`, 'g');
  branch.lastIndex = start;
  const m = branch.exec(src);
  assert(m !== null, `circomlib's ${fn} has a branch for t = ${width}`);
  const open = src.indexOf('[', m.index + m[0].length);
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 0x5b) depth++;
    else if (c === 0x5d && --depth === 0) return src.slice(open, i + 1);
  }
  assert(false, `${fn}(${width}) is a closed array literal`);
}

function parseFlat(lit: string): bigint[] {
  return lit.replace(/[[\]\s]/g, '').split(',').filter((s) => s.length > 0).map((s) => BigInt(s));
}

function parseMatrix(lit: string, t: number): bigint[][] {
  const flat = parseFlat(lit);
  assert(flat.length === t * t, `a ${t}×${t} matrix`);
  return Array.from({ length: t }, (_, i) => flat.slice(i * t, (i + 1) * t));
}

interface Constants {
  t: number;
  roundsP: number;
  C: bigint[];
  S: bigint[];
  M: bigint[][];
  P: bigint[][];
}

const cache = new Map<number, Constants>();
function constants(t: number): Constants {
  assert(Number.isInteger(t) && t >= MIN_WIDTH && t <= MAX_WIDTH, `Poseidon width ${t} in [${MIN_WIDTH}, ${MAX_WIDTH}]`);
  let k = cache.get(t);
  if (k === undefined) {
    const roundsP = N_ROUNDS_P[t - 2]!;
    k = {
      t,
      roundsP,
      C: parseFlat(literalFor('POSEIDON_C', t)),
      S: parseFlat(literalFor('POSEIDON_S', t)),
      M: parseMatrix(literalFor('POSEIDON_M', t), t),
      P: parseMatrix(literalFor('POSEIDON_P', t), t),
    };
    assert(k.C.length === t * N_ROUNDS_F + roundsP, 'round constants per round');
    assert(k.S.length === roundsP * (2 * t - 1), 'sparse matrices per partial round');
    cache.set(t, k);
  }
  return k;
}

const mod = (a: bigint): bigint => a % FIELD_P;
const sigma = (x: bigint): bigint => {
  const x2 = mod(x * x);
  return mod(mod(x2 * x2) * x);
};

/**
 * circomlib's `PoseidonEx(inputs.length, 1)` with `initialState`: out[0]. Inputs are field elements
 * (0 ≤ v < p). `Poseidon(n)` is this with initialState 0.
 */
export function poseidonEx(inputs: readonly bigint[], initialState = 0n): bigint {
  const t = inputs.length + 1;
  const { C, S, M, P, roundsP } = constants(t);
  for (const v of inputs) assert(v >= 0n && v < FIELD_P, 'Poseidon inputs are reduced field elements');
  let s: bigint[] = [initialState, ...inputs];
  const ark = (r: number) => { for (let i = 0; i < t; i++) s[i] = mod(s[i]! + C[r + i]!); };
  const mix = (m: bigint[][]) => {
    const out = new Array<bigint>(t);
    for (let i = 0; i < t; i++) {
      let acc = 0n;
      for (let j = 0; j < t; j++) acc += m[j]![i]! * s[j]!;
      out[i] = mod(acc);
    }
    s = out;
  };
  const half = N_ROUNDS_F / 2;
  ark(0);
  for (let r = 0; r < half - 1; r++) {
    s = s.map(sigma);
    ark((r + 1) * t);
    mix(M);
  }
  s = s.map(sigma);
  ark(half * t);
  mix(P);
  for (let r = 0; r < roundsP; r++) {
    s[0] = mod(sigma(s[0]!) + C[(half + 1) * t + r]!);
    const base = (2 * t - 1) * r;
    let lc = 0n;
    for (let i = 0; i < t; i++) lc += S[base + i]! * s[i]!;
    const s0 = s[0]!;
    for (let i = 1; i < t; i++) s[i] = mod(s[i]! + s0 * S[base + t + i - 1]!);
    s[0] = mod(lc);
  }
  for (let r = 0; r < half - 1; r++) {
    s = s.map(sigma);
    ark((half + 1) * t + roundsP + r * t);
    mix(M);
  }
  s = s.map(sigma);
  let out = 0n;
  for (let j = 0; j < t; j++) out += M[j]![0]! * s[j]!;
  return mod(out);
}

/**
 * A `poseidon_constants.circom` holding only the branches for `widths` (same functions, same
 * numbers, same fallback), for the compiler's include path.
 */
export function trimmedConstantsCircom(widths: readonly number[]): string {
  const ws = [...new Set(widths)].sort((a, b) => a - b);
  assert(ws.length > 0, 'at least one width');
  const fallback: Record<ConstName, string> = { POSEIDON_C: '[0]', POSEIDON_S: '[0]', POSEIDON_M: '[[0]]', POSEIDON_P: '[[0]]' };
  const parts = ['// Trimmed from circomlib/circuits/poseidon_constants.circom by Maxwell (src/proof/groth16/poseidon.ts).', 'pragma circom 2.0.0;', ''];
  for (const fn of FUNCTIONS) {
    parts.push(`function ${fn}(t) {`);
    ws.forEach((w, i) => parts.push(`    ${i === 0 ? 'if' : '} else if'} (t == ${w}) {`, `        return ${literalFor(fn, w)};`));
    parts.push('    } else {', '        assert(0);', `        return ${fallback[fn]};`, '    }', '}', '');
  }
  return parts.join('\n');
}
