// Minimal typings for the parts of ffjavascript 0.3.1 and snarkjs 0.7.6 that Maxwell uses
// (neither ships types). Field elements and points are Uint8Array in ffjavascript's internal
// form: little-endian Montgomery limbs, 32 bytes per Fp element, affine points x‖y (64 bytes on
// G1, 128 on G2), Jacobian points x‖y‖z. Only what the code calls is declared, so that a
// version bump that changes one of these fails to compile here rather than at run time.

declare module 'ffjavascript' {
  /** A wasm field (Fp, Fr, Fp2, Fp12): elements in Montgomery form. */
  export interface WasmField {
    readonly n8: number;
    readonly zero: Uint8Array;
    readonly one: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    sub(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    square(a: Uint8Array): Uint8Array;
    inv(a: Uint8Array): Uint8Array;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    isZero(a: Uint8Array): boolean;
    /** a^e for a little-endian exponent (or a bigint). */
    exp(a: Uint8Array, e: Uint8Array | bigint): Uint8Array;
    /** Traps (or loops) on a non-square in some fields: call isSquare first. */
    isSquare(a: Uint8Array): boolean;
    sqrt(a: Uint8Array): Uint8Array;
  }
  export interface WasmField1 extends WasmField {
    fromObject(a: bigint): Uint8Array;
    toObject(a: Uint8Array): bigint;
  }
  export interface WasmField2 extends WasmField {
    readonly F: WasmField1;
    fromObject(a: [bigint, bigint]): Uint8Array;
    toObject(a: Uint8Array): [bigint, bigint];
  }
  /** A curve group: points affine (2·n8 bytes) or Jacobian (3·n8). */
  export interface WasmCurve {
    readonly F: WasmField;
    /** The curve's b in y² = x³ + b (Montgomery). */
    readonly b: Uint8Array;
    readonly g: Uint8Array;
    readonly zero: Uint8Array;
    readonly zeroAffine: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    double(a: Uint8Array): Uint8Array;
    isZero(a: Uint8Array): boolean;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    timesScalar(a: Uint8Array, s: bigint | Uint8Array): Uint8Array;
    toAffine(a: Uint8Array): Uint8Array;
    toJacobian(a: Uint8Array): Uint8Array;
    fromObject(a: unknown[]): Uint8Array;
  }
  export type TaskCommand =
    | { cmd: 'ALLOCSET'; var: number; buff: Uint8Array }
    | { cmd: 'ALLOC'; var: number; len: number }
    | { cmd: 'CALL'; fnName: string; params: ({ var: number } | { val: number })[] }
    | { cmd: 'GET'; out: number; var: number; len: number };
  /** The main-thread wasm instance, a bump allocator over its memory, and the worker pool. */
  export interface ThreadManager {
    readonly instance: WebAssembly.Instance;
    readonly memory: WebAssembly.Memory;
    u8: Uint8Array;
    u32: Uint32Array;
    readonly singleThread: boolean;
    readonly concurrency: number;
    startSyncOp(): void;
    endSyncOp(): void;
    alloc(length: number): number;
    allocBuff(buff: Uint8Array): number;
    getBuff(pointer: number, length: number): Uint8Array;
    setBuff(pointer: number, buff: Uint8Array): void;
    /** Runs a task on a worker (or in-thread when single-threaded); resolves to its GET outputs. */
    queueAction(task: TaskCommand[]): Promise<Uint8Array[]>;
  }
  export interface Bn128Curve {
    readonly name: string;
    /** Base field modulus p. */
    readonly q: bigint;
    /** Group order r. */
    readonly r: bigint;
    readonly tm: ThreadManager;
    readonly F1: WasmField1;
    readonly F2: WasmField2;
    readonly F12: WasmField;
    readonly Fr: WasmField1;
    readonly G1: WasmCurve;
    readonly G2: WasmCurve;
    readonly prePSize: number;
    readonly preQSize: number;
    pairing(a: Uint8Array, b: Uint8Array): Uint8Array;
    terminate(): Promise<void>;
  }
  /** singleThread = true: no workers. Otherwise one worker per CPU, and the curve is cached globally. */
  export function buildBn128(singleThread?: boolean): Promise<Bn128Curve>;
}
