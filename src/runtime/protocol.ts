/**
 * Messages between the pool (main thread) and its workers. Plain structured-clone data:
 * a compiled WebAssembly.Module crosses threads without recompiling.
 */
import type { CompiledModule } from './module.js';
import type { ProcessExit, ProcessSnapshot, ProcessState, SpawnOptions } from './process.js';
import type { SlotView } from './abi.js';

export type ToWorker =
  | { type: 'spawn'; module: CompiledModule; options: SpawnOptions }
  /** Ends a process; with graceFuel > 0, first runs its `maxwell_apoptosis` export on that much fuel (a death notice). */
  | { type: 'kill'; pid: number; exit: ProcessExit; graceFuel?: number; graceView?: SlotView }
  /** Slotted pools: let `pid` run for `fuel` more (a slot the kernel sold it), with what its ABI calls see. */
  | { type: 'grant'; pid: number; fuel: number; view?: SlotView; slot?: number }
  /** Migration: take parked process `pid` out of this worker (answered by 'detached'). */
  | { type: 'detach'; pid: number }
  /** Migration: carry on a process detached from another worker (answered by 'adopted'). */
  | { type: 'adopt'; module: CompiledModule; snapshot: ProcessSnapshot; ageMs: number; runMs: number }
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
  /** The snapshot of a detached process, or null when it could not be moved now. */
  | { type: 'detached'; pid: number; snapshot: ProcessSnapshot | null; ageMs: number; runMs: number }
  | { type: 'adopted'; pid: number; ok: boolean; code?: string; message?: string }
  /** Slotted pools: grants used up (or ended by a death), with the fuel each really used. */
  | { type: 'slots'; worker: number; ends: SlotEnd[] };

/** A grant used up (or ended by a death): what the process did on it, for the kernel to settle. */
export interface SlotEnd {
  pid: number;
  /** Fuel the process used on this grant (may pass the grant by one refill). */
  fuelUsed: number;
  dead: boolean;
  /** The bid it set with maxwell.bid during the slot (tokens/J), or null if it set none. */
  bid: number | null;
  /** Memory grown on this grant (bytes): the kernel posts the erasure bond. */
  grownBytes: number;
  /** Bytes erased by maxwell.discard on this grant: the kernel charges the tax. */
  discardedBytes: number;
  /** Claims made with maxwell.claim on this grant (abi.ts's layout): the kernel checks and pays them. */
  claims?: Uint8Array[];
}
