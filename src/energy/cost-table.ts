/**
 * The one cost table: what each class of WebAssembly operation costs, in fuel.
 *
 * A fuel unit is an energy estimate: one unit stands for the energy of one simple integer
 * operation on a server core, nominally `NOMINAL_PJ_PER_FUEL` picojoules (a 10 W core retiring
 * roughly 10^10 simple operations per second spends ~1 nJ per operation, all overheads of fetch,
 * decode and the memory hierarchy included; an ALU add alone is ~0.1 pJ, but that is not what a
 * process costs the node). The nominal figure is only a starting point: `maxwell calibrate`
 * measures how much fuel this machine burns per CPU-second and stores the joules per fuel unit
 * that make the model's figures match the node's power model (see src/energy/calibration.ts).
 *
 * The relative weights are what keep energy honest across instruction mixes: a process that
 * divides, calls indirectly or grows memory costs the node more per instruction than one that
 * adds, so it must burn more fuel per instruction. They were set from the latency of each class
 * on x86-64 under V8's TurboFan and then checked with `maxwell bench runtime` (fidelity_spread:
 * joules per CPU-second must stay within ±25% across kernels with very different mixes).
 * Change them only with that benchmark in hand.
 */

/** Nominal energy of one fuel unit before calibration, in picojoules (an estimate). */
export const NOMINAL_PJ_PER_FUEL = 1000;

export interface CostTable {
  /** Block, loop, br, br_if, nop, drop, select, return: control transfer and glue. */
  readonly control: number;
  /** i32/i64 add, sub, logic, shifts, comparisons, clz/ctz/popcnt, sign extension, eqz. */
  readonly intSimple: number;
  readonly intMul: number;
  /** Integer division and remainder: tens of cycles on x86-64. */
  readonly intDiv: number;
  readonly floatSimple: number;
  readonly floatDiv: number;
  /** Conversions, reinterpretations, truncations. */
  readonly convert: number;
  readonly load: number;
  readonly store: number;
  /** local.get/set/tee and global.get/set: mostly register moves once compiled. */
  readonly local: number;
  readonly global: number;
  readonly const: number;
  /** A direct call: frame setup, argument moves and the return. */
  readonly call: number;
  /** An indirect call: a table load, a signature check, then a call. */
  readonly callIndirect: number;
  /** A call into the host (WASI, the maxwell ABI). */
  readonly callHost: number;
  readonly simd: number;
  readonly memorySize: number;
  /** memory.grow: fixed part (the host call and the bookkeeping). */
  readonly memoryGrowBase: number;
  /** memory.grow: per 64 KiB page added (the node must map and zero it). */
  readonly memoryGrowPerPage: number;
  /** memory.copy / memory.fill / memory.init: fixed part. */
  readonly bulkBase: number;
  /** memory.copy / memory.fill / memory.init: bytes per fuel unit, as a power of two shift. */
  readonly bulkBytesPerFuelShift: number;
  /** table.grow: per element. */
  readonly tableElem: number;
  /** Table get/set/size, ref.* operations. */
  readonly table: number;
  /** A trap-raising or otherwise rare instruction (unreachable). */
  readonly unreachable: number;
  /** Host I/O (fd_write, fd_read, random_get): bytes per fuel unit, as a shift. */
  readonly ioBytesPerFuelShift: number;
}

export const DEFAULT_COSTS: CostTable = Object.freeze({
  control: 1,
  intSimple: 1,
  intMul: 3,
  intDiv: 25,
  floatSimple: 3,
  floatDiv: 15,
  convert: 3,
  load: 2,
  store: 2,
  local: 0,
  global: 1,
  const: 0,
  call: 10,
  callIndirect: 14,
  callHost: 200,
  simd: 2,
  memorySize: 2,
  memoryGrowBase: 2_000,
  memoryGrowPerPage: 4_000,
  bulkBase: 20,
  bulkBytesPerFuelShift: 4,
  tableElem: 8,
  table: 3,
  unreachable: 1,
  ioBytesPerFuelShift: 2,
});

/**
 * The largest static cost of one region (the code between two charge points). The yield
 * protocol promises a guest at least this much fuel when it resumes, so a static charge never
 * needs more than one refill.
 */
export const MAX_STATIC_REGION_FUEL = 1 << 24;
