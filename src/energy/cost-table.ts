/**
 * The one cost table: what each class of WebAssembly operation costs, in fuel.
 *
 * A fuel unit is an energy estimate: a simple integer operation costs 10 units, and one unit
 * is nominally `NOMINAL_PJ_PER_FUEL` picojoules (a core drawing ~7 W above idle while it
 * retires ~10^10 simple operations per second spends ~0.6 nJ per operation, all overheads of
 * fetch, decode and the memory hierarchy included; an ALU add alone is ~0.1 pJ, but that is not
 * what a process costs the node). The nominal figure is only a starting point: `maxwell calibrate`
 * measures how much fuel this machine burns per CPU-second and stores the joules per fuel unit
 * that make the model's figures match the node's power model (see src/energy/calibration.ts).
 *
 * The relative weights are what keep energy honest across instruction mixes: a process that
 * divides, calls indirectly or grows memory costs the node more per instruction than one that
 * adds, so it must burn more fuel per instruction. They are fitted to measured CPU time by
 * scripts/fit-costs.js (dynamic counts of each class on real workloads, then least squares on
 * the relative error of fuel per CPU-second) and checked with `maxwell bench runtime`
 * (fidelity: joules per CPU-second within ±25% of their mean across very different mixes).
 * Change them only with those two in hand.
 */

/** Nominal energy of one fuel unit before calibration, in picojoules (an estimate). */
export const NOMINAL_PJ_PER_FUEL = 60;

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
  /** memory.copy / memory.fill / memory.init: per 16 bytes moved. */
  readonly bulkPer16Bytes: number;
  /** table.grow: per element. */
  readonly tableElem: number;
  /** Table get/set/size, ref.* operations. */
  readonly table: number;
  /** A trap-raising or otherwise rare instruction (unreachable). */
  readonly unreachable: number;
  /** Host I/O (fd_write, fd_read, random_get): per 16 bytes moved. */
  readonly ioPer16Bytes: number;
}

export const DEFAULT_COSTS: CostTable = Object.freeze({
  // Fitted by `SCALE=8 node scripts/fit-costs.js` (lambda 0.05) on the four benchmark kernels
  // and the four sample agents (Node 20.20.2, 2-core AMD EPYC, 2026-11-27): fuel per CPU-second
  // within 13.3% of the mean on all eight (timings on this shared VM vary ±10% run to run). Classes the workloads do not exercise enough to fit
  // keep their prior weight (the first, hand-set table), in the same units (x8).
  control: 9,
  intSimple: 9,
  intMul: 18,
  intDiv: 504,
  floatSimple: 2,
  floatDiv: 120,
  convert: 21,
  load: 2,
  store: 2,
  local: 0,
  global: 18,
  const: 0,
  call: 108,
  callIndirect: 112,
  callHost: 1_600,
  simd: 16,
  memorySize: 16,
  // memory.grow's priors were measured directly (the workloads grow too seldom to pin them
  // down alone): on this machine one grow call costs V8 ~120 µs of wall time (~190 µs of CPU)
  // whatever its size, and the first touch of a fresh 64 KiB page ~35 µs of CPU (page faults),
  // at ~1.1e11 fuel per CPU-second; the fit kept them.
  memoryGrowBase: 15_000_000,
  memoryGrowPerPage: 3_900_000,
  bulkBase: 160,
  bulkPer16Bytes: 31,
  tableElem: 64,
  table: 24,
  unreachable: 8,
  ioPer16Bytes: 32,
});

