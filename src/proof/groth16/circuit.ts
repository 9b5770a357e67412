/**
 * Circuits for one chunk of a quantised dense layer (circuits/maxwell_dense.circom's templates,
 * wired by a generated main), their planning, and their compilation with circom2 into a cache.
 *
 * A chunk is rows [r0, r0+R) × columns [c0, c0+C) of the layer's weights over a batch of B samples:
 *   - the chunk holding column 0 adds the bias; one holding later columns continues the partial
 *     sums its predecessor made public (`accIn`, public inputs);
 *   - the chunk holding the last column requantises (`requant`: clamp((acc·M + 2^(S−1)) >> S, lo, hi))
 *     or, on the last layer, states the accumulators themselves (`logits`); others state their
 *     partial sums (`partial`).
 * Weights are `private` (witnesses, range-checked, bound by a public Poseidon commitment) or
 * `public` (constants written into the circuit source: the verification key binds them).
 *
 * Public signals, in order: out[R][B], commitment (private only), accIn[R][B] (unless the chunk
 * holds column 0), x[C][B]. Every x is int8: the verifier range-checks them when it builds the
 * public signals (prover.ts `publicSignalsFor`), not the circuit.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MaxwellError } from '../../errors.js';
import { assert } from '../../assert.js';
import type { DenseLayer, Requant } from '../model.js';
import { chainWidth, elementCount } from './commitment.js';
import { trimmedConstantsCircom } from './poseidon.js';
import { DEFAULT_CACHE_DIR, MAX_POWER, type Progress } from './setup.js';

export type WeightsMode = 'private' | 'public';
export type OutputMode = 'partial' | 'requant' | 'logits';

/** Limits: a batch per proof, and a chunk's size (a chunk past 2^MAX_POWER cannot be set up). */
export const MAX_BATCH = 256;
export const MAX_CHUNK_WEIGHTS = 1 << 17;
/** circom2 on a 16k-constraint chunk takes ~20 s here; past this something is wrong. */
export const COMPILE_TIMEOUT_MS = 10 * 60_000;

export interface ChunkSpec {
  layerInputs: number;
  layerOutputs: number;
  rowStart: number;
  rows: number;
  colStart: number;
  cols: number;
  batch: number;
  weights: WeightsMode;
  mode: OutputMode;
  /** mode 'requant': the layer's requantisation and W, the bits of the decomposed z (zBitsFor). */
  requant?: Requant;
  zBits?: number;
  /** weights 'public': the chunk's weights (rows × cols, row-major) and, if colStart = 0, bias. */
  constants?: { weights: Int8Array; bias?: Int32Array };
}

export interface CompiledCircuit {
  hash: string;
  dir: string;
  r1csPath: string;
  wasmPath: string;
  constraints: number;
  /** Public outputs + public inputs (what the verifier supplies). */
  publicSignals: number;
  /** The smallest powers of tau that fit: 2^power ≥ constraints + public signals + 1. */
  power: number;
  compileMs: number;
}

const bad = (why: string) => new MaxwellError(ErrorCode.MODEL_INVALID, why);
const badArg = (why: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, why);

const bitLength = (v: bigint): number => (v <= 0n ? 0 : v.toString(2).length);

/** Checks a layer's shapes and ranges (the parts checkModel checks per layer). */
export function checkLayer(l: DenseLayer): void {
  for (const [k, v] of [['inputs', l.inputs], ['outputs', l.outputs]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 65_536) throw bad(`a layer's ${k} is an integer in [1, 65536], not ${v}`);
  }
  if (!(l.weights instanceof Int8Array) || l.weights.length !== l.inputs * l.outputs) throw bad(`weights must be an Int8Array of outputs × inputs = ${l.inputs * l.outputs}`);
  if (!(l.bias instanceof Int32Array) || l.bias.length !== l.outputs) throw bad(`bias must be an Int32Array of ${l.outputs}`);
  const r = l.requant;
  if (r !== undefined) {
    if (!Number.isInteger(r.multiplier) || r.multiplier < 1 || r.multiplier >= 2 ** 31) throw bad('the multiplier must be an integer in [1, 2^31)');
    if (!Number.isInteger(r.shift) || r.shift < 1 || r.shift > 62) throw bad('the shift must be an integer in [1, 62]');
    if (!Number.isInteger(r.lo) || !Number.isInteger(r.hi) || r.lo > r.hi || r.lo < -128 || r.hi > 127) throw bad('the activation range must be integers within int8, lo ≤ hi');
  }
}

/** max over rows of Σ|w|·128 + |b|: no accumulator of int8 inputs exceeds it in magnitude. */
export function accBound(l: DenseLayer): number {
  let best = 0;
  for (let i = 0; i < l.outputs; i++) {
    let s = Math.abs(l.bias[i]!);
    for (let j = 0; j < l.inputs; j++) s += Math.abs(l.weights[i * l.inputs + j]!) * 128;
    best = Math.max(best, s);
  }
  return best;
}

/**
 * W for the requantisation gadget: |acc·M + 2^(S−1)| < 2^(W−1) for every accumulator the layer can
 * make, and W ≥ S + 8 (the gadget reads 8 bits above the shift). Computed from the weights, so a
 * private-weights circuit reveals this one number about them (≈ log2 of the largest row's L1 norm).
 */
export function zBitsFor(l: DenseLayer): number {
  const r = l.requant;
  if (r === undefined) throw bad('only a requantising layer has a rescale gadget');
  const zMax = BigInt(accBound(l)) * BigInt(r.multiplier) + (1n << BigInt(r.shift - 1));
  return Math.max(bitLength(zMax) + 1, r.shift + 8);
}

/** The spec of one chunk of `l` (constants copied out of the layer when weights are public). */
export function chunkSpec(l: DenseLayer, o: { rowStart: number; rows: number; colStart: number; cols: number; batch: number; weights: WeightsMode; zBits?: number }): ChunkSpec {
  checkLayer(l);
  const { rowStart, rows, colStart, cols, batch } = o;
  if (![rowStart, rows, colStart, cols].every(Number.isInteger) || rows < 1 || cols < 1 || rowStart < 0 || colStart < 0 || rowStart + rows > l.outputs || colStart + cols > l.inputs) {
    throw badArg(`rows [${rowStart}, ${rowStart + rows}) × columns [${colStart}, ${colStart + cols}) are not a chunk of a ${l.outputs}×${l.inputs} layer`);
  }
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) throw badArg(`a batch is an integer in [1, ${MAX_BATCH}], not ${batch}`);
  if (rows * cols > MAX_CHUNK_WEIGHTS) throw badArg(`a chunk holds at most ${MAX_CHUNK_WEIGHTS} weights, not ${rows * cols}`);
  if (o.weights !== 'private' && o.weights !== 'public') throw badArg(`weights are 'private' or 'public', not ${String(o.weights)}`);
  const last = colStart + cols === l.inputs;
  const mode: OutputMode = !last ? 'partial' : l.requant ? 'requant' : 'logits';
  const spec: ChunkSpec = { layerInputs: l.inputs, layerOutputs: l.outputs, rowStart, rows, colStart, cols, batch, weights: o.weights, mode };
  if (mode === 'requant') {
    const need = zBitsFor(l);
    const z = o.zBits ?? need;
    if (!Number.isInteger(z) || z < need || z > 200) throw badArg(`zBits must be an integer in [${need}, 200] for this layer, not ${z}`);
    spec.requant = { ...l.requant! };
    spec.zBits = z;
  }
  if (o.weights === 'public') {
    const w = new Int8Array(rows * cols);
    for (let i = 0; i < rows; i++) w.set(l.weights.subarray((rowStart + i) * l.inputs + colStart, (rowStart + i) * l.inputs + colStart + cols), i * cols);
    spec.constants = { weights: w, ...(colStart === 0 ? { bias: l.bias.slice(rowStart, rowStart + rows) } : {}) };
  }
  return spec;
}

const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
const poseidonCost = (t: number) => 3 * (8 * t + N_ROUNDS_P[t - 2]!);

/** Constraints of one requantisation (exact for the gadget in circuits/maxwell_dense.circom). */
export function requantConstraints(zBits: number, r: Requant): number {
  const k = zBits - r.shift - 8;
  let n = zBits;
  if (r.lo >= 0) {
    n += k > 0 ? 4 : 1;
    if (r.lo > 0) n += 9;
    if (r.hi < 127) n += 9;
  } else {
    n += k > 0 ? 4 : 0;
    if (r.lo > -128) n += 10;
    if (r.hi < 127) n += 10;
  }
  return n;
}

/** Constraints of the commitment to rows × cols weights and `biases` biases (an upper bound: -O2 folds a few). */
export function commitmentConstraints(rows: number, cols: number, biases: number): number {
  const n = elementCount(rows, cols, biases);
  const hash = n <= 16 ? poseidonCost(n + 1) : Math.ceil(n / 16) * poseidonCost(17);
  return 8 * rows * cols + 32 * biases + hash;
}

/** The number of public signals of a chunk's circuit. */
export function publicSignalCount(s: Pick<ChunkSpec, 'rows' | 'cols' | 'batch' | 'weights' | 'colStart'>): number {
  return s.rows * s.batch + (s.weights === 'private' ? 1 : 0) + (s.colStart > 0 ? s.rows * s.batch : 0) + s.cols * s.batch;
}

/** Estimated constraints of a chunk's circuit (an upper bound within a few per cent). */
export function estimateConstraints(s: ChunkSpec): number {
  const outs = s.rows * s.batch;
  let n = 0;
  if (s.weights === 'private') n += s.rows * s.cols * s.batch + commitmentConstraints(s.rows, s.cols, s.colStart === 0 ? s.rows : 0);
  else if (s.mode !== 'requant') n += outs; // each stated sum is one (linear) constraint on an output
  if (s.mode === 'requant') n += outs * requantConstraints(s.zBits!, s.requant!);
  return n;
}

/** log2 of the smallest domain snarkjs uses for this many constraints and public signals. */
export function powerFor(constraints: number, publicSignals: number): number {
  return Math.max(1, Math.ceil(Math.log2(constraints + publicSignals + 1)));
}

export interface PlanOptions {
  batch: number;
  weights: WeightsMode;
  /** Every chunk fits a setup of 2^power (constraints + public signals + 1 ≤ 2^power). */
  power: number;
}

/**
 * Chunks covering the layer, each fitting 2^power: the fewest chunks (then the fewest distinct
 * circuits, each of which needs its own setup), columns split only when a single row does not fit.
 * Chunks are listed row group by row group, columns ascending within one (the order partial sums
 * flow and the order of the layer's commitments).
 */
export function planLayer(l: DenseLayer, o: PlanOptions): ChunkSpec[] {
  checkLayer(l);
  if (!Number.isInteger(o.power) || o.power < 4 || o.power > MAX_POWER) throw badArg(`a plan's power is an integer in [4, ${MAX_POWER}], not ${o.power}`);
  const budget = 2 ** o.power;
  const zBits = l.requant ? zBitsFor(l) : undefined;
  const fits = (rows: number, cols: number, colStart: number, last: boolean) => {
    const s: ChunkSpec = {
      layerInputs: l.inputs, layerOutputs: l.outputs, rowStart: 0, rows, colStart, cols, batch: o.batch, weights: o.weights,
      mode: !last ? 'partial' : l.requant ? 'requant' : 'logits', ...(last && l.requant ? { requant: l.requant, zBits } : {}),
    };
    return estimateConstraints(s) + publicSignalCount(s) + 1 <= budget;
  };
  let best: { rows: number; cols: number; chunks: number; circuits: number } | undefined;
  for (let k = 1; k <= l.inputs; k++) {
    const cols = Math.ceil(l.inputs / k);
    const colChunks = Math.ceil(l.inputs / cols);
    const lastCols = l.inputs - (colChunks - 1) * cols;
    // The largest row count for which every kind of column chunk fits (fits is monotone in rows).
    const ok = (rows: number) => fits(rows, cols, 0, colChunks === 1) && (colChunks === 1 || (fits(rows, lastCols, l.inputs - lastCols, true) && (colChunks === 2 || fits(rows, cols, cols, false))));
    if (!ok(1)) continue;
    let lo = 1;
    let hi = l.outputs;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (ok(mid)) lo = mid; else hi = mid - 1;
    }
    const rows = lo;
    const rowChunks = Math.ceil(l.outputs / rows);
    const chunks = rowChunks * colChunks;
    const rowKinds = l.outputs % rows === 0 ? 1 : 2;
    const colKinds = colChunks === 1 ? 1 : colChunks === 2 ? 2 : 3;
    const circuits = o.weights === 'public' ? chunks : rowKinds * colKinds;
    if (best === undefined || chunks < best.chunks || (chunks === best.chunks && circuits < best.circuits)) best = { rows, cols, chunks, circuits };
    if (colChunks === 1 && rows === l.outputs) break;
  }
  if (best === undefined) throw badArg(`no chunk of this ${l.outputs}×${l.inputs} layer fits 2^${o.power} (batch ${o.batch}): use a larger power or a smaller batch`);
  const out: ChunkSpec[] = [];
  for (let r0 = 0; r0 < l.outputs; r0 += best.rows) {
    for (let c0 = 0; c0 < l.inputs; c0 += best.cols) {
      out.push(chunkSpec(l, { rowStart: r0, rows: Math.min(best.rows, l.outputs - r0), colStart: c0, cols: Math.min(best.cols, l.inputs - c0), batch: o.batch, weights: o.weights, ...(zBits !== undefined ? { zBits } : {}) }));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Source generation.

/** The repository root (this file is dist/src/proof/groth16/circuit.js once compiled). */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const LIBRARY = path.join(REPO, 'circuits', 'maxwell_dense.circom');
/** The repo's fixed circuits (mains), and where the build compiles them (scripts/build-circuits.js). */
export const EXAMPLES_DIR = path.join(REPO, 'circuits', 'examples');
export const BUILD_DIR = path.join(REPO, 'circuits', 'build');

async function libraryText(): Promise<string> {
  try {
    return await readFile(LIBRARY, 'utf8');
  } catch {
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `the circuit library ${LIBRARY} is missing`);
  }
}

/** The Poseidon widths a chunk's commitment uses (none for public weights). */
export function poseidonWidths(s: ChunkSpec): number[] {
  return s.weights === 'private' ? [chainWidth(elementCount(s.rows, s.cols, s.colStart === 0 ? s.rows : 0))] : [];
}

function requantArgs(s: ChunkSpec): string {
  const r = s.requant!;
  return `${s.zBits}, ${r.shift}, ${r.multiplier}, ${r.lo}, ${r.hi}`;
}

/** The circom main for a chunk. For private weights it depends only on the chunk's shape and rescale. */
export function circuitSource(s: ChunkSpec): string {
  const { rows: R, cols: C, batch: B } = s;
  const first = s.colStart === 0;
  const L: string[] = [
    'pragma circom 2.1.0;',
    `// Generated by src/proof/groth16/circuit.ts: ${s.weights} weights, ${R}×${C} chunk, batch ${B}, ${s.mode}${s.weights === 'public' ? `, rows ${s.rowStart}.., columns ${s.colStart}.. of a ${s.layerOutputs}×${s.layerInputs} layer` : ''}.`,
  ];
  if (s.weights === 'private') L.push(`// poseidon widths: ${poseidonWidths(s).join(', ')}`);
  L.push('include "maxwell_dense.circom";', '', 'template Main() {');
  if (s.weights === 'private') {
    L.push(`    signal input w[${R}][${C}];`);
    if (first) L.push(`    signal input b[${R}];`);
  }
  if (!first) L.push(`    signal input accIn[${R}][${B}];`);
  L.push(`    signal input x[${C}][${B}];`, `    signal output out[${R}][${B}];`);
  if (s.weights === 'private') {
    L.push(
      '    signal output commitment;',
      '',
      `    component commit = PackedCommitment(${R}, ${C}, ${first ? R : 0});`,
      `    for (var i = 0; i < ${R}; i++) for (var j = 0; j < ${C}; j++) commit.w[i][j] <== w[i][j];`,
    );
    if (first) L.push(`    for (var i = 0; i < ${R}; i++) commit.b[i] <== b[i];`);
    L.push(
      '    commitment <== commit.out;',
      '',
      `    component macs = DenseMacs(${R}, ${C}, ${B});`,
      `    for (var i = 0; i < ${R}; i++) for (var j = 0; j < ${C}; j++) macs.w[i][j] <== w[i][j];`,
      `    for (var j = 0; j < ${C}; j++) for (var k = 0; k < ${B}; k++) macs.x[j][k] <== x[j][k];`,
      `    for (var i = 0; i < ${R}; i++) for (var k = 0; k < ${B}; k++) macs.accIn[i][k] <== ${first ? 'b[i]' : 'accIn[i][k]'};`,
    );
    if (s.mode === 'requant') {
      L.push(
        `    component rq[${R}][${B}];`,
        `    for (var i = 0; i < ${R}; i++) for (var k = 0; k < ${B}; k++) {`,
        `        rq[i][k] = Requant(${requantArgs(s)});`,
        '        rq[i][k].acc <== macs.acc[i][k];',
        '        out[i][k] <== rq[i][k].y;',
        '    }',
      );
    } else {
      L.push(`    for (var i = 0; i < ${R}; i++) for (var k = 0; k < ${B}; k++) out[i][k] <== macs.acc[i][k];`);
    }
  } else {
    const k = s.constants;
    assert(k !== undefined && k.weights.length === R * C && (k.bias !== undefined) === first, 'public chunks carry their constants');
    if (s.mode === 'requant') L.push(`    component rq[${R}][${B}];`);
    for (let i = 0; i < R; i++) {
      // The row's sum is linear in x: the weights are constants, so it costs no constraint.
      const terms: string[] = [first ? String(k.bias![i]) : 'accIn[' + i + '][k]'];
      for (let j = 0; j < C; j++) {
        const w = k.weights[i * C + j]!;
        if (w !== 0) terms.push(`${w}*x[${j}][k]`);
      }
      const sum = terms.join(' + ').replace(/\+ -/g, '- ');
      L.push(`    for (var k = 0; k < ${B}; k++) {`);
      if (s.mode === 'requant') {
        L.push(`        rq[${i}][k] = Requant(${requantArgs(s)});`, `        rq[${i}][k].acc <== ${sum};`, `        out[${i}][k] <== rq[${i}][k].y;`);
      } else {
        L.push(`        out[${i}][k] <== ${sum};`);
      }
      L.push('    }');
    }
  }
  L.push('}', '', `component main {public [${first ? '' : 'accIn, '}x]} = Main();`, '');
  return L.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Compilation.

const require = createRequire(import.meta.url);
let toolVersions: string | undefined;
async function versions(): Promise<string> {
  if (toolVersions === undefined) {
    const v = async (pkg: string) => (JSON.parse(await readFile(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
    toolVersions = `circom2@${await v('circom2')} circomlib@${await v('circomlib')}`;
  }
  return toolVersions;
}

const FLAGS = ['--r1cs', '--wasm', '--O2'];

/** The r1cs header: constraints and public signal counts. */
export async function readR1csInfo(file: string): Promise<{ constraints: number; publicOutputs: number; publicInputs: number; wires: number }> {
  const b = await readFile(file);
  if (b.toString('latin1', 0, 4) !== 'r1cs') throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `${file} is not an r1cs file`);
  const sections = b.readUInt32LE(8);
  let at = 12;
  for (let i = 0; i < sections; i++) {
    const id = b.readUInt32LE(at);
    const size = Number(b.readBigUInt64LE(at + 4));
    if (id === 1) {
      const h = at + 12;
      const n8 = b.readUInt32LE(h);
      const p = h + 4 + n8;
      return { wires: b.readUInt32LE(p), publicOutputs: b.readUInt32LE(p + 4), publicInputs: b.readUInt32LE(p + 8), constraints: b.readUInt32LE(p + 24) };
    }
    at += 12 + size;
  }
  throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `${file} has no r1cs header`);
}

export interface CompileOptions {
  cacheDir?: string;
  onProgress?: Progress;
}

/** Compiles (or finds cached) a chunk's circuit. */
export async function compileCircuit(s: ChunkSpec, o: CompileOptions = {}): Promise<CompiledCircuit> {
  return compileSource(circuitSource(s), poseidonWidths(s), o);
}

/**
 * Compiles a main that includes maxwell_dense.circom, into <cacheDir>/circuits/<hash>/ (hash over
 * the main, the library, the tool versions and flags). circom2 runs as a child process in a staging
 * directory holding everything it includes (its WASI sandbox follows neither `..` nor symlinks), with
 * circomlib's Poseidon constants trimmed to the widths used; the staging directory is renamed into
 * place when the compile succeeds.
 */
export async function compileSource(main: string, widths: number[], o: CompileOptions = {}): Promise<CompiledCircuit> {
  const cacheDir = o.cacheDir ?? DEFAULT_CACHE_DIR;
  const lib = await libraryText();
  const ws = [...new Set(widths.length > 0 ? widths : [2])].sort((a, b) => a - b);
  const hash = createHash('sha256').update(`maxwell-circuit-v1\0${await versions()}\0${FLAGS.join(' ')}\0${ws.join(',')}\0`).update(lib).update('\0').update(main).digest('hex');
  const root = path.join(cacheDir, 'circuits');
  const dir = path.join(root, hash);
  const t0 = performance.now();
  if (!(await stat(path.join(dir, 'info.json')).then(() => true, () => false))) {
    const stage = path.join(root, `.stage-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await writeStage(stage, lib, main, ws);
      o.onProgress?.(`circuit ${hash.slice(0, 12)}: compiling with circom2`);
      await runCircom(stage);
      const job = path.join(stage, 'job');
      const info = await readR1csInfo(path.join(job, 'main.r1cs'));
      const publicSignals = info.publicOutputs + info.publicInputs;
      await writeFile(path.join(job, 'info.json'), JSON.stringify({ ...info, publicSignals, power: powerFor(info.constraints, publicSignals), compileMs: performance.now() - t0 }));
      await rename(job, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another process compiled the same circuit meanwhile: theirs is as good as ours.
        if (!(await stat(path.join(dir, 'info.json')).then(() => true, () => false))) throw e;
      });
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
  const info = JSON.parse(await readFile(path.join(dir, 'info.json'), 'utf8')) as { constraints: number; publicSignals: number; power: number; compileMs: number };
  return {
    hash, dir, r1csPath: path.join(dir, 'main.r1cs'), wasmPath: path.join(dir, 'main_js', 'main.wasm'),
    constraints: info.constraints, publicSignals: info.publicSignals, power: info.power, compileMs: info.compileMs,
  };
}

async function writeStage(stage: string, lib: string, main: string, widths: number[]): Promise<void> {
  const circomlib = path.dirname(require.resolve('circomlib/circuits/poseidon.circom'));
  const libDir = path.join(stage, 'lib');
  const out = path.join(libDir, 'circomlib', 'circuits');
  await mkdir(out, { recursive: true });
  await mkdir(path.join(stage, 'job'), { recursive: true });
  for (const f of await readdir(circomlib)) {
    if (!f.endsWith('.circom') || f === 'poseidon_constants.circom' || f === 'poseidon_constants_old.circom') continue;
    await copyFile(path.join(circomlib, f), path.join(out, f));
  }
  await writeFile(path.join(out, 'poseidon_constants.circom'), trimmedConstantsCircom(widths));
  await writeFile(path.join(libDir, 'maxwell_dense.circom'), lib);
  await writeFile(path.join(stage, 'job', 'main.circom'), main);
}

function runCircom(stage: string): Promise<void> {
  const cli = require.resolve('circom2/cli.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, 'job/main.circom', ...FLAGS, '-l', 'lib', '-o', 'job'], { cwd: stage, timeout: COMPILE_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      // circom2 prints errors on stdout, with ANSI colours.
      const text = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
      if (err !== null || !/Everything went okay/.test(text)) {
        reject(new MaxwellError(ErrorCode.INTERNAL, `circom2 failed to compile a generated circuit: ${text.trim().split('\n').slice(-12).join('\n')}`));
      } else {
        resolve();
      }
    });
  });
}

/**
 * The specs of the repo's fixed circuits in circuits/examples/ (each file is `circuitSource` of its
 * spec; a test holds them equal). dense_private_8x4: any 8 → 4 int8 layer with an int32 bias and a
 * ReLU rescale by 2^8 (zBits 33 covers every such layer), private weights, one sample.
 */
export const EXAMPLES: Record<string, ChunkSpec> = {
  dense_private_8x4: {
    layerInputs: 8, layerOutputs: 4, rowStart: 0, rows: 4, colStart: 0, cols: 8, batch: 1,
    weights: 'private', mode: 'requant', requant: { multiplier: 1, shift: 8, lo: 0, hi: 127 }, zBits: 33,
  },
};

/** A main's Poseidon widths, as its header comment states them (`// poseidon widths: 5, 17`). */
function statedWidths(main: string): number[] {
  const m = /^\/\/ poseidon widths: ([\d, ]*)$/m.exec(main);
  return m === null ? [] : m[1]!.split(',').map((v) => Number(v.trim())).filter((v) => v > 0);
}

/** Compiles one of the repo's fixed circuits (circuits/examples/<name>.circom), by default into circuits/build/. */
export async function compileExample(name: string, o: CompileOptions = {}): Promise<CompiledCircuit> {
  if (!/^[a-z0-9_]+$/.test(name)) throw badArg(`an example circuit's name is [a-z0-9_]+, not ${name}`);
  let main: string;
  try {
    main = await readFile(path.join(EXAMPLES_DIR, `${name}.circom`), 'utf8');
  } catch {
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `no example circuit ${name} in ${EXAMPLES_DIR}`);
  }
  return compileSource(main, statedWidths(main), { cacheDir: BUILD_DIR, ...o });
}
