/**
 * The WASI preview1 subset a Maxwell process may import (module `wasi_snapshot_preview1`).
 *
 * Only stdio is provided: no preopened directories, no sockets. stdout and stderr are captured
 * into bounded buffers (the process table shows them); stdin is a byte string given at spawn.
 * Every call that moves bytes charges the process for them through `charge`, so a guest cannot
 * get unmetered work done by the host.
 */
import { randomFillSync } from 'node:crypto';

export const WASI_MODULE = 'wasi_snapshot_preview1';

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_FAULT = 21;
const ERRNO_INVAL = 28;
const ERRNO_NOSYS = 52;

/** Thrown by proc_exit; the process catches it and exits with the code. */
export class ProcExit {
  constructor(readonly code: number) {}
}

/** Bytes captured from one stream, bounded: past the limit only the count grows. */
export class Capture {
  private chunks: Uint8Array[] = [];
  private kept = 0;
  total = 0;
  constructor(readonly limitBytes: number) {}
  push(bytes: Uint8Array): void {
    this.total += bytes.length;
    const room = this.limitBytes - this.kept;
    if (room <= 0) return;
    const part = bytes.length <= room ? bytes.slice() : bytes.slice(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }
  get truncated(): boolean {
    return this.total > this.kept;
  }
  /** What was kept and counted, to move the process to another worker. */
  save(): { chunks: Uint8Array[]; kept: number; total: number } {
    return { chunks: this.chunks.slice(), kept: this.kept, total: this.total };
  }
  load(s: { chunks: Uint8Array[]; kept: number; total: number }): void {
    this.chunks = s.chunks.slice();
    this.kept = s.kept;
    this.total = s.total;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface WasiContext {
  args: readonly string[];
  env: readonly string[];
  stdin: Uint8Array;
  stdout: Capture;
  stderr: Capture;
  /** The process's memory, fetched per call: a grow replaces its buffer. */
  memory(): WebAssembly.Memory;
  /** Charge the process for host work (fuel units of bytes moved); may throw to end it. */
  chargeIo(bytes: number): void;
}

type Fn = (...args: never[]) => number | void;

/**
 * Wasm passes i32 pointers and lengths to JavaScript as signed numbers: 0x80000000 arrives as
 * -2^31. Every one is made unsigned before use, or a negative length would charge negative
 * fuel (free work) and pointers past 2 GiB would fail.
 */
const u = (x: number) => x >>> 0;

export function wasiImports(ctx: WasiContext): Record<string, Fn> {
  let stdinPos = 0;
  const view = () => new DataView(ctx.memory().buffer);
  const bytes = (ptr: number, len: number) => new Uint8Array(ctx.memory().buffer, ptr, len);
  const encodedArgs = ctx.args.map((a) => Buffer.from(`${a}\0`));
  const encodedEnv = ctx.env.map((a) => Buffer.from(`${a}\0`));

  // A bad pointer from the guest is its own fault (EFAULT), never the node's.
  const guard = (f: () => number): number => {
    try {
      return f();
    } catch (err) {
      if (err instanceof RangeError) return ERRNO_FAULT;
      throw err;
    }
  };

  const sizes = (list: Buffer[]) => (countPtr: number, sizePtr: number) => guard(() => {
    countPtr = u(countPtr); sizePtr = u(sizePtr);
    const v = view();
    v.setUint32(countPtr, list.length, true);
    v.setUint32(sizePtr, list.reduce((n, b) => n + b.length, 0), true);
    return ERRNO_SUCCESS;
  });
  const fill = (list: Buffer[]) => (ptrsPtr: number, bufPtr: number) => guard(() => {
    ptrsPtr = u(ptrsPtr); bufPtr = u(bufPtr);
    const v = view();
    let p = bufPtr;
    list.forEach((b, i) => {
      v.setUint32(ptrsPtr + 4 * i, p, true);
      bytes(p, b.length).set(b);
      p += b.length;
    });
    return ERRNO_SUCCESS;
  });

  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => guard(() => {
      iovs = u(iovs); iovsLen = u(iovsLen); nwrittenPtr = u(nwrittenPtr);
      const out = fd === 1 ? ctx.stdout : fd === 2 ? ctx.stderr : undefined;
      if (out === undefined) return ERRNO_BADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true);
        const len = v.getUint32(iovs + 8 * i + 4, true);
        ctx.chargeIo(len);
        out.push(bytes(ptr, len));
        n += len;
      }
      v.setUint32(nwrittenPtr, n, true);
      return ERRNO_SUCCESS;
    }),
    fd_read: (fd: number, iovs: number, iovsLen: number, nreadPtr: number) => guard(() => {
      iovs = u(iovs); iovsLen = u(iovsLen); nreadPtr = u(nreadPtr);
      if (fd !== 0) return ERRNO_BADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen && stdinPos < ctx.stdin.length; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true);
        const len = v.getUint32(iovs + 8 * i + 4, true);
        const chunk = ctx.stdin.subarray(stdinPos, stdinPos + len);
        ctx.chargeIo(chunk.length);
        bytes(ptr, chunk.length).set(chunk);
        stdinPos += chunk.length;
        n += chunk.length;
      }
      v.setUint32(nreadPtr, n, true);
      return ERRNO_SUCCESS;
    }),
    fd_close: (fd: number) => (u(fd) <= 2 ? ERRNO_SUCCESS : ERRNO_BADF),
    fd_seek: () => ERRNO_BADF,
    fd_fdstat_get: (fd: number, statPtr: number) => guard(() => {
      statPtr = u(statPtr);
      if (u(fd) > 2) return ERRNO_BADF;
      const v = view();
      v.setUint8(statPtr, 2); // filetype: character device
      v.setUint16(statPtr + 2, 0, true);
      v.setBigUint64(statPtr + 8, 0n, true);
      v.setBigUint64(statPtr + 16, 0n, true);
      return ERRNO_SUCCESS;
    }),
    fd_prestat_get: () => ERRNO_BADF, // no preopened directories
    fd_prestat_dir_name: () => ERRNO_BADF,
    proc_exit: (code: number) => {
      throw new ProcExit(code >>> 0);
    },
    args_sizes_get: sizes(encodedArgs),
    args_get: fill(encodedArgs),
    environ_sizes_get: sizes(encodedEnv),
    environ_get: fill(encodedEnv),
    clock_time_get: (id: number, _precision: bigint, timePtr: number) => guard(() => {
      timePtr = u(timePtr);
      let ns: bigint;
      if (id === 0) ns = BigInt(Date.now()) * 1_000_000n;
      else if (id === 1 || id === 2 || id === 3) ns = process.hrtime.bigint();
      else return ERRNO_INVAL;
      view().setBigUint64(timePtr, ns, true);
      return ERRNO_SUCCESS;
    }),
    clock_res_get: (id: number, resPtr: number) => guard(() => {
      resPtr = u(resPtr);
      if (id > 3) return ERRNO_INVAL;
      view().setBigUint64(resPtr, id === 0 ? 1_000_000n : 1n, true);
      return ERRNO_SUCCESS;
    }),
    random_get: (ptr: number, len: number) => guard(() => {
      ptr = u(ptr); len = u(len);
      if (ptr + len > ctx.memory().buffer.byteLength) return ERRNO_FAULT; // check before charging
      ctx.chargeIo(len);
      randomFillSync(bytes(ptr, len));
      return ERRNO_SUCCESS;
    }),
    sched_yield: () => ERRNO_SUCCESS,
    poll_oneoff: () => ERRNO_NOSYS,
  };
}
