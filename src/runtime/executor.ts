/**
 * The executor: many processes multiplexed on one thread.
 *
 * A process is not a thread: it is an instance plus its suspended stack (in its own memory),
 * so switching is an Asyncify unwind of one process and a rewind of the next, a fraction of a
 * microsecond (docs/design.md has the measurements). Each worker thread of the pool runs one
 * executor; tests, `maxwell calibrate` and the benchmarks run one directly.
 *
 * The policy here is plain round robin over runnable processes, one slice of fuel each. The
 * kernel replaces the policy with the market (the slot auction) without changing the
 * mechanism: in a *slotted* executor a process runs only on fuel granted to it (`grant`, one
 * bought slot), and parks when the grant is used; each used grant is reported (`takeSlotEnds`)
 * so that the kernel can charge it. Refills cannot suspend (instrument.ts), so a slot may run
 * past its grant by what one refill hands out before the next loop header: the kernel charges
 * the fuel used, not the fuel granted.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import type { CompiledModule } from './module.js';
import { MAX_SLICE_FUEL, Process, type ProcessExit, type ProcessSnapshot, type SpawnOptions } from './process.js';
import type { SlotView } from './abi.js';
import type { SlotEnd } from './protocol.js';

export interface ExecutorInit {
  /** Fuel per slice. At ~1.2·10^11 fuel per CPU-second here, 5·10^8 is about 4 ms. */
  sliceFuel: number;
  /** The most live processes this executor holds. */
  maxProcesses: number;
  /** Run processes only on granted fuel (the kernel's slots), instead of round robin. */
  slotted?: boolean;
  /**
   * Slotted: a shared cell where the node writes the number of the slot that must end early (a
   * higher bid arrived): read at each slice end, where that slot is cut to the fuel used so far.
   * Slot numbers are never reused, so a request that arrives after its slot ended cuts nothing.
   */
  preempt?: Int32Array;
}

export type { SlotEnd };

export const DEFAULT_SLICE_FUEL = 500_000_000;
export const DEFAULT_MAX_PROCESSES = 10_000;

export interface Death {
  process: Process;
  exit: ProcessExit;
}

export class Executor {
  private readonly init: Omit<ExecutorInit, 'preempt'>;
  private readonly preemptCell: Int32Array | undefined;
  private readonly live = new Map<number, Process>();
  /** Runnable processes in round-robin order: a ring buffer would save a shift; n is small per slice. */
  private queue: Process[] = [];
  private head = 0;
  private deadlineMs = Infinity;
  /** Slotted: each granted process's grant and its fuel count when the grant began. */
  private readonly grants = new Map<number, { fuel: number; startFuel: number; slot: number }>();
  private slotEnds: SlotEnd[] = [];

  constructor(init: Partial<ExecutorInit> = {}) {
    this.init = {
      sliceFuel: init.sliceFuel ?? DEFAULT_SLICE_FUEL,
      maxProcesses: init.maxProcesses ?? DEFAULT_MAX_PROCESSES,
      slotted: init.slotted ?? false,
    };
    this.preemptCell = init.preempt;
    assert(this.init.sliceFuel > 0 && this.init.sliceFuel <= MAX_SLICE_FUEL, 'sliceFuel in (0, MAX_SLICE_FUEL]');
  }

  get size(): number {
    return this.live.size;
  }

  get runnable(): number {
    return this.queue.length - this.head;
  }

  /** Creates a process (instantiates the module); throws MaxwellError for bad modules or limits. */
  spawn(compiled: CompiledModule, options: SpawnOptions): Process {
    if (this.live.size >= this.init.maxProcesses) {
      throw new MaxwellError(ErrorCode.PROCESS_LIMIT, `this executor holds its limit of ${this.init.maxProcesses} processes`);
    }
    assert(!this.live.has(options.pid), `pid ${options.pid} is unique`);
    return this.admit(new Process(compiled, options));
  }

  private admit(p: Process): Process {
    // Keep running inline while nobody else waits and the time window lasts: a suspension
    // would only be undone at once.
    // Slotted: continuing hands out a whole slice, so a process whose grant has less than that
    // left is suspended and resumed on exactly what is left.
    p.onSliceEnd = () => {
      const g = this.grants.get(p.pid);
      if (g !== undefined && g.slot !== 0 && this.preemptCell !== undefined && Atomics.load(this.preemptCell, 0) === g.slot) {
        Atomics.compareExchange(this.preemptCell, 0, g.slot, 0);
        g.fuel = p.fuelUsed - g.startFuel; // the slot ends here, paid for what it used
        return 'suspend';
      }
      // A report full of claims ends the slot too (the kernel settles them; the next slot takes more).
      if (g !== undefined && p.slotFull) {
        g.fuel = p.fuelUsed - g.startFuel;
        return 'suspend';
      }
      return this.runnable > 0 || performance.now() >= this.deadlineMs || this.grantLeft(p) < this.init.sliceFuel ? 'suspend' : 'continue';
    };
    this.live.set(p.pid, p);
    if (!this.init.slotted) this.queue.push(p);
    return p;
  }

  /**
   * Slotted: lets process `pid` run for `fuel` more (one bought slot), its ABI calls seeing
   * `view` (the kernel's balance and price for the slot). False if it is not live.
   */
  grant(pid: number, fuel: number, view?: SlotView, slot = 0): boolean {
    assert(this.init.slotted === true, 'grants are for a slotted executor');
    assert(Number.isSafeInteger(fuel) && fuel > 0, 'a grant is a positive whole amount of fuel');
    const p = this.live.get(pid);
    if (p === undefined || p.state === 'dead') return false;
    const g = this.grants.get(pid);
    if (g !== undefined) {
      g.fuel += fuel;
      return true;
    }
    this.grants.set(pid, { fuel, startFuel: p.fuelUsed, slot });
    if (view !== undefined) p.setSlotView(view);
    this.queue.push(p);
    return true;
  }

  /**
   * The node tells process `pid` to die of `exit`: with `graceFuel` > 0 and a
   * `maxwell_apoptosis` export, that handler runs first on at most the grace (a slot of it, when
   * slotted), then the process dies of `exit`. Without a handler it dies at once (returned).
   */
  notifyDeath(pid: number, exit: ProcessExit, graceFuel: number, view?: SlotView): Death | undefined {
    const p = this.live.get(pid);
    if (p === undefined) return undefined;
    if (!p.beginApoptosis(exit, graceFuel)) return this.kill(pid, exit);
    if (view !== undefined) p.setSlotView(view);
    if (this.init.slotted) {
      // The slot it was sold ends here (reported, so the kernel charges what it used); the grace
      // is a slot of its own, which the kernel does not charge.
      const queued = this.grants.has(pid);
      if (queued) this.endGrant(p, false);
      this.grants.set(pid, { fuel: graceFuel, startFuel: p.fuelUsed, slot: 0 }); // never preempted
      if (!queued) this.queue.push(p);
    } else if (!this.queue.slice(this.head).includes(p)) {
      this.queue.push(p);
    }
    return undefined;
  }

  /**
   * Takes a parked process out of this executor to move it to another (slotted executors): its
   * snapshot, or undefined if it cannot move now (it holds a grant, is dying or dead, or its
   * module ties it to its instance).
   */
  detach(pid: number): ProcessSnapshot | undefined {
    const p = this.live.get(pid);
    if (p === undefined || this.grants.has(pid) || !p.movable) return undefined;
    if (!this.init.slotted && this.queue.slice(this.head).includes(p)) return undefined;
    const s = p.snapshot(); // throws before anything is removed
    this.live.delete(pid);
    return s;
  }

  /** Carries on a process detached from another executor (parked: it runs when granted fuel). */
  adopt(compiled: CompiledModule, s: ProcessSnapshot, interrupt?: Int32Array): Process {
    if (this.live.size >= this.init.maxProcesses) {
      throw new MaxwellError(ErrorCode.PROCESS_LIMIT, `this executor holds its limit of ${this.init.maxProcesses} processes`);
    }
    assert(!this.live.has(s.options.pid), `pid ${s.options.pid} is unique`);
    return this.admit(Process.restore(compiled, s, interrupt));
  }

  /** The grants used up since the last call. */
  takeSlotEnds(): SlotEnd[] {
    const ends = this.slotEnds;
    this.slotEnds = [];
    return ends;
  }

  /** Fuel left on the process's grant (Infinity when not slotted). */
  private grantLeft(p: Process): number {
    if (!this.init.slotted) return Infinity;
    const g = this.grants.get(p.pid);
    return g === undefined ? 0 : g.fuel - (p.fuelUsed - g.startFuel);
  }

  /** Slotted: closes the process's grant, reporting the fuel it used. */
  private endGrant(p: Process, dead: boolean): void {
    const g = this.grants.get(p.pid);
    if (g === undefined) return;
    this.grants.delete(p.pid);
    // A request for this slot that comes too late is cleared (it could match no other slot anyway).
    if (this.preemptCell !== undefined && g.slot !== 0) Atomics.compareExchange(this.preemptCell, 0, g.slot, 0);
    this.slotEnds.push({ pid: p.pid, fuelUsed: p.fuelUsed - g.startFuel, dead, ...p.takeSlotReport() });
  }

  get(pid: number): Process | undefined {
    return this.live.get(pid);
  }

  processes(): IterableIterator<Process> {
    return this.live.values();
  }

  /** Ends a process. A running one dies at its next yield; a waiting one at once. */
  kill(pid: number, exit: ProcessExit): Death | undefined {
    const p = this.live.get(pid);
    if (p === undefined) return undefined;
    p.kill(exit);
    if (p.state === 'dead') {
      this.live.delete(pid);
      this.endGrant(p, true);
      return { process: p, exit: p.exit! };
    }
    return undefined;
  }

  /**
   * Runs slices round robin until `windowMs` has passed or nothing is runnable, so the caller
   * (a worker's event loop) gets control back regularly. Returns the processes that died.
   */
  runFor(windowMs: number): Death[] {
    const deaths: Death[] = [];
    this.deadlineMs = performance.now() + windowMs;
    while (this.runnable > 0 && performance.now() < this.deadlineMs) {
      const p = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (p.state === 'dead') continue; // killed while waiting
      const left = this.grantLeft(p);
      const outcome = p.runSlice(Math.min(this.init.sliceFuel, left));
      if (outcome.kind === 'dead') {
        this.live.delete(p.pid);
        this.endGrant(p, true);
        deaths.push({ process: p, exit: outcome.exit });
      } else if (this.grantLeft(p) <= 0) {
        this.endGrant(p, false); // parked until its next slot
      } else {
        this.queue.push(p);
      }
    }
    this.deadlineMs = Infinity;
    return deaths;
  }

  /** Runs until every process is dead (for tests, calibration and one-shot runs). */
  runToCompletion(): Death[] {
    const deaths: Death[] = [];
    while (this.runnable > 0) deaths.push(...this.runFor(1_000));
    return deaths;
  }
}
