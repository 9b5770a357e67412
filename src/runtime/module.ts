/**
 * A guest module, validated, instrumented and compiled once; processes are spawned from it.
 * A compiled module is plain data that can be posted to a worker (V8 shares the code).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { instrument, type InstrumentOptions, type ModuleImport } from './instrument.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { WASI_MODULE } from './wasi.js';
import { ABI_MODULE, ABI_FUNCTIONS } from './abi.js';

export interface ModuleInfo {
  /** SHA-256 of the guest's original bytes (hex). */
  hash: string;
  reservePages: number;
  guestInitialPages: number;
  guestMaxPages: number | undefined;
  hasStart: boolean;
  imports: ModuleImport[];
  exports: string[];
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
}

export async function compileModule(bytes: Uint8Array, options: CompileOptions = {}): Promise<CompiledModule> {
  const started = performance.now();
  const inst = instrument(bytes, options);
  for (const imp of inst.imports) {
    if (!PROVIDED_IMPORTS.get(imp.module)?.has(imp.name) && !options.extraImports?.get(imp.module)?.has(imp.name)) {
      throw new MaxwellError(ErrorCode.IMPORT_MISSING, `the module imports ${imp.module}.${imp.name}, which the node does not provide`, { import: `${imp.module}.${imp.name}` });
    }
  }
  const wasm = await WebAssembly.compile(inst.binary as Uint8Array<ArrayBuffer>);
  const info: ModuleInfo = {
    hash: createHash('sha256').update(bytes).digest('hex'),
    reservePages: inst.reservePages,
    guestInitialPages: inst.guestInitialPages,
    guestMaxPages: inst.guestMaxPages,
    hasStart: inst.hasStart,
    imports: inst.imports,
    exports: inst.exports,
    originalBytes: bytes.length,
    instrumentedBytes: inst.binary.length,
    instrumentMs: performance.now() - started,
  };
  return { wasm, info };
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
