/**
 * A guest module, validated, instrumented and compiled once; processes are spawned from it.
 * A compiled module is plain data that can be posted to a worker (V8 shares the code).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RESERVE_PAGES, INSTRUMENTATION_VERSION, instrument, type InstrumentedModule, type InstrumentOptions, type ModuleImport, type Signature } from './instrument.js';
import { DEFAULT_COSTS } from '../energy/cost-table.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { WASI_MODULE } from './wasi.js';
import { ABI_MODULE, ABI_FUNCTIONS } from './abi.js';

/** What the node keeps about a compiled module: the instrumenter's findings, and provenance. */
export interface ModuleInfo extends Omit<InstrumentedModule, 'binary' | 'stats'> {
  /** SHA-256 of the guest's original bytes (hex). */
  hash: string;
  originalBytes: number;
  instrumentedBytes: number;
  instrumentMs: number;
}

export interface CompiledModule {
  wasm: WebAssembly.Module;
  info: ModuleInfo;
}

/** The imports the node provides to guests, by module. */
export const PROVIDED_IMPORTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [WASI_MODULE, new Set([
    'fd_write', 'fd_read', 'fd_close', 'fd_seek', 'fd_fdstat_get', 'fd_prestat_get', 'fd_prestat_dir_name',
    'proc_exit', 'args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get', 'clock_time_get',
    'clock_res_get', 'random_get', 'sched_yield', 'poll_oneoff',
  ])],
  [ABI_MODULE, new Set(ABI_FUNCTIONS)],
]);

export interface CompileOptions extends InstrumentOptions {
  /**
   * Extra host functions an embedder provides (module → names), like a Wasmtime Linker's
   * definitions. The process must then be spawned with matching `hostImports`. Host functions
   * run unmetered except for the host-call charge; they must not re-enter the guest.
   */
  extraImports?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * A directory for instrumented modules, keyed by the guest's hash, the cost table, the save
   * area and the instrumentation version (instrumenting runs Asyncify: hundreds of ms for a
   * small module, so the node does it once per module, like Wasmtime's compilation cache).
   */
  cacheDir?: string;
}

function cacheKey(bytes: Uint8Array, options: InstrumentOptions): string {
  return createHash('sha256')
    .update(bytes)
    .update(JSON.stringify({ v: INSTRUMENTATION_VERSION, costs: options.costs ?? DEFAULT_COSTS, reserve: options.reservePages ?? DEFAULT_RESERVE_PAGES, preemptible: options.preemptible ?? true }))
    .digest('hex');
}

interface CacheEntry { info: Omit<ModuleInfo, 'instrumentMs'>; binary: Uint8Array }

async function readCache(dir: string, key: string): Promise<CacheEntry | undefined> {
  try {
    const [info, binary] = await Promise.all([readFile(join(dir, `${key}.json`), 'utf8'), readFile(join(dir, `${key}.wasm`))]);
    const parsed = JSON.parse(info) as CacheEntry['info'] & { instrumentedBytes: number };
    // A torn or foreign entry is ignored and rewritten, never trusted.
    if (parsed.instrumentedBytes !== binary.length) return undefined;
    return { info: parsed, binary };
  } catch {
    return undefined;
  }
}

async function writeCache(dir: string, key: string, entry: CacheEntry): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  // Binary first, info last: an entry is only read when its info file exists and agrees.
  await writeFile(join(dir, `${key}.wasm${tmp}`), entry.binary);
  await rename(join(dir, `${key}.wasm${tmp}`), join(dir, `${key}.wasm`));
  await writeFile(join(dir, `${key}.json${tmp}`), JSON.stringify(entry.info));
  await rename(join(dir, `${key}.json${tmp}`), join(dir, `${key}.json`));
}

const sig = (params: string[], results: string[] = ['i32']): Signature => ({ params, results });
const I = 'i32';
/** The signatures of the functions the node provides (WASI preview1 and the maxwell ABI). */
const PROVIDED_SIGNATURES: ReadonlyMap<string, Signature> = new Map([
  [`${WASI_MODULE}.fd_write`, sig([I, I, I, I])],
  [`${WASI_MODULE}.fd_read`, sig([I, I, I, I])],
  [`${WASI_MODULE}.fd_close`, sig([I])],
  [`${WASI_MODULE}.fd_seek`, sig([I, 'i64', I, I])],
  [`${WASI_MODULE}.fd_fdstat_get`, sig([I, I])],
  [`${WASI_MODULE}.fd_prestat_get`, sig([I, I])],
  [`${WASI_MODULE}.fd_prestat_dir_name`, sig([I, I, I])],
  [`${WASI_MODULE}.proc_exit`, sig([I], [])],
  [`${WASI_MODULE}.args_sizes_get`, sig([I, I])],
  [`${WASI_MODULE}.args_get`, sig([I, I])],
  [`${WASI_MODULE}.environ_sizes_get`, sig([I, I])],
  [`${WASI_MODULE}.environ_get`, sig([I, I])],
  [`${WASI_MODULE}.clock_time_get`, sig([I, 'i64', I])],
  [`${WASI_MODULE}.clock_res_get`, sig([I, I])],
  [`${WASI_MODULE}.random_get`, sig([I, I])],
  [`${WASI_MODULE}.sched_yield`, sig([])],
  [`${WASI_MODULE}.poll_oneoff`, sig([I, I, I, I])],
  [`${ABI_MODULE}.log`, sig([I, I])],
  [`${ABI_MODULE}.bid`, sig(['i64'])],
  [`${ABI_MODULE}.balance`, sig([], ['i64'])],
  [`${ABI_MODULE}.price`, sig([], ['i64'])],
  [`${ABI_MODULE}.discard`, sig([I, I])],
  [`${ABI_MODULE}.query`, sig([I, I])],
  [`${ABI_MODULE}.claim`, sig([I, I])],
]);

export async function compileModule(bytes: Uint8Array, options: CompileOptions = {}): Promise<CompiledModule> {
  const started = performance.now();
  const key = options.cacheDir === undefined ? undefined : cacheKey(bytes, options);
  const cached = key === undefined ? undefined : await readCache(options.cacheDir!, key);
  if (cached !== undefined) {
    checkImports(cached.info.imports, cached.info.importSignatures, options);
    const wasm = await compileInstrumented(cached.binary);
    return { wasm, info: { ...cached.info, instrumentMs: performance.now() - started } };
  }
  const inst = instrument(bytes, options);
  checkImports(inst.imports, inst.importSignatures, options);
  const wasm = await compileInstrumented(inst.binary);
  const { binary, stats: _stats, ...found } = inst;
  const info: ModuleInfo = {
    ...found,
    hash: createHash('sha256').update(bytes).digest('hex'),
    originalBytes: bytes.length,
    instrumentedBytes: binary.length,
    instrumentMs: performance.now() - started,
  };
  if (key !== undefined) {
    const { instrumentMs: _, ...rest } = info;
    // The cache only saves time: a node that cannot write it (a read-only state dir) still runs.
    await writeCache(options.cacheDir!, key, { info: rest, binary: inst.binary }).catch(() => {});
  }
  return { wasm, info };
}

/** The instrumented module can cross an engine limit the original stayed under (locals, size). */
async function compileInstrumented(binary: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(binary as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new MaxwellError(ErrorCode.FEATURE_UNSUPPORTED, `the metered module crosses an engine limit: ${(err as Error).message}`);
  }
}

function sameSignature(a: Signature, b: Signature): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

function checkImports(imports: readonly ModuleImport[], signatures: Record<string, Signature>, options: CompileOptions): void {
  for (const [name, sig] of Object.entries(signatures)) {
    // JavaScript host functions accept any signature, so V8 cannot catch a mismatch: a guest
    // calling fd_write with the wrong arguments would make the host read garbage.
    const expected = PROVIDED_SIGNATURES.get(name);
    if (expected !== undefined && !sameSignature(expected, sig)) {
      throw new MaxwellError(ErrorCode.IMPORT_MISSING, `the module imports ${name} as (${sig.params.join(', ')}) -> (${sig.results.join(', ')}); the node provides (${expected.params.join(', ')}) -> (${expected.results.join(', ')})`, { import: name });
    }
  }
  for (const imp of imports) {
    if (!PROVIDED_IMPORTS.get(imp.module)?.has(imp.name) && !options.extraImports?.get(imp.module)?.has(imp.name)) {
      throw new MaxwellError(ErrorCode.IMPORT_MISSING, `the module imports ${imp.module}.${imp.name}, which the node does not provide`, { import: `${imp.module}.${imp.name}` });
    }
  }
}

/** The most bytes a module file may have: a limit on everything, and V8's own is 1 GiB. */
export const MAX_MODULE_BYTES = 64 * 1024 * 1024;

export async function readModuleFile(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new MaxwellError(ErrorCode.FILE_UNREADABLE, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path });
  }
  if (bytes.length > MAX_MODULE_BYTES) {
    throw new MaxwellError(ErrorCode.WASM_INVALID, `${path} is ${bytes.length} bytes; modules are limited to ${MAX_MODULE_BYTES}`, { path });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
