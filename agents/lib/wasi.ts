// Minimal hand-written WASI preview1 bindings shared by the sample agents.
//
// Every agent imports only from `wasi_snapshot_preview1`. The AssemblyScript
// `abort` builtin is redirected here (asc `--use abort=agents/lib/wasi/wasiAbort`)
// so that no `env.abort` import is emitted; `trace` and `Math.random` (which
// would import `env.trace` / `env.seed`) must not be used by the agents.

@external("wasi_snapshot_preview1", "fd_write")
declare function wasi_fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;

@external("wasi_snapshot_preview1", "proc_exit")
declare function wasi_proc_exit(code: u32): void;

@external("wasi_snapshot_preview1", "args_sizes_get")
declare function wasi_args_sizes_get(argcPtr: usize, argvBufSizePtr: usize): u16;

@external("wasi_snapshot_preview1", "args_get")
declare function wasi_args_get(argvPtr: usize, argvBufPtr: usize): u16;

// Scratch space for one iovec (ptr, len) plus the `nwritten` result.
const IOV: usize = memory.data(16);

/** Write `len` bytes at `ptr` to file descriptor `fd`, retrying short writes. */
export function writeBytes(fd: u32, ptr: usize, len: usize): void {
  while (len > 0) {
    store<u32>(IOV, <u32>ptr);
    store<u32>(IOV + 4, <u32>len);
    const err = wasi_fd_write(fd, IOV, 1, IOV + 8);
    if (err != 0) return; // nowhere better to report it
    const n = <usize>load<u32>(IOV + 8);
    if (n == 0) return;
    ptr += n;
    len -= n;
  }
}

/** Write a string (UTF-8) to `fd`. */
export function writeString(fd: u32, s: string): void {
  const buf = String.UTF8.encode(s);
  writeBytes(fd, changetype<usize>(buf), <usize>buf.byteLength);
}

/** Print a line to stdout. */
export function println(s: string): void {
  writeString(1, s + "\n");
}

/** Print a line to stderr. */
export function eprintln(s: string): void {
  writeString(2, s + "\n");
}

/** Terminate the process with `code`. */
export function exit(code: u32): void {
  wasi_proc_exit(code);
  unreachable();
}

/** The command-line arguments (argv[0] is the program name). */
export function getArgs(): string[] {
  const sizes = memory.data(8);
  if (wasi_args_sizes_get(sizes, sizes + 4) != 0) return [];
  const argc = <i32>load<u32>(sizes);
  const bufSize = <i32>load<u32>(sizes + 4);
  const ptrs = new ArrayBuffer(argc * 4);
  const buf = new ArrayBuffer(max(bufSize, 1));
  if (wasi_args_get(changetype<usize>(ptrs), changetype<usize>(buf)) != 0) return [];
  const out = new Array<string>(argc);
  for (let i = 0; i < argc; i++) {
    const p = <usize>load<u32>(changetype<usize>(ptrs) + <usize>(i * 4));
    let n: usize = 0;
    while (load<u8>(p + n) != 0) n++;
    out[i] = String.UTF8.decodeUnsafe(p, n);
  }
  return out;
}

/**
 * Parse a non-negative decimal integer; returns -1 if `s` is not one
 * (empty, non-digit characters, or larger than 2^53).
 */
export function parseCount(s: string): i64 {
  if (s.length == 0 || s.length > 15) return -1;
  let v: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + <i64>(c - 48);
  }
  return v;
}

/** Fixed-point percentage `num/den` with two decimals, e.g. "97.78" (no floats). */
export function percent2(num: i64, den: i64): string {
  if (den <= 0) return "0.00";
  const bp = (num * 10000 + den / 2) / den; // basis points, rounded
  const frac = bp % 100;
  return (bp / 100).toString() + "." + (frac < 10 ? "0" : "") + frac.toString();
}

// Allocation-free output for the abort path (abort may be raised by the
// allocator itself, so it must not allocate).
const ABORT_BUF: usize = memory.data(256);
const ABORT_CAP: i32 = 256;
let abortLen: i32 = 0;

function abortPutByte(b: u32): void {
  if (abortLen < ABORT_CAP) {
    store<u8>(ABORT_BUF + <usize>abortLen, <u8>b);
    abortLen++;
  }
}

function abortPutStr(s: string | null): void {
  if (s === null) return;
  const p = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    abortPutByte(c < 0x20 || c > 0x7e ? 0x3f : c); // ASCII only, '?' otherwise
  }
}

function abortPutU32(v: u32): void {
  const digits = memory.data(10);
  let n = 0;
  do {
    store<u8>(digits + <usize>n, <u8>(0x30 + v % 10));
    n++;
    v /= 10;
  } while (v != 0);
  while (n > 0) {
    n--;
    abortPutByte(<u32>load<u8>(digits + <usize>n));
  }
}

/**
 * Replacement for the `abort` builtin: report to stderr and exit with 134
 * (the conventional SIGABRT status). Does not allocate.
 */
export function wasiAbort(
  message: string | null = null,
  fileName: string | null = null,
  lineNumber: u32 = 0,
  columnNumber: u32 = 0,
): void {
  abortLen = 0;
  abortPutStr("abort: ");
  abortPutStr(message !== null ? message : "(no message)");
  if (fileName !== null) {
    abortPutStr(" at ");
    abortPutStr(fileName);
    abortPutByte(0x3a);
    abortPutU32(lineNumber);
    abortPutByte(0x3a);
    abortPutU32(columnNumber);
  }
  abortPutByte(0x0a);
  writeBytes(2, ABORT_BUF, <usize>abortLen);
  wasi_proc_exit(134);
  unreachable();
}
