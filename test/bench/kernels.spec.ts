// The CPU-bound benchmark kernels (bench/kernels/*.ts, built by
// scripts/build-agents.js to bench/build/*.wasm): interface (no imports,
// `run` and `memory` exported) and results for small n, each recomputed here
// independently in JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';

// dist/test/bench/ -> repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = path.join(ROOT, 'bench', 'build');
const KERNELS = ['fib', 'interp', 'matmul', 'sha256'] as const;
type Kernel = (typeof KERNELS)[number];


function wasmBytes(name: Kernel): Buffer {
  try {
    return readFileSync(path.join(BUILD, `${name}.wasm`));
  } catch (e) {
    throw new Error(`kernel ${name} is not built (run: node scripts/build-agents.js): ${String(e)}`);
  }
}

interface Loaded {
  instance: WebAssembly.Instance;
  run: (n: number) => number;
  memory: WebAssembly.Memory;
  fn: (name: string) => (...args: number[]) => number;
}

/** A fresh instance of a kernel (no imports given: it must need none). */
function load(name: Kernel): Loaded {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(wasmBytes(name))), {});
  const fn = (n: string): ((...args: number[]) => number) => {
    const f = instance.exports[n];
    assert.equal(typeof f, 'function', `${name} exports function ${n}`);
    return f as (...args: number[]) => number;
  };
  return { instance, run: fn('run'), memory: instance.exports['memory'] as WebAssembly.Memory, fn };
}

/** The module's text (binaryen's printer), for structural checks. */
function wasmText(name: Kernel): string {
  const m = binaryen.readBinary(wasmBytes(name));
  try {
    return m.emitText();
  } finally {
    m.dispose();
  }
}

for (const name of KERNELS) {
  test(`${name}: imports nothing, exports run and memory`, () => {
    const mod = new WebAssembly.Module(new Uint8Array(wasmBytes(name)));
    assert.deepEqual(WebAssembly.Module.imports(mod), []);
    const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
    assert.equal(exps.get('run'), 'function');
    assert.equal(exps.get('memory'), 'memory');
  });
}

test('params.json names every kernel with a positive integer n and its time', () => {
  const params = JSON.parse(readFileSync(path.join(ROOT, 'bench', 'kernels', 'params.json'), 'utf8')) as
    Record<string, { n: unknown; ms: unknown }>;
  assert.deepEqual(Object.keys(params).sort(), [...KERNELS]);
  for (const name of KERNELS) {
    const { n, ms } = params[name]!;
    assert.ok(Number.isInteger(n) && (n as number) > 0, `${name}.n = ${String(n)}`);
    assert.ok(typeof ms === 'number' && ms > 0, `${name}.ms = ${String(ms)}`);
  }
  assert.ok((params['matmul']!.n as number) <= 1024);
  assert.ok((params['fib']!.n as number) <= 46); // fib(n) fits an i32
  assert.ok((params['sha256']!.n as number) < 0x200000);
});

// ---- matmul -------------------------------------------------------------

/** The kernel's computation and checksum, redone in JS (see matmul.ts). */
function matmulJs(n: number): number {
  const a = new Float64Array(n * n);
  const b = new Float64Array(n * n);
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      a[i * n + j] = (((i * 7 + j * 3) % 17) - 8) / 8;
      b[i * n + j] = (((i * 5 + j * 11) % 13) - 6) / 4;
    }
  }
  // i-j-k with a scalar accumulator: a different order from the kernel's
  // i-k-j, which must not matter because every value is exact.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
      c[i * n + j] = s;
    }
  }
  const dv = new DataView(new ArrayBuffer(8));
  let h = 0x811c9dc5 | 0;
  for (let p = 0; p < n * n; p++) {
    dv.setFloat64(0, c[p]!, true);
    h = Math.imul(h ^ dv.getUint32(0, true), 0x01000193);
    h = Math.imul(h ^ dv.getUint32(4, true), 0x01000193);
  }
  return h | 0;
}

test('matmul: checksum of C = A x B matches a JS recomputation', () => {
  const { run } = load('matmul');
  for (const n of [0, 1, 2, 3, 7, 16, 33, 64, 100]) {
    assert.equal(run(n), matmulJs(n), `n = ${n}`);
  }
  // A larger n, then smaller ones again on the same instance (the layout
  // depends on n; memory only grows).
  const big = matmulJs(130);
  assert.equal(run(130), big);
  assert.equal(run(5), matmulJs(5));
  assert.equal(run(130), big);
});

test('matmul: n outside 0..1024 traps', () => {
  const { run } = load('matmul');
  assert.throws(() => run(1025), WebAssembly.RuntimeError);
  assert.throws(() => run(-1), WebAssembly.RuntimeError);
});

// ---- sha256 -------------------------------------------------------------

/** The kernel's 64 KiB pattern: message byte k is PATTERN[k & 0xffff]. */
const PATTERN = Buffer.alloc(65536);
for (let k = 0; k < PATTERN.length; k++) PATTERN[k] = Math.imul(k, 0x9e3779b1) >>> 24;

/** node:crypto's SHA-256 of the n-KiB message the kernel hashes (see sha256.ts). */
function sha256Js(n: number): Buffer {
  const h = createHash('sha256');
  let left = n * 1024;
  while (left > 0) {
    const k = Math.min(left, PATTERN.length);
    h.update(PATTERN.subarray(0, k));
    left -= k;
  }
  return h.digest();
}

test('sha256: selftest (SHA-256 of "abc") passes', () => {
  const { fn } = load('sha256');
  assert.equal(fn('selftest')(), 1);
});

test('sha256: digest of the n-KiB message matches node:crypto', () => {
  const { run, fn, memory } = load('sha256');
  // 0: empty message; 64, 65, 130: longer than the 64 KiB pattern, so it wraps.
  for (const n of [0, 1, 2, 3, 17, 63, 64, 65, 130]) {
    const want = sha256Js(n);
    const word = run(n);
    assert.equal(word, want.readInt32BE(0), `n = ${n}: returned word`);
    const ptr = fn('digest_ptr')();
    const got = Buffer.from(new Uint8Array(memory.buffer, ptr, 32));
    assert.equal(got.toString('hex'), want.toString('hex'), `n = ${n}: digest`);
  }
  // selftest between runs does not disturb later runs.
  assert.equal(fn('selftest')(), 1);
  assert.equal(run(3), sha256Js(3).readInt32BE(0));
});

test('sha256: a 512 MiB message (bit length 2^32: needs the 64-bit length field)', () => {
  const { run } = load('sha256');
  const n = 512 * 1024;
  assert.equal(run(n), sha256Js(n).readInt32BE(0));
});

test('sha256: n outside 0..2097151 traps', () => {
  const { run } = load('sha256');
  assert.throws(() => run(0x200000), WebAssembly.RuntimeError);
  assert.throws(() => run(-1), WebAssembly.RuntimeError);
});

test('sha256: the compression function is straight-line (no loop)', () => {
  // The unrolled compression function is by far the largest; it has 64
  // rounds' worth of rotations and no loop of its own.
  const text = wasmText('sha256');
  const funcs = text.split(/\n \(func /).slice(1);
  const biggest = funcs.reduce((x, y) => (y.length > x.length ? y : x), '');
  assert.doesNotMatch(biggest, /\bloop\b/);
  assert.ok((biggest.match(/i32\.rotr|i32\.rotl/g) ?? []).length >= 64 * 6, 'all rounds unrolled');
});

// ---- fib ----------------------------------------------------------------

function fibJs(n: number): number {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, (a + b) | 0];
  return a;
}

test('fib: run(n) = fib(n) with one call per node of the call tree', () => {
  const { run, fn } = load('fib');
  const calls = fn('calls');
  for (let n = 0; n <= 25; n++) {
    assert.equal(run(n), fibJs(n), `fib(${n})`);
    assert.equal(calls(), 2 * fibJs(n + 1) - 1, `calls for fib(${n})`);
  }
});

test('fib: the optimised module still recurses (two self-calls in one function)', () => {
  const text = wasmText('fib');
  const selfCalls = text.split(/\n \(func /).slice(1).map((body) => {
    const fname = /^(\$\S+)/.exec(body)?.[1] ?? '';
    const esc = fname.replace(/[$.*+?^{}()|[\]\\/]/g, '\\$&');
    return (body.match(new RegExp(`call ${esc}(?=[\\s)])`, 'g')) ?? []).length;
  });
  assert.ok(selfCalls.some((k) => k === 2), `self-call counts per function: ${selfCalls.join(', ')}`);
});

// ---- interp -------------------------------------------------------------

/** The interpreted program, written directly in JS (see interp.ts). */
function interpJs(n: number): number {
  const M = 1000003;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const x = i % 40009;
    acc = (acc + x * x) % M;
    switch (i % 3) {
      case 0: acc = M - 1 - acc; break;
      case 1: acc = (acc * 7) % M; break;
      default: acc = (acc + i) % M; break;
    }
  }
  return acc;
}

test('interp: the bytecode program computes what its JS version does', () => {
  const { run } = load('interp');
  // 80_023 > 2 * 40009: x = i % 40009 wraps twice.
  for (const n of [0, 1, 2, 3, 4, 5, 6, 10, 99, 1000, 12345, 80_023]) {
    assert.equal(run(n), interpJs(n), `n = ${n}`);
  }
  assert.equal(run(-5), 0); // the loop test fails at once
});

test('interp: dispatch is a br_table', () => {
  assert.match(wasmText('interp'), /\bbr_table\b/);
});

// ---- all ----------------------------------------------------------------

test('every kernel is deterministic across runs and instances', () => {
  const small: Record<Kernel, number> = { fib: 20, interp: 5000, matmul: 40, sha256: 8 };
  for (const name of KERNELS) {
    const a = load(name);
    const first = a.run(small[name]);
    assert.equal(a.run(small[name]), first, `${name}: same instance`);
    assert.equal(load(name).run(small[name]), first, `${name}: fresh instance`);
  }
});
