// Bad input: every malformed, unsupported or misbehaving guest ends with a clear error code
// (a MaxwellError from compileModule or the Process constructor, or a dead process with an
// exit) and never with another exception escaping to the host, nor harm to other processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import binaryen from 'binaryen';
import { compileModule, type CompiledModule } from '../../src/runtime/module.js';
import { Process, type ProcessExit, type SpawnOptions } from '../../src/runtime/process.js';
import { MaxwellError } from '../../src/errors.js';

const F = binaryen.Features;
/** What Node 20's V8 reads and Maxwell runs (binaryen's Features.All emits encodings V8 rejects). */
const FEATURES = F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt |
  F.Multivalue | F.ReferenceTypes | F.SIMD128 | F.ExtendedConst;

function wat(text: string, extraFeatures = 0): Uint8Array<ArrayBuffer> {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(FEATURES | extraFeatures);
    if (!m.validate()) throw new Error(`test module does not validate:\n${text}`);
    return new Uint8Array(m.emitBinary());
  } finally {
    m.dispose();
  }
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The error compileModule rejected with; fails if it resolved or threw something else. */
async function compileError(bytes: Uint8Array, options?: Parameters<typeof compileModule>[1]): Promise<MaxwellError> {
  try {
    await compileModule(bytes, options);
  } catch (err) {
    assert.ok(err instanceof MaxwellError, `compileModule threw a non-MaxwellError: ${String(err)} (${(err as object)?.constructor?.name})`);
    return err;
  }
  assert.fail('compileModule accepted the module');
}

function spawnError(compiled: CompiledModule, options: Partial<SpawnOptions> = {}): MaxwellError {
  try {
    new Process(compiled, { pid: 1, budgetFuel: 1e7, memoryLimitPages: 16, ...options });
  } catch (err) {
    assert.ok(err instanceof MaxwellError, `the Process constructor threw a non-MaxwellError: ${String(err)}`);
    return err;
  }
  assert.fail('the process was spawned');
}

function spawn(compiled: CompiledModule, options: Partial<SpawnOptions> = {}): Process {
  return new Process(compiled, { pid: 1, budgetFuel: 1e8, memoryLimitPages: 16, ...options });
}

/** Runs to death; runSlice must never throw. */
function runToDeath(p: Process, slice = 10_000): ProcessExit {
  for (let i = 0; i < 1e6; i++) {
    const out = p.runSlice(slice);
    if (out.kind === 'dead') return out.exit;
  }
  assert.fail('the process did not die');
}

async function runWat(text: string, options: Partial<SpawnOptions> = {}, slice = 10_000): Promise<{ p: Process; exit: ProcessExit }> {
  const p = spawn(await compileModule(wat(text)), options);
  return { p, exit: runToDeath(p, slice) };
}

/** What V8 says when it runs the uninstrumented module's export. */
function engineTrap(bytes: Uint8Array<ArrayBuffer>, name: string, args: number[] = []): string {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  try {
    (inst.exports[name] as (...a: number[]) => unknown)(...args);
  } catch (err) {
    assert.ok(err instanceof WebAssembly.RuntimeError, String(err));
    return err.message;
  }
  assert.fail('the unmetered module did not trap');
}

// --- Not WebAssembly ---

test('random bytes are E_WASM_INVALID', async () => {
  const rnd = prng(1);
  for (let i = 0; i < 100; i++) {
    const len = rnd() % 300;
    const bytes = new Uint8Array(len).map(() => rnd() & 0xff);
    // Half of them start with a valid header, so that the section reader sees the garbage.
    if (i % 2 === 1 && len >= 8) bytes.set([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const err = await compileError(bytes);
    assert.equal(err.code, 'E_WASM_INVALID', `input ${i}: ${err.message}`);
  }
});

test('an empty input is E_WASM_INVALID', async () => {
  assert.equal((await compileError(new Uint8Array(0))).code, 'E_WASM_INVALID');
});

const RICH = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory 1 4) (data (i32.const 16) "hello")
  (global $g (mut i32) (i32.const 7))
  (table 2 funcref) (elem (i32.const 0) $a $b)
  (type $t (func (param i32) (result i32)))
  (func $a (param i32) (result i32) (i32.add (local.get 0) (global.get $g)))
  (func $b (param i32) (result i32) (local i64 f64)
    (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (i32.gt_s (local.get 0) (i32.const 0))))
    (i32.wrap_i64 (local.get 1)))
  (func (export "_start") (local i32)
    (local.set 0 (call_indirect (type $t) (i32.const 5) (i32.const 1)))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (i32.const 100) (i32.const 1) (i32.const 100))
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 5))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (block $x (br_table $x $x (local.get 0)))
    (drop (i32.add (local.get 0) (call $a (i32.const 3))))))`;

test('every truncation of a valid module is E_WASM_INVALID (or, if V8 reads the prefix, a clean result)', async () => {
  const bytes = wat(RICH);
  let invalid = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    const prefix = bytes.slice(0, cut);
    if (WebAssembly.validate(prefix)) {
      // A cut at a section boundary can leave a valid module (the header alone is one).
      try {
        const compiled = await compileModule(prefix);
        assert.equal(spawnError(compiled).code, 'E_EXPORT_MISSING');
      } catch (err) {
        assert.ok(err instanceof MaxwellError, String(err));
      }
      continue;
    }
    const err = await compileError(prefix);
    assert.equal(err.code, 'E_WASM_INVALID', `cut at ${cut}: ${err.message}`);
    invalid++;
  }
  assert.ok(invalid > bytes.length * 0.9, `${invalid} of ${bytes.length} prefixes were invalid`);
});

test('bit-flipped modules are refused with a MaxwellError or run to a clean death, never crash the host', async () => {
  const base = wat(RICH);
  const rnd = prng(99);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const bytes = base.slice();
    for (let k = 1 + (rnd() % 3); k > 0; k--) {
      const pos = 8 + (rnd() % (bytes.length - 8));
      bytes[pos] = rnd() % 4 === 0 ? rnd() & 0xff : bytes[pos]! ^ (1 << (rnd() % 8));
    }
    let key: string;
    try {
      const compiled = await compileModule(bytes);
      try {
        const p = spawn(compiled, { budgetFuel: 1e6 });
        key = `ran: ${runToDeath(p, 1_000).reason}`;
      } catch (err) {
        assert.ok(err instanceof MaxwellError, `mutant ${i}: spawn threw ${String(err)}`);
        key = `spawn: ${err.code}`;
      }
    } catch (err) {
      assert.ok(err instanceof MaxwellError, `mutant ${i}: compileModule threw ${String(err)}`);
      key = `compile: ${err.code}`;
    }
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  const invalid = outcomes.get('compile: E_WASM_INVALID') ?? 0;
  assert.ok(invalid > 100 && invalid < 300, JSON.stringify([...outcomes]));
});

// --- Imports ---

test('a module importing env.foo is E_IMPORT_MISSING, naming env.foo', async () => {
  const err = await compileError(wat('(module (import "env" "foo" (func)) (func (export "_start")))'));
  assert.equal(err.code, 'E_IMPORT_MISSING');
  assert.match(err.message, /env\.foo/);
});

test('a module importing a WASI function the node does not provide is E_IMPORT_MISSING', async () => {
  const err = await compileError(wat('(module (import "wasi_snapshot_preview1" "path_open" (func (param i32))) (func (export "_start")))'));
  assert.equal(err.code, 'E_IMPORT_MISSING');
  assert.match(err.message, /path_open/);
});

test('an import declared in extraImports but missing from hostImports is E_IMPORT_MISSING at spawn', async () => {
  const compiled = await compileModule(wat('(module (import "env" "foo" (func)) (func (export "_start") (call 0)))'),
    { extraImports: new Map([['env', new Set(['foo'])]]) });
  // The module object is given, the function is not: V8 throws a LinkError.
  assert.equal(spawnError(compiled, { hostImports: { env: {} } }).code, 'E_IMPORT_MISSING');
  // Given, it runs.
  let called = 0;
  const p = spawn(compiled, { hostImports: { env: { foo: () => { called++; } } } });
  assert.equal(runToDeath(p).reason, 'exit');
  assert.equal(called, 1);
});

// Regression test (a bug found here, since fixed in process.ts constructor): with no object at all
// for the import module, V8 throws a TypeError ("module is not an object or function"), not a
// LinkError, and the constructor rethrows it raw instead of E_IMPORT_MISSING.
test('an import module declared in extraImports but absent from hostImports is E_IMPORT_MISSING at spawn', async () => {
  const compiled = await compileModule(wat('(module (import "env" "foo" (func)) (func (export "_start") (call 0)))'),
    { extraImports: new Map([['env', new Set(['foo'])]]) });
  assert.equal(spawnError(compiled).code, 'E_IMPORT_MISSING');
});

// Regression test (a bug found here, since fixed in module.ts checkImports / process.ts exitFor):
// import names are checked, signatures are not. JS host functions link to any signature, so a guest
// that declares e.g. sched_yield -> i64, proc_exit(i64), random_get(i64, i64) or maxwell.log(i64,
// i64) makes the JS boundary or the host function throw a TypeError, which exitFor rethrows:
// runSlice throws to the node.
test('WASI and ABI imports declared with the wrong signature are refused or trap; they never crash the host', async () => {
  const cases = [
    '(import "wasi_snapshot_preview1" "sched_yield" (func $f (result i64))) (func (export "_start") (drop (call $f)))',
    '(import "wasi_snapshot_preview1" "proc_exit" (func $f (param i64))) (func (export "_start") (call $f (i64.const 3)))',
    '(import "wasi_snapshot_preview1" "random_get" (func $f (param i64 i64) (result i32))) (func (export "_start") (drop (call $f (i64.const 0) (i64.const 8))))',
    '(import "maxwell" "log" (func $f (param i64 i64) (result i32))) (func (export "_start") (drop (call $f (i64.const 0) (i64.const 8))))',
  ];
  const failures: string[] = [];
  for (const c of cases) {
    const text = `(module ${c} (memory 1))`;
    try {
      const compiled = await compileModule(wat(text));
      const exit = runToDeath(spawn(compiled));
      if (exit.reason !== 'trap') failures.push(`${c}: ${exit.reason}`);
    } catch (err) {
      if (!(err instanceof MaxwellError)) failures.push(`${c}: the host got ${String(err)}`);
    }
  }
  assert.deepEqual(failures, []);
});

for (const name of ['yield', 'grow', 'refill', 'anything']) {
  test(`importing __maxwell.${name} is E_IMPORT_FORBIDDEN`, async () => {
    const err = await compileError(wat(`(module (import "__maxwell" "${name}" (func (param i32))) (func (export "_start")))`));
    assert.equal(err.code, 'E_IMPORT_FORBIDDEN');
  });
}

test('a module importing a memory, a table or a global is E_FEATURE_UNSUPPORTED', async () => {
  for (const imp of ['(memory 1)', '(table 1 funcref)', '(global i32)', '(global (mut i32))']) {
    const err = await compileError(wat(`(module (import "env" "x" ${imp}) (func (export "_start")))`));
    assert.equal(err.code, 'E_FEATURE_UNSUPPORTED', imp);
  }
});

// --- Unsupported features ---

/** Either refused as unsupported, or (where V8 on this Node does not read it) as invalid. */
async function assertUnsupported(bytes: Uint8Array<ArrayBuffer>, what: string): Promise<void> {
  const err = await compileError(bytes);
  assert.ok(err.code === 'E_FEATURE_UNSUPPORTED' || err.code === 'E_WASM_INVALID', `${what}: ${err.code} ${err.message}`);
  if (WebAssembly.validate(bytes)) assert.equal(err.code, 'E_FEATURE_UNSUPPORTED', `${what}: V8 reads it, so it is unsupported rather than invalid`);
}

test('shared memory and atomics are E_FEATURE_UNSUPPORTED', async () => {
  await assertUnsupported(wat('(module (memory 1 1 shared) (func (export "_start")))', F.Atomics), 'shared memory');
  await assertUnsupported(wat('(module (memory 1 1) (func (export "_start") (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))', F.Atomics), 'atomic rmw');
  await assertUnsupported(wat('(module (memory 1 1 shared) (func (export "_start") (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))', F.Atomics), 'atomic notify');
  await assertUnsupported(wat('(module (func (export "_start") (atomic.fence)))', F.Atomics), 'atomic.fence');
});

test('exception handling is E_FEATURE_UNSUPPORTED', async () => {
  await assertUnsupported(wat('(module (tag $e) (func (export "_start") (try (do (throw $e)) (catch $e))))', F.ExceptionHandling), 'try/catch');
  await assertUnsupported(wat('(module (tag $e) (func (export "_start") (throw $e)))', F.ExceptionHandling), 'throw');
  await assertUnsupported(wat('(module (tag $e (export "t")) (func (export "_start")))', F.ExceptionHandling), 'an exported tag');
});

test('tail calls are E_FEATURE_UNSUPPORTED', async () => {
  await assertUnsupported(wat('(module (func $f (export "_start") (return_call $f)))', F.TailCall), 'return_call');
  await assertUnsupported(wat(`(module (type $t (func)) (table 1 funcref) (elem (i32.const 0) $f)
    (func $f (export "_start") (return_call_indirect (type $t) (i32.const 0))))`, F.TailCall), 'return_call_indirect');
});

test('memory64 and multiple memories are refused', async () => {
  await assertUnsupported(wat('(module (memory i64 1) (func (export "_start")))', F.Memory64), 'memory64');
  await assertUnsupported(wat('(module (memory 1) (memory 1) (func (export "_start")))', F.MultiMemory), 'two memories');
});

test('an export named asyncify_* or __maxwell* is E_FEATURE_UNSUPPORTED', async () => {
  for (const name of ['asyncify_get_state', 'asyncify_start_unwind', '__maxwell_fuel', '__maxwell_memory', '__maxwell_start']) {
    const err = await compileError(wat(`(module (func (export "_start")) (func (export "${name}") (result i32) (i32.const 0)))`));
    assert.equal(err.code, 'E_FEATURE_UNSUPPORTED', name);
    assert.match(err.message, new RegExp(name));
  }
  // A memory or global export under a reserved name too.
  const err = await compileError(wat('(module (memory (export "__maxwell_memory") 1) (func (export "_start")))'));
  assert.equal(err.code, 'E_FEATURE_UNSUPPORTED');
});

/** A short counting loop on local 1 (or 0): enough to make a function a suspension point. */
const LOOP_ON_1 = '(loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (i32.const 1000))))';
const LOOP_ON_0 = '(loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if $l (i32.lt_u (local.get 0) (i32.const 1000))))';

// Regression test (a bug found here, since fixed in instrument.ts rewrite, the asyncify pass):
// binaryen aborts with "Fatal: Asyncify does not yet support non-number types, like references";
// compileModule throws that raw emscripten exception object (not an Error, not a MaxwellError)
// although ReferenceTypes is in SUPPORTED_FEATURES, and the pass arguments are not cleared.
test('a guest function with a reference-typed local or param is refused with a MaxwellError', async () => {
  const cases = [
    // A loop makes the function a suspension point, so Asyncify must save its locals.
    `(module (func (export "_start") (result i32) (local externref i32) ${LOOP_ON_1} (ref.is_null (local.get 0))))`,
    `(module (func $f (param funcref) (result i32) (local i32) ${LOOP_ON_1} (ref.is_null (local.get 0))) (func (export "_start") (drop (call $f (ref.null func)))))`,
    // A loop-free function whose callee has a loop is a suspension point too.
    `(module (func $g (local i32) ${LOOP_ON_0}) (func (export "_start") (result i32) (local externref) (call $g) (ref.is_null (local.get 0))))`,
  ];
  for (const text of cases) {
    const err = await compileError(wat(text));
    assert.equal(err.code, 'E_FEATURE_UNSUPPORTED', err.message);
  }
});

test('a valid multivalue guest is not refused (binaryen reads it with a tuple-typed scratch local)', async () => {
  // `call $two; i32.add` consumes a two-value result: binaryen splits it through a tuple local.
  const text = `(module
    (func $two (param i32) (result i32 i32) local.get 0 i32.const 5)
    (func (export "run") (param i32) (result i32) (local i32)
      (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (i32.const 1000))))
      local.get 0 call $two i32.add local.get 1 i32.add))`;
  const compiled = await compileModule(wat(text));
  const p = spawn(compiled, { entry: 'run', entryArgs: [10] });
  assert.equal(runToDeath(p, 100).reason, 'exit');
  assert.equal(p.result, 1_015);
});

test('a deeply nested expression (a 9 KB module V8 compiles) is refused with a MaxwellError or run, never a RangeError', async () => {
  // Built by hand: `i32.const 0` then 3 000 times `i32.const 1; i32.add`, then drop; with
  // and without an exported memory (the two take different paths through instrument.ts).
  const leb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const str = (s: string) => { const b = [...new TextEncoder().encode(s)]; return [b.length, ...b]; };
  const code = [0x41, 0x00];
  for (let i = 0; i < 3_000; i++) code.push(0x41, 0x01, 0x6a);
  code.push(0x1a, 0x0b);
  const body = [0x00, ...code];
  const failures: string[] = [];
  for (const withMemory of [false, true]) {
    const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      ...section(1, [1, 0x60, 0, 0]), ...section(3, [1, 0]),
      ...(withMemory ? section(5, [1, 0, 1]) : []),
      ...section(7, withMemory ? [2, ...str('_start'), 0, 0, ...str('memory'), 2, 0] : [1, ...str('_start'), 0, 0]),
      ...section(10, [1, ...leb(body.length), ...body])]);
    assert.ok(WebAssembly.validate(bytes), 'V8 accepts the guest');
    try {
      const compiled = await compileModule(bytes);
      assert.equal(runToDeath(spawn(compiled)).reason, 'exit');
    } catch (err) {
      if (!(err instanceof MaxwellError)) failures.push(`${withMemory ? 'with' : 'without'} an exported memory: compileModule threw ${String(err)}`);
    }
  }
  assert.deepEqual(failures, []);
});

// --- Spawn ---

test('a module without _start is E_EXPORT_MISSING at spawn; so is an unknown entry', async () => {
  const compiled = await compileModule(wat('(module (func (export "main")))'));
  const err = spawnError(compiled);
  assert.equal(err.code, 'E_EXPORT_MISSING');
  assert.match(err.message, /_start/);
  assert.equal(spawnError(compiled, { entry: 'nope' }).code, 'E_EXPORT_MISSING');
  assert.equal(runToDeath(spawn(compiled, { entry: 'main' })).reason, 'exit');
});

// Regression test (a bug found here, since fixed in process.ts constructor and runSlice): the entry
// check only looks at the export names, so a `_start` that is a global, memory or table passes
// spawn and runSlice then throws a TypeError ("this.exports[call.name] is not a function") to the
// host.
test('an entry that is not a function ends the process cleanly (no exception escapes runSlice)', async () => {
  for (const text of [
    '(module (global (export "_start") i32 (i32.const 0)))',
    '(module (memory (export "_start") 1))',
  ]) {
    const compiled = await compileModule(wat(text));
    let exit: ProcessExit | undefined;
    try {
      exit = runToDeath(spawn(compiled));
    } catch (err) {
      if (err instanceof MaxwellError) {
        assert.equal(err.code, 'E_EXPORT_MISSING');
        continue;
      }
      assert.fail(`the host got ${String(err)}`);
    }
    assert.notEqual(exit.reason, 'exit');
  }
});

// Regression test (a bug found here, since fixed in process.ts runSlice/exitFor): calling the entry
// converts entryArgs with the JS-API rules; an i64 param given a number or nothing, or a v128
// param/result, throws a TypeError, which exitFor rethrows to the host. A guest whose `_start`
// takes an i64 crashes the node.
test('an entry whose signature JavaScript cannot call (i64 param without a BigInt, v128) ends the process cleanly', async () => {
  for (const [text, args] of [
    ['(module (func (export "run") (param i64)))', [5]],
    ['(module (func (export "run") (param i64)))', []],
    ['(module (func (export "run") (param v128)))', [0]],
    ['(module (func (export "run") (result v128) (v128.const i32x4 0 0 0 0)))', []],
    ['(module (func (export "_start") (param i64)))', []],
  ] as Array<[string, number[]]>) {
    const compiled = await compileModule(wat(text));
    let exit: ProcessExit;
    try {
      exit = runToDeath(spawn(compiled, { entry: text.includes('"run"') ? 'run' : '_start', entryArgs: args }));
    } catch (err) {
      if (err instanceof MaxwellError) continue; // refused at spawn: fine
      assert.fail(`${text}: the host got ${String(err)}`);
    }
    assert.equal(exit.reason, 'trap', text);
  }
});

test('initial memory above the limit is E_MEMORY_LIMIT at spawn', async () => {
  const compiled = await compileModule(wat('(module (memory 100) (func (export "_start")))'));
  const err = spawnError(compiled, { memoryLimitPages: 99 });
  assert.equal(err.code, 'E_MEMORY_LIMIT');
  assert.equal(runToDeath(spawn(compiled, { memoryLimitPages: 100 })).reason, 'exit');
});

test('an active data segment far out of bounds traps at spawn with E_TRAP', async () => {
  const compiled = await compileModule(wat('(module (memory 1) (data (i32.const 0x7fff0000) "x") (func (export "_start")))'));
  assert.equal(spawnError(compiled).code, 'E_TRAP');
});

test('a start function that traps ends the process with a trap at its first slice', async () => {
  const { exit } = await runWat('(module (func $s (unreachable)) (start $s) (func (export "_start")))');
  assert.equal(exit.reason, 'trap');
  assert.equal(exit.errorCode, 'E_TRAP');
});

// --- Traps ---

const TRAPS: Array<{ name: string; text: string; pattern: RegExp }> = [
  { name: 'integer divide by zero', text: '(module (func (export "run") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))', pattern: /divide by zero/ },
  { name: 'integer overflow (INT_MIN / -1)', text: '(module (func (export "run") (param i32) (result i32) (i32.div_s (i32.const 0x80000000) (i32.sub (local.get 0) (i32.const 1)))))', pattern: /unrepresentable|overflow/ },
  { name: 'out-of-bounds load (far past the memory and its save area)', text: '(module (memory 1) (func (export "run") (param i32) (result i32) (i32.load (i32.sub (local.get 0) (i32.const 4)))))', pattern: /out of bounds/ },
  { name: 'out-of-bounds store', text: '(module (memory 1) (func (export "run") (param i32) (i64.store (i32.const 0x7ffffff0) (i64.extend_i32_u (local.get 0)))))', pattern: /out of bounds/ },
  { name: 'invalid float to int conversion', text: '(module (func (export "run") (param i32) (result i32) (i32.trunc_f64_s (f64.div (f64.const 0) (f64.convert_i32_s (local.get 0))))))', pattern: /float unrepresentable|conversion/ },
  { name: 'unreachable', text: '(module (func (export "run") (param i32) (unreachable)))', pattern: /unreachable/ },
  { name: 'call_indirect to a null entry', text: '(module (type $t (func)) (table 2 funcref) (func (export "run") (param i32) (call_indirect (type $t) (local.get 0))))', pattern: /null|signature|table/ },
  { name: 'call_indirect out of the table', text: '(module (type $t (func)) (table 1 funcref) (func (export "run") (param i32) (call_indirect (type $t) (i32.add (local.get 0) (i32.const 5)))))', pattern: /table|bounds/ },
  { name: 'call_indirect with the wrong signature', text: `(module (type $t (func)) (table 1 funcref) (elem (i32.const 0) $g)
      (func $g (param i32)) (func (export "run") (param i32) (call_indirect (type $t) (local.get 0))))`, pattern: /signature/ },
  { name: 'memory.fill out of bounds', text: '(module (memory 1) (func (export "run") (param i32) (memory.fill (i32.const 0x10000000) (local.get 0) (i32.const 16))))', pattern: /out of bounds/ },
];

for (const t of TRAPS) {
  test(`a trap (${t.name}) ends the process with reason trap, E_TRAP and the engine's message`, async () => {
    const bytes = wat(t.text);
    const expected = engineTrap(bytes, 'run', [0]);
    assert.match(expected, t.pattern);
    const p = spawn(await compileModule(bytes), { entry: 'run', entryArgs: [0] });
    const exit = runToDeath(p);
    assert.equal(exit.reason, 'trap', JSON.stringify(exit));
    assert.equal(exit.errorCode, 'E_TRAP');
    assert.equal(exit.code, null);
    assert.equal(exit.message, expected);
    assert.equal(p.state, 'dead');
    assert.throws(() => p.runSlice(1_000), /dead/, 'a dead process cannot run');
  });
}

test('stack overflow ends the process with E_STACK_OVERFLOW (big budget)', async () => {
  const { exit, p } = await runWat('(module (func $f (export "run") (param i32) (call $f (i32.add (local.get 0) (i32.const 1)))))',
    { budgetFuel: 1e10, entry: 'run', entryArgs: [0] }, 1 << 30);
  assert.equal(exit.reason, 'trap', JSON.stringify(exit));
  assert.equal(exit.errorCode, 'E_STACK_OVERFLOW');
  assert.ok(p.fuelUsed > 0);
});

test('stack overflow inside a loop-bearing recursion (suspended along the way) is E_STACK_OVERFLOW or E_STACK_SAVE_OVERFLOW', async () => {
  // Each frame runs a loop, so the process is suspended with a deep stack; eventually either
  // V8's stack or the save area runs out. Both are clean traps.
  const { exit } = await runWat(`(module (func $f (export "run") (param i32) (local i32)
      (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (i32.const 10))))
      (call $f (i32.add (local.get 0) (i32.const 1)))))`, { budgetFuel: 1e10, entry: 'run', entryArgs: [0] }, 10_000);
  assert.equal(exit.reason, 'trap', JSON.stringify(exit));
  assert.ok(exit.errorCode === 'E_STACK_OVERFLOW' || exit.errorCode === 'E_STACK_SAVE_OVERFLOW', JSON.stringify(exit));
});

// --- Host calls with bad pointers ---

test('WASI and ABI calls with bad pointers return EFAULT (21) to the guest; the host never throws', async () => {
  const { exit, p } = await runWat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_get" (func $a (param i32 i32) (result i32)))
    (import "maxwell" "log" (func $log (param i32 i32) (result i32)))
    (memory 1)
    (func (export "run") (result i32 i32 i32 i32 i32)
      (i32.store (i32.const 0) (i32.const 0x7ffffff0)) (i32.store (i32.const 4) (i32.const 16))
      (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (call $w (i32.const 1) (i32.const -8) (i32.const 1) (i32.const 8))
      (call $r (i32.const 0x7ffffff0) (i32.const 16))
      (call $a (i32.const -4) (i32.const 0))
      (call $log (i32.const 0x7ffffff0) (i32.const 16))))`, { entry: 'run' });
  assert.equal(exit.reason, 'exit', JSON.stringify(exit));
  assert.deepEqual(p.result, [21, 21, 21, 21, 21]);
  assert.equal(p.stdout.total, 0);
});

// --- Kill ---

const SPIN = '(module (func (export "_start") (local i32) (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))))';
const KILLED: ProcessExit = { reason: 'killed', code: null, errorCode: 'E_KILLED', message: 'killed by the test' };

test('a guest killed while suspended is dead with the given exit', async () => {
  const p = spawn(await compileModule(wat(SPIN)));
  assert.equal(p.runSlice(10_000).kind, 'yielded');
  assert.equal(p.state, 'suspended');
  const used = p.fuelUsed;
  p.kill(KILLED);
  assert.equal(p.state, 'dead');
  assert.deepEqual(p.exit, KILLED);
  assert.equal(p.fuelUsed, used, 'a kill costs nothing');
  assert.throws(() => p.runSlice(1_000));
  p.kill({ ...KILLED, message: 'again' }); // killing the dead is a no-op
  assert.deepEqual(p.exit, KILLED);
});

test('a guest killed before it ever ran is dead with the given exit', async () => {
  const p = spawn(await compileModule(wat(SPIN)));
  p.kill(KILLED);
  assert.equal(p.state, 'dead');
  assert.deepEqual(p.exit, KILLED);
});

test('a kill requested while the guest runs takes effect at its next yield', async () => {
  const p = spawn(await compileModule(wat(SPIN)));
  let ends = 0;
  p.onSliceEnd = () => {
    ends++;
    if (ends === 3) p.kill(KILLED); // from inside the running slice
    return 'continue';
  };
  const out = p.runSlice(10_000);
  assert.equal(out.kind, 'dead');
  assert.deepEqual(p.exit, KILLED);
  assert.equal(ends, 3, 'no slice ran after the kill');
  assert.ok(p.fuelUsed <= 4 * 10_000 + 100);
});

// --- Isolation ---

test('two processes interleaved: one traps midway, the other finishes with its correct result', async () => {
  // work(n, trapAt): sums i*i for i < n in memory-backed steps; traps when i == trapAt.
  const compiled = await compileModule(wat(`(module (memory 1)
    (func (export "work") (param $n i32) (param $trapAt i32) (result i64) (local $i i32)
      (loop $l
        (if (i32.eq (local.get $i) (local.get $trapAt)) (then (unreachable)))
        (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.mul (i64.extend_i32_u (local.get $i)) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (i64.load (i32.const 8))))`));
  const n = 200_000;
  let expected = 0n;
  for (let i = 0n; i < BigInt(n); i++) expected += i * i;

  const alone = spawn(compiled, { entry: 'work', entryArgs: [n, -1] });
  assert.equal(runToDeath(alone).reason, 'exit');
  assert.equal(alone.result, expected);

  const good = spawn(compiled, { pid: 1, entry: 'work', entryArgs: [n, -1] });
  const bad = spawn(compiled, { pid: 2, entry: 'work', entryArgs: [n, n / 2] });
  const killedToo = spawn(compiled, { pid: 3, entry: 'work', entryArgs: [n, -1], budgetFuel: 300_000 });
  const live = new Set([good, bad, killedToo]);
  let rounds = 0;
  let badDiedAt = -1;
  while (live.size > 0) {
    rounds++;
    for (const p of [...live]) {
      const out = p.runSlice(5_000);
      if (out.kind === 'dead') {
        live.delete(p);
        if (p === bad) badDiedAt = rounds;
      }
    }
  }
  assert.equal(bad.exit?.reason, 'trap');
  assert.equal(bad.exit?.errorCode, 'E_TRAP');
  assert.equal(killedToo.exit?.reason, 'apoptosis');
  assert.equal(good.exit?.reason, 'exit', JSON.stringify(good.exit));
  assert.equal(good.result, expected);
  assert.equal(good.fuelUsed, alone.fuelUsed, 'its neighbours changed nothing, not even its fuel');
  assert.ok(badDiedAt > 1 && badDiedAt < rounds, `the trap came midway (round ${badDiedAt} of ${rounds})`);
  assert.ok(good.switches > 10);
});

test('a process that traps does not disturb a suspended process of another module', async () => {
  const a = spawn(await compileModule(wat(`(module (func (export "run") (result i32) (local i32)
    (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if $l (i32.lt_u (local.get 0) (i32.const 1000000))))
    (local.get 0)))`)), { entry: 'run' });
  assert.equal(a.runSlice(10_000).kind, 'yielded');
  for (const t of TRAPS) {
    const p = spawn(await compileModule(wat(t.text)), { entry: 'run', entryArgs: [0] });
    assert.equal(runToDeath(p).reason, 'trap');
  }
  const { exit } = await runWat('(module (func $f (export "_start") (call $f)))', { budgetFuel: 1e10 }, 1 << 30);
  assert.equal(exit.errorCode, 'E_STACK_OVERFLOW');
  assert.equal(runToDeath(a).reason, 'exit');
  assert.equal(a.result, 1_000_000);
});
