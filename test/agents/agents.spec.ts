// The sample agents (agents/*/index.ts, built by scripts/build-agents.js to
// agents/build/*.wasm), run under Node's own WASI to check their behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { Worker } from 'node:worker_threads';
import binaryen from 'binaryen';

// dist/test/agents/ -> repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = path.join(ROOT, 'agents', 'build');
const AGENTS = ['churner', 'infer', 'looper', 'miner'] as const;
const ALLOWED = new Set([
  'fd_write', 'fd_read', 'proc_exit', 'clock_time_get', 'clock_res_get', 'random_get',
  'args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get', 'sched_yield',
]);
const PAGE_BYTES = 65536;


function wasmPath(name: string): string {
  return path.join(BUILD, `${name}.wasm`);
}

function loadModule(name: string): WebAssembly.Module {
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmPath(name));
  } catch (e) {
    throw new Error(`agent ${name} is not built (run: node scripts/build-agents.js): ${String(e)}`);
  }
  return new WebAssembly.Module(new Uint8Array(bytes));
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  instance: WebAssembly.Instance;
  pagesBefore: number;
}

/**
 * Maxwell's ABI (docs/abi.md) as a host without a node answers it: an unlimited balance, the
 * base price; bids are accepted, discards zero the bytes, there are no queries and no claims are
 * taken. The agents must run under plain WASI hosts that provide just this much.
 */
const discards: number[] = [];
function noNode(instance: () => WebAssembly.Instance) {
  return {
    log: () => 0,
    bid: (p: bigint) => (p > 0n ? 0 : 28),
    balance: () => BigInt(Number.MAX_SAFE_INTEGER),
    price: () => 1_000_000n,
    discard: (ptr: number, len: number) => {
      new Uint8Array((instance().exports['memory'] as WebAssembly.Memory).buffer, ptr >>> 0, len >>> 0).fill(0);
      discards.push(len >>> 0);
      return 0;
    },
    query: () => 0,
    claim: () => 28,
  };
}

/** Run an agent to completion under node:wasi, capturing stdout/stderr. */
function runAgent(name: string, args: string[] = []): Run {
  const dir = mkdtempSync(path.join(tmpdir(), `maxwell-agent-${name}-`));
  const outPath = path.join(dir, 'stdout');
  const errPath = path.join(dir, 'stderr');
  const outFd = openSync(outPath, 'w');
  const errFd = openSync(errPath, 'w');
  try {
    const wasi = new WASI({
      version: 'preview1',
      args: [name, ...args],
      env: {},
      stdout: outFd,
      stderr: errFd,
      returnOnExit: true,
    });
    const instance: WebAssembly.Instance = new WebAssembly.Instance(loadModule(name), { ...wasi.getImportObject(), maxwell: noNode((): WebAssembly.Instance => instance) } as WebAssembly.Imports);
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    const pagesBefore = memory.buffer.byteLength / PAGE_BYTES;
    const exitCode = wasi.start(instance);
    closeSync(outFd);
    closeSync(errFd);
    return {
      exitCode,
      stdout: readFileSync(outPath, 'utf8'),
      stderr: readFileSync(errPath, 'utf8'),
      instance,
      pagesBefore,
    };
  } finally {
    try { closeSync(outFd); } catch { /* already closed */ }
    try { closeSync(errFd); } catch { /* already closed */ }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parse `prefix: k=v k=v` into a record, checking the prefix. */
function fields(line: string, prefix: string): Record<string, string> {
  assert.ok(line.startsWith(`${prefix}: `), `expected '${prefix}: ...', got ${JSON.stringify(line)}`);
  const out: Record<string, string> = {};
  for (const kv of line.slice(prefix.length + 2).trim().split(/\s+/)) {
    const m = /^([a-z_]+)=(\S+)$/.exec(kv);
    assert.ok(m, `bad field ${JSON.stringify(kv)} in ${JSON.stringify(line)}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

const MINER_PREFIX = Buffer.from('maxwell-miner:', 'ascii');
function minerHash(nonce: bigint): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(nonce);
  return createHash('sha256').update(Buffer.concat([MINER_PREFIX, n])).digest();
}

test('every agent is a WASI command module importing only allowed wasi_snapshot_preview1 functions and Maxwell\'s ABI', () => {
  const abi = new Set(['log', 'bid', 'balance', 'price', 'discard', 'query', 'claim']);
  for (const name of AGENTS) {
    const mod = loadModule(name);
    for (const imp of WebAssembly.Module.imports(mod)) {
      assert.ok(imp.module === 'wasi_snapshot_preview1' || imp.module === 'maxwell', `${name} imports ${imp.module}.${imp.name}`);
      assert.equal(imp.kind, 'function', `${name} imports ${imp.name} as ${imp.kind}`);
      assert.ok((imp.module === 'maxwell' ? abi : ALLOWED).has(imp.name), `${name} imports disallowed ${imp.module}.${imp.name}`);
    }
    const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
    assert.equal(exps.get('_start'), 'function', `${name} exports _start`);
    assert.equal(exps.get('memory'), 'memory', `${name} exports memory`);
  }
});

test('looper runs without exiting until it is killed', async () => {
  const mod = loadModule('looper');
  // A worker, so that the infinite loop can be terminated from outside.
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { WASI } = require('node:wasi');
    const wasi = new WASI({ version: 'preview1', args: ['looper'], env: {}, returnOnExit: true });
    const instance = new WebAssembly.Instance(workerData, wasi.getImportObject());
    parentPort.postMessage('started');
    const code = wasi.start(instance);
    parentPort.postMessage('exited ' + code);
    `,
    { eval: true, workerData: mod },
  );
  const events: string[] = [];
  let exited = false;
  worker.on('message', (m: string) => events.push(m));
  worker.on('error', (e: Error) => events.push(`error ${e.message}`));
  const gone = new Promise<void>((resolve) => worker.on('exit', () => { exited = true; resolve(); }));
  const deadline = Date.now() + 5000;
  while (!events.includes('started') && Date.now() < deadline && !exited) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(events, ['started']);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(exited, false, 'looper exited on its own');
  assert.deepEqual(events, ['started'], 'looper returned from _start');
  await worker.terminate();
  await gone;
});

test('looper stores to memory in its loop (cannot be optimised away)', () => {
  const wasm = readFileSync(wasmPath('looper'));
  const m = binaryen.readBinary(wasm);
  try {
    const text = m.emitText();
    assert.match(text, /\bloop\b/);
    assert.match(text, /i64\.store/);
  } finally {
    m.dispose();
  }
});

test('miner --selftest prints SHA-256("abc")', () => {
  const r = runAgent('miner', ['--selftest']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout.trim(), createHash('sha256').update('abc').digest('hex'));
  assert.equal(r.stdout.trim(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('miner finds the first nonce with D leading zero bits', () => {
  for (const bits of [0, 1, 8, 12]) {
    const r = runAgent('miner', [String(bits)]);
    assert.equal(r.exitCode, 0, r.stderr);
    const f = fields(r.stdout.trim(), 'miner');
    const nonce = BigInt(f['nonce']!);
    const digest = minerHash(nonce);
    assert.equal(f['hash'], digest.toString('hex'), 'printed hash is SHA-256(prefix || u64be(nonce))');
    assert.ok(leadingZeroBits(digest) >= bits, `hash has ${leadingZeroBits(digest)} < ${bits} leading zero bits`);
    assert.equal(f['bits'], String(bits));
    assert.equal(BigInt(f['hashes']!), nonce + 1n);
    for (let n = 0n; n < nonce; n++) {
      assert.ok(leadingZeroBits(minerHash(n)) < bits, `nonce ${n} already had ${bits} bits`);
    }
  }
});

test('miner defaults to 16 bits and rejects a bad difficulty', () => {
  const r = runAgent('miner');
  assert.equal(r.exitCode, 0, r.stderr);
  const f = fields(r.stdout.trim(), 'miner');
  assert.equal(f['bits'], '16');
  assert.ok(leadingZeroBits(minerHash(BigInt(f['nonce']!))) >= 16);

  for (const bad of ['x', '65', '-1', '']) {
    const b = runAgent('miner', [bad]);
    assert.equal(b.exitCode, 2, `miner ${JSON.stringify(bad)}`);
    assert.equal(b.stdout, '');
    assert.match(b.stderr, /bad difficulty/);
  }
});

test('churner allocates, frees and grows memory', () => {
  discards.length = 0;
  const r = runAgent('churner');
  assert.equal(r.exitCode, 0, r.stderr);
  const f = fields(r.stdout.trim(), 'churner');
  assert.equal(f['rounds'], '1000');
  const allocated = Number(f['allocated_bytes']);
  const peak = Number(f['peak_pages']);
  const memory = r.instance.exports['memory'] as WebAssembly.Memory;
  const pagesAfter = memory.buffer.byteLength / PAGE_BYTES;
  assert.equal(peak, pagesAfter, 'peak_pages is the final memory.size');
  assert.ok(peak >= r.pagesBefore + 4, `memory grew from ${r.pagesBefore} to only ${peak} pages`);
  // Far more was allocated than memory ever held: the GC freed and reused it.
  assert.ok(allocated > 4 * peak * PAGE_BYTES, `allocated ${allocated} bytes in ${peak} pages`);
  // Every array it dropped was erased through maxwell.discard first, and it says how much.
  const discarded = Number(f['discarded_bytes']);
  assert.ok(discarded > 0 && discarded < allocated, `discarded ${discarded} of ${allocated}`);
  assert.equal(discards.reduce((x, y) => x + y, 0), discarded, 'its count is what the host was asked to erase');

  const small = runAgent('churner', ['10']);
  assert.equal(small.exitCode, 0, small.stderr);
  const g = fields(small.stdout.trim(), 'churner');
  assert.equal(g['rounds'], '10');
  assert.ok(Number(g['allocated_bytes']) < allocated);

  const bad = runAgent('churner', ['many']);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /bad round count/);
});

// ---- infer ---------------------------------------------------------------

interface Model {
  inZero: number[];
  w1: number[];
  b1: number[];
  m1: bigint;
  s1: bigint;
  w2: number[];
  b2: number[];
  testN: number;
  testX: number[];
  testY: number[];
  testPred: number[];
}

/** Read the generated model (agents/infer/model.ts) back as numbers. */
function readModel(): Model {
  const src = readFileSync(path.join(ROOT, 'agents', 'infer', 'model.ts'), 'utf8');
  const array = (name: string): number[] => {
    const m = new RegExp(`export const ${name}: StaticArray<\\w+> = \\[([^\\]]*)\\]`).exec(src);
    assert.ok(m, `model.ts has ${name}`);
    return m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  };
  const scalar = (name: string): bigint => {
    const m = new RegExp(`export const ${name}(?:: \\w+)? = (-?\\d+);`).exec(src);
    assert.ok(m, `model.ts has ${name}`);
    return BigInt(m[1]!);
  };
  return {
    inZero: array('IN_ZERO'),
    w1: array('W1'),
    b1: array('B1'),
    m1: scalar('M1'),
    s1: scalar('S1'),
    w2: array('W2'),
    b2: array('B2'),
    testN: Number(scalar('TEST_N')),
    testX: array('TEST_X'),
    testY: array('TEST_Y'),
    testPred: array('TEST_PRED'),
  };
}

/** Independent integer reference of the agent's forward pass (BigInt, exact). */
function referenceClassify(model: Model, x: number[]): number {
  const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);
  const xq = x.map((v, j) => clamp(BigInt(v - model.inZero[j]!), -128n, 127n));
  const hidden = model.b1.length;
  const h: bigint[] = [];
  for (let i = 0; i < hidden; i++) {
    let acc = BigInt(model.b1[i]!);
    for (let j = 0; j < 4; j++) acc += BigInt(model.w1[i * 4 + j]!) * xq[j]!;
    assert.ok(acc >= -(2n ** 31n) && acc < 2n ** 31n, 'layer 1 accumulator fits int32');
    h.push(clamp((acc * model.m1 + (1n << (model.s1 - 1n))) >> model.s1, 0n, 127n));
  }
  let best = 0;
  let bestLogit = 0n;
  for (let k = 0; k < model.b2.length; k++) {
    let acc = BigInt(model.b2[k]!);
    for (let i = 0; i < hidden; i++) acc += BigInt(model.w2[k * hidden + i]!) * h[i]!;
    assert.ok(acc >= -(2n ** 31n) && acc < 2n ** 31n, 'logit fits int32');
    if (k === 0 || acc > bestLogit) {
      best = k;
      bestLogit = acc;
    }
  }
  return best;
}

test('infer answers 1000 queries with >= 90% accuracy', () => {
  const r = runAgent('infer');
  assert.equal(r.exitCode, 0, r.stderr);
  const f = fields(r.stdout.trim(), 'infer');
  assert.equal(f['queries'], '1000');
  const correct = Number(f['correct']);
  assert.ok(correct >= 900, `only ${correct}/1000 correct`);
  assert.equal(f['accuracy'], (correct / 10).toFixed(2));
});

test('infer: one pass over the held-out test set matches the trainer', () => {
  const model = readModel();
  const r = runAgent('infer', [String(model.testN)]);
  assert.equal(r.exitCode, 0, r.stderr);
  const f = fields(r.stdout.trim(), 'infer');
  const expected = model.testPred.filter((p, i) => p === model.testY[i]).length;
  assert.equal(Number(f['correct']), expected);
  assert.ok(expected / model.testN >= 0.9, `quantized test accuracy ${expected}/${model.testN}`);
});

test('infer: exported integer forward pass equals an exact reference', () => {
  const model = readModel();
  const r = runAgent('infer', ['0']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'infer: queries=0 correct=0 accuracy=0.00');
  const ex = r.instance.exports as Record<string, (...a: number[]) => number>;
  assert.equal(ex['test_count']!(), model.testN);
  for (let i = 0; i < model.testN; i++) {
    const x = model.testX.slice(i * 4, i * 4 + 4);
    assert.equal(ex['test_label']!(i), model.testY[i]);
    assert.equal(ex['infer_one']!(i), model.testPred[i], `test sample ${i}`);
    assert.equal(referenceClassify(model, x), model.testPred[i], `reference on test sample ${i}`);
  }
  // Arbitrary inputs, including far outside the data (exercises the clamps).
  let s = 12345;
  const rnd = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  for (let n = 0; n < 2000; n++) {
    const x = [0, 1, 2, 3].map(() => (n < 1000 ? rnd() % 100 : (rnd() % 2001) - 1000));
    assert.equal(ex['classify']!(x[0]!, x[1]!, x[2]!, x[3]!), referenceClassify(model, x), `classify(${x})`);
  }
});

test('infer: perturbed queries still run; bad arguments are rejected', () => {
  const r = runAgent('infer', ['300', '2']);
  assert.equal(r.exitCode, 0, r.stderr);
  const f = fields(r.stdout.trim(), 'infer');
  assert.equal(f['queries'], '300');
  assert.ok(Number(f['correct']) >= 240, `noisy accuracy ${f['correct']}/300`);

  for (const args of [['x'], ['10', 'y'], ['10', '101']]) {
    const b = runAgent('infer', args);
    assert.equal(b.exitCode, 2, `infer ${args.join(' ')}`);
    assert.match(b.stderr, /bad (query count|noise)/);
  }
});

test('infer.wasm uses no floating-point instructions', () => {
  const m = binaryen.readBinary(readFileSync(wasmPath('infer')));
  try {
    const text = m.emitText();
    assert.doesNotMatch(text, /\bf(32|64)\./);
  } finally {
    m.dispose();
  }
});
