/**
 * Messages between the pool (main thread) and its workers. Plain structured-clone data:
 * a compiled WebAssembly.Module crosses threads without recompiling.
 */
import type { CompiledModule } from './module.js';
import type { ProcessExit, ProcessState, SpawnOptions } from './process.js';

export type ToWorker =
  | { type: 'spawn'; module: CompiledModule; options: SpawnOptions }
  | { type: 'kill'; pid: number; exit: ProcessExit }
  /** Slotted pools: let `pid` run for `fuel` more (a slot the kernel sold it). */
  | { type: 'grant'; pid: number; fuel: number }
  | { type: 'stop' };

export interface ProcessStats {
  pid: number;
  state: ProcessState;
  bid: number;
  fuelUsed: number;
  memoryPages: number;
  switches: number;
}

export interface FinishedProcess extends ProcessStats {
  exit: ProcessExit;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Wall time from spawn to death on the worker, in ms. */
  wallMs: number;
  /** Wall time the process spent running slices (its share of the worker), in ms. */
  runMs: number;
}

export type FromWorker =
  | { type: 'ready'; worker: number }
  | { type: 'spawned'; pid: number; spawnUs: number }
  | { type: 'spawn-failed'; pid: number; code: string; message: string }
  | { type: 'exit'; process: FinishedProcess }
  | { type: 'stats'; worker: number; processes: ProcessStats[] }
  /** Slotted pools: grants used up (or ended by a death), with the fuel each really used. */
  | { type: 'slots'; worker: number; ends: { pid: number; fuelUsed: number; dead: boolean }[] };
