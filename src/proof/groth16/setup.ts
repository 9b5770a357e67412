/**
 * The Groth16 setup, for development: not a ceremony. Phase 1 (powers of tau) and phase 2 (the
 * circuit's proving key) are each made here from one contribution of crypto-random toxic waste,
 * which is dropped when the step ends; anyone who kept it could forge proofs, so a production
 * deployment needs a multi-party ceremony's phase 1 (e.g. the Hermez/perpetual powers of tau,
 * truncated) and a phase 2 with more than one contributor. docs/groth16-circuits.md, "Setup".
 *
 * Everything is cached under the cache dir (default `.maxwell/proof/`):
 *   ptau/pot<power>.ptau                       prepared phase 1 for circuits of ≤ 2^power constraints
 *   circuits/<hash>/p<power>.zkey, .vkey.json  the circuit's proving and verification keys
 * Each file is written to a temporary name and renamed into place, so a crash or a kill never
 * leaves a half file under a real name; a half temporary is ignored and overwritten next time.
 *
 * Phase 1 is the slow step (snarkjs's own `preparePhase2` alone takes 63 s for 2^12 on the 2-core
 * VM). The default `direct` method draws τ, α, β itself and computes every point of the prepared
 * file as a scalar multiple of the generator, the Lagrange-basis sections included, instead of
 * snarkjs's FFTs over curve points: the same file, several times faster (docs: measured times).
 * `snarkjs` runs newAccumulator → contribute → preparePhase2, for comparison.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as snarkjs from 'snarkjs';
import { ErrorCode, MaxwellError } from '../../errors.js';
import { assert } from '../../assert.js';
import { FIELD_P } from './poseidon.js';
import type { CompiledCircuit } from './circuit.js';

export const DEFAULT_CACHE_DIR = path.join('.maxwell', 'proof');
/** Smallest and largest phase-1 powers this makes: 2^18 would take well over an hour here. */
export const MIN_POWER = 4;
export const MAX_POWER = 18;

export type PtauMethod = 'direct' | 'snarkjs';
export type Progress = (line: string) => void;

export interface SetupOptions {
  cacheDir?: string;
  /** Make what is missing (default true). False: a missing file is E_SETUP_MISSING. */
  generate?: boolean;
  method?: PtauMethod;
  onProgress?: Progress;
}

export interface CircuitSetup {
  power: number;
  zkeyPath: string;
  vkeyPath: string;
  vkey: snarkjs.VerificationKey;
  /** Seconds spent making what was missing here (0 when all was cached). */
  generatedS: number;
}

const exists = async (p: string) => stat(p).then(() => true, () => false);
const tmpName = (p: string) => `${p}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

function missing(what: string, file: string): MaxwellError {
  return new MaxwellError(ErrorCode.SETUP_MISSING, `${what} has not been generated (${file}): run the setup first (docs/groth16-circuits.md, "Setup")`, { file });
}

/** Writes `file` by `make(tmpPath)` then a rename: the real name only ever holds a whole file. */
async function atomically(file: string, make: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = tmpName(file);
  try {
    await make(tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

function stepper(onProgress: Progress | undefined, what: string) {
  const t0 = performance.now();
  return (step: string) => onProgress?.(`${what}: ${step} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

export function ptauPath(power: number, cacheDir = DEFAULT_CACHE_DIR): string {
  return path.join(cacheDir, 'ptau', `pot${power}.ptau`);
}

function checkPower(power: number): void {
  if (!Number.isInteger(power) || power < MIN_POWER || power > MAX_POWER) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a powers-of-tau power is an integer in [${MIN_POWER}, ${MAX_POWER}], not ${power}`);
  }
}

/** The prepared phase-1 file for 2^power, made (minutes for 2^12 and up) unless cached. */
export async function ensurePtau(power: number, o: SetupOptions = {}): Promise<{ path: string; generatedS: number }> {
  checkPower(power);
  const file = ptauPath(power, o.cacheDir);
  if (await exists(file)) return { path: file, generatedS: 0 };
  if (o.generate === false) throw missing(`the powers of tau for 2^${power}`, file);
  const t0 = performance.now();
  const method = o.method ?? 'direct';
  const step = stepper(o.onProgress, `powers of tau 2^${power} (${method})`);
  step(`generating once, then cached at ${file}${power >= 12 ? '; this takes minutes' : ''}`);
  await atomically(file, async (tmp) => {
    if (method === 'direct') await writeDirectPtau(power, tmp, step);
    else await writeSnarkjsPtau(power, tmp, step);
  });
  step('done');
  return { path: file, generatedS: (performance.now() - t0) / 1000 };
}

/**
 * The circuit's proving key (newZKey on the phase-1 file, then one random contribution) and its
 * exported verification key, for the smallest cached-or-made phase 1 that fits (or `power`).
 */
export async function ensureCircuitSetup(c: CompiledCircuit, o: SetupOptions & { power?: number } = {}): Promise<CircuitSetup> {
  const power = o.power ?? Math.max(c.power, MIN_POWER);
  checkPower(power);
  if (power < c.power) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the circuit needs powers of tau of 2^${c.power} at least (${c.constraints} constraints, ${c.publicSignals} public signals), not 2^${power}`);
  const zkeyPath = path.join(c.dir, `p${power}.zkey`);
  const vkeyPath = path.join(c.dir, `p${power}.vkey.json`);
  let generatedS = 0;
  if (!(await exists(zkeyPath) && await exists(vkeyPath))) {
    if (o.generate === false) throw missing(`the proving key of circuit ${c.hash.slice(0, 12)} for 2^${power}`, zkeyPath);
    const ptau = await ensurePtau(power, o);
    generatedS += ptau.generatedS;
    const t0 = performance.now();
    const step = stepper(o.onProgress, `circuit ${c.hash.slice(0, 12)} keys (${c.constraints} constraints, 2^${power})`);
    const zkey0 = tmpName(zkeyPath);
    try {
      await snarkjs.zKey.newZKey(c.r1csPath, ptau.path, zkey0);
      step('phase 2 initialised');
      await atomically(zkeyPath, (tmp) => snarkjs.zKey.contribute(zkey0, tmp, 'maxwell-dev', randomBytes(32).toString('hex')).then(() => undefined));
      step('contributed');
    } finally {
      await rm(zkey0, { force: true });
    }
    const vkey = await snarkjs.zKey.exportVerificationKey(zkeyPath);
    await atomically(vkeyPath, (tmp) => writeFile(tmp, JSON.stringify(vkey)));
    step('verification key exported');
    generatedS += (performance.now() - t0) / 1000;
  }
  const vkey = JSON.parse(await readFile(vkeyPath, 'utf8')) as snarkjs.VerificationKey;
  return { power, zkeyPath, vkeyPath, vkey, generatedS };
}

// ---------------------------------------------------------------------------------------------
// The curve. snarkjs keeps one multi-threaded BN254 curve in a global; its worker threads keep
// the process alive until the curve is terminated.

interface G {
  oneAffine: Uint8Array;
  g: Uint8Array;
  F: { n8: number };
  timesFr(p: Uint8Array, s: Uint8Array): Uint8Array;
  toRprLEM(buf: Uint8Array, offset: number, p: Uint8Array): void;
  batchApplyKey(buf: Uint8Array, first: Uint8Array, inc: Uint8Array, inType?: string, outType?: string): Promise<Uint8Array>;
}
interface Bn128 extends snarkjs.Curve {
  G1: G;
  G2: G;
  Fr: { e(v: bigint): Uint8Array; w: Uint8Array[]; toObject(v: Uint8Array): bigint; s: number };
  q: bigint;
}

async function curve(): Promise<Bn128> {
  return (await snarkjs.curves.getCurveFromName('bn128')) as Bn128;
}

/** Ends snarkjs's shared curve (its worker threads), if one was built; the next use builds another. */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: snarkjs.Curve | null };
  const c = g.curve_bn128;
  if (c) {
    g.curve_bn128 = null;
    await c.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 1, written directly. The snarkjs prepared-ptau layout ("ptau" v1, 11 sections):
//   1 header: n8 (u32), q (n8 bytes LE), power (u32), ceremony power (u32)
//   2 τ^i·G1, i < 2^(p+1) − 1     3 τ^i·G2, i < 2^p     4 ατ^i·G1     5 βτ^i·G1     6 β·G2
//   7 contributions (u32 count; 0 here: there is no transcript to check, see the file comment)
//   12–15 for every k ≤ p (k ≤ p + 1 for 12): L_i(τ)·G1, L_i(τ)·G2, αL_i(τ)·G1, βL_i(τ)·G1 over the
//   domain of the 2^k-th roots of unity, i < 2^k, k ascending. Points are affine, Montgomery, LE.

const R = FIELD_P;
const modR = (a: bigint) => ((a % R) + R) % R;
function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = modR(b);
  while (e > 0n) {
    if (e & 1n) r = (r * x) % R;
    x = (x * x) % R;
    e >>= 1n;
  }
  return r;
}
const invMod = (a: bigint) => powMod(a, R - 2n);
const randomScalar = (): bigint => {
  for (;;) {
    const v = modR(BigInt('0x' + randomBytes(64).toString('hex')));
    if (v > 1n) return v;
  }
};

/** L_i(τ) for the domain of the n-th roots of unity generated by ω, i < n (batch-inverted). */
function lagrangeAt(tau: bigint, n: number, omega: bigint): bigint[] {
  const c = (powMod(tau, BigInt(n)) - 1n) * invMod(BigInt(n)) % R; // (τ^n − 1)/n
  const wi: bigint[] = new Array(n);
  const den: bigint[] = new Array(n);
  let w = 1n;
  for (let i = 0; i < n; i++) {
    wi[i] = w;
    den[i] = modR(tau - w);
    assert(den[i] !== 0n, 'τ is not a root of unity (the draw is redrawn before this)');
    w = (w * omega) % R;
  }
  // Montgomery's batch inversion: one modular inverse for all n denominators.
  const prefix: bigint[] = new Array(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) { prefix[i] = acc; acc = (acc * den[i]!) % R; }
  let inv = invMod(acc);
  const out: bigint[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const invI = (inv * prefix[i]!) % R;
    inv = (inv * den[i]!) % R;
    out[i] = (((c * wi[i]!) % R) * invI) % R;
  }
  return out;
}

async function writeDirectPtau(power: number, file: string, step: (s: string) => void): Promise<void> {
  const c = await curve();
  const { G1, G2, Fr } = c;
  let tau = randomScalar();
  while (powMod(tau, 1n << BigInt(power + 1)) === 1n) tau = randomScalar();
  const alpha = randomScalar();
  const beta = randomScalar();
  const fd = await open(file, 'w');
  try {
    const sections = 11;
    const head = Buffer.alloc(12);
    head.write('ptau', 0, 'latin1');
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(sections, 8);
    await fd.write(head);
    const section = async (id: number, body: Uint8Array) => {
      const h = Buffer.alloc(12);
      h.writeUInt32LE(id, 0);
      h.writeBigUInt64LE(BigInt(body.length), 4);
      await fd.write(h);
      await fd.write(body);
    };
    const n8q = 32;
    const header = Buffer.alloc(4 + n8q + 8);
    header.writeUInt32LE(n8q, 0);
    let q = c.q;
    for (let i = 0; i < n8q; i++) { header[4 + i] = Number(q & 0xffn); q >>= 8n; }
    header.writeUInt32LE(power, 4 + n8q);
    header.writeUInt32LE(power, 8 + n8q);
    await section(1, header);

    // Geometric sections: snarkjs's multi-threaded batchApplyKey (point i times first·inc^i).
    const geometric = async (g: G, count: number, first: bigint, inc: bigint) => {
      const size = g.F.n8 * 2;
      const buf = new Uint8Array(count * size);
      for (let i = 0; i < count; i++) buf.set(g.oneAffine, i * size);
      return g.batchApplyKey(buf, Fr.e(first), Fr.e(inc), 'affine', 'affine');
    };
    const n = 2 ** power;
    await section(2, await geometric(G1, 2 * n - 1, 1n, tau));
    step('τ·G1');
    await section(3, await geometric(G2, n, 1n, tau));
    step('τ·G2');
    await section(4, await geometric(G1, n, alpha, tau));
    await section(5, await geometric(G1, n, beta, tau));
    step('ατ·G1, βτ·G1');
    const betaG2 = new Uint8Array(G2.F.n8 * 2);
    G2.toRprLEM(betaG2, 0, G2.timesFr(G2.g, Fr.e(beta)));
    await section(6, betaG2);
    await section(7, new Uint8Array(4));

    // Lagrange sections: each point a scalar multiple of the generator (scalars in BigInt).
    const lagrange = async (id: number, g: G, maxK: number, factor: bigint, label: string) => {
      const size = g.F.n8 * 2;
      const body = new Uint8Array((2 ** (maxK + 1) - 1) * size);
      let at = 0;
      for (let k = 0; k <= maxK; k++) {
        const m = 2 ** k;
        const l = lagrangeAt(tau, m, Fr.toObject(Fr.w[k]!));
        for (let i = 0; i < m; i++) {
          g.toRprLEM(body, at, g.timesFr(g.g, Fr.e((l[i]! * factor) % R)));
          at += size;
        }
      }
      assert(at === body.length, 'every Lagrange point written');
      await section(id, body);
      step(label);
    };
    await lagrange(12, G1, power + 1, 1n, 'Lagrange τ·G1');
    await lagrange(13, G2, power, 1n, 'Lagrange τ·G2');
    await lagrange(14, G1, power, alpha, 'Lagrange ατ·G1');
    await lagrange(15, G1, power, beta, 'Lagrange βτ·G1');
  } finally {
    await fd.close();
  }
}

async function writeSnarkjsPtau(power: number, file: string, step: (s: string) => void): Promise<void> {
  const c = await curve();
  const t0 = `${file}.0`;
  const t1 = `${file}.1`;
  try {
    await snarkjs.powersOfTau.newAccumulator(c, power, t0);
    step('new accumulator');
    await snarkjs.powersOfTau.contribute(t0, t1, 'maxwell-dev', randomBytes(32).toString('hex'));
    step('contributed');
    await snarkjs.powersOfTau.preparePhase2(t1, file);
    step('prepared for phase 2');
  } finally {
    await rm(t0, { force: true });
    await rm(t1, { force: true });
  }
}
