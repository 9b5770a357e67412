/**
 * The worker pool: K worker threads (default: one per core), each multiplexing many processes
 * (see executor.ts). The pool owns the node's process table: pid, worker, state, fuel, and the
 * final record of each dead process.
 *
 * The pool places each new process on the worker with the fewest live processes. A parked
 * process can be moved to another worker (`migrate`: its memory and mutable globals are copied
 * into a new instance there; the kernel moves waiting bidders to idle workers).
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import type { CompiledModule } from './module.js';
import type { ProcessExit, ProcessState, SpawnOptions } from './process.js';
import type { FinishedProcess, FromWorker, ProcessStats, SlotEnd, ToWorker } from './protocol.js';
import type { SlotView } from './abi.js';
import { DEFAULT_SLICE_FUEL } from './executor.js';
import { nominalCalibration } from '../energy/calibration.js';

/** Shared kill cells per worker: pids being killed mid-slice (0 = free). */
export const INTERRUPT_CELLS = 8;

export interface PoolInit {
  /** Worker threads; default: the number of cores. */
  workers?: number;
  sliceFuel?: number;
  /** How long a worker runs slices before it looks at its messages, in ms. */
  windowMs?: number;
  /** How often workers report their process table, in ms. */
  statsEveryMs?: number;
  /** The most live processes on the node. */
  maxProcesses?: number;
  /** Joules per fuel unit, from the node's calibration (src/energy/calibration.ts). */
  jPerFuel?: number;
  /** Run processes only on granted fuel (the kernel sells the slots); default: round robin. */
  slotted?: boolean;
  /** Slotted: told of each grant used up, with the fuel the process really used on it. */
  onSlotEnd?: (end: SlotEnd & { worker: number }) => void;
  /** The first pid to hand out (a node restarted on the same ledger must not reuse its pids). */
  firstPid?: number;
}

export interface ProcessRecord {
  pid: number;
  worker: number;
  state: ProcessState;
  bid: number;
  fuelUsed: number;
  memoryPages: number;
  switches: number;
  spawnedAtMs: number;
  exit: ProcessExit | null;
  /** fuelUsed × the node's joules per fuel: a model figure, so always 'estimated'. */
  energyJ: number;
  energySource: 'estimated';
}

interface Pending {
  spawned: { resolve: (spawnUs: number) => void; reject: (e: Error) => void };
  done: { resolve: (f: FinishedProcess) => void; reject: (e: Error) => void };
}

export type PoolSpawnOptions = Omit<SpawnOptions, 'pid'>;

export interface SpawnedProcess {
  pid: number;
  /** Microseconds the worker took to create the process (instantiate + setup). */
  spawnUs: number;
  /** Resolves when the process dies, with its final record. */
  done: Promise<FinishedProcess>;
}

export class WorkerPool {
  readonly size: number;
  private readonly init: Required<Omit<PoolInit, 'onSlotEnd' | 'firstPid'>>;
  private readonly onSlotEnd: PoolInit['onSlotEnd'];
  private workers: Worker[] = [];
  /** Per worker, shared cells for killing processes in the middle of a long slice. */
  private interrupts: Int32Array[] = [];
  /** Per worker, one cell: the number of the slot that must end at its next slice end (preempt). */
  private preempts: Int32Array[] = [];
  /** Workers that crashed: no process is placed on them again. */
  private readonly dead = new Set<number>();
  private readonly liveCount: number[];
  private readonly table = new Map<number, ProcessRecord>();
  private readonly pending = new Map<number, Pending>();
  private nextPid: number;
  /** Each live process's module (to carry it to another worker). */
  private readonly modules = new Map<number, CompiledModule>();
  /** Processes being moved, with the messages for them held until they land. */
  private readonly moving = new Map<number, ToWorker[]>();
  private readonly moveWaiters = new Map<number, (m: Extract<FromWorker, { type: 'detached' | 'adopted' }>) => void>();
  private started = false;

  constructor(init: PoolInit = {}) {
    this.size = init.workers ?? availableParallelism();
    if (!Number.isInteger(this.size) || this.size < 1 || this.size > 256) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `workers must be an integer in [1, 256], not ${init.workers}`);
    }
    this.init = {
      workers: this.size,
      jPerFuel: init.jPerFuel ?? nominalCalibration().jPerFuel,
      sliceFuel: init.sliceFuel ?? DEFAULT_SLICE_FUEL,
      windowMs: init.windowMs ?? 5,
      statsEveryMs: init.statsEveryMs ?? 100,
      maxProcesses: init.maxProcesses ?? 10_000,
      slotted: init.slotted ?? false,
    };
    this.onSlotEnd = init.onSlotEnd;
    this.nextPid = init.firstPid ?? 1;
    if (!Number.isSafeInteger(this.nextPid) || this.nextPid < 1 || this.nextPid >= 2 ** 32) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `firstPid must be in [1, 2^32), not ${init.firstPid}`);
    this.liveCount = new Array<number>(this.size).fill(0);
  }

  async start(): Promise<void> {
    assert(!this.started, 'start once');
    this.started = true;
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.size; i++) {
      const interrupt = new Int32Array(new SharedArrayBuffer(4 * INTERRUPT_CELLS));
      this.interrupts.push(interrupt);
      const preempt = new Int32Array(new SharedArrayBuffer(4));
      this.preempts.push(preempt);
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { index: i, sliceFuel: this.init.sliceFuel, windowMs: this.init.windowMs, statsEveryMs: this.init.statsEveryMs, interrupt, preempt, slotted: this.init.slotted },
      });
      ready.push(new Promise((resolve, reject) => {
        const onMessage = (m: FromWorker) => {
          if (m.type === 'ready') {
            w.off('message', onMessage);
            resolve();
          }
        };
        w.on('message', onMessage);
        w.once('error', reject);
      }));
      w.on('message', (m: FromWorker) => this.onMessage(i, m));
      w.on('error', (err) => this.onWorkerDeath(i, err));
      w.on('exit', (code) => { if (this.workers.length > 0) this.onWorkerDeath(i, new Error(`exited with code ${code}`)); });
      this.workers.push(w);
    }
    await Promise.all(ready);
  }

  async stop(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
    for (const [pid, p] of this.pending) {
      const err = new MaxwellError(ErrorCode.NODE_STOPPED, `the node stopped before process ${pid} finished`);
      p.spawned.reject(err);
      p.done.reject(err);
    }
    this.pending.clear();
  }

  /** Places a new process on the least loaded worker. Rejects with the spawn's error code. */
  async spawn(module: CompiledModule, options: PoolSpawnOptions): Promise<SpawnedProcess> {
    assert(this.started && this.workers.length > 0, 'the pool is started');
    const live = this.liveCount.reduce((a, b) => a + b, 0);
    if (this.nextPid >= 2 ** 32) throw new MaxwellError(ErrorCode.PROCESS_LIMIT, 'this node has used every pid (2^32)');
    if (live >= this.init.maxProcesses) {
      throw new MaxwellError(ErrorCode.PROCESS_LIMIT, `the node holds its limit of ${this.init.maxProcesses} live processes`);
    }
    let worker = -1;
    for (let i = 0; i < this.size; i++) {
      if (this.dead.has(i)) continue;
      if (worker < 0 || this.liveCount[i]! < this.liveCount[worker]!) worker = i;
    }
    if (worker < 0) throw new MaxwellError(ErrorCode.NODE_STOPPED, 'every worker of the node has crashed');
    const pid = this.nextPid++;
    this.liveCount[worker]!++;
    this.table.set(pid, {
      pid, worker, state: 'ready', bid: options.bid ?? 1, fuelUsed: 0, memoryPages: module.info.guestInitialPages, switches: 0,
      spawnedAtMs: Date.now(), exit: null, energyJ: 0, energySource: 'estimated',
    });
    let spawned!: Pending['spawned'];
    let done!: Pending['done'];
    const spawnedP = new Promise<number>((resolve, reject) => { spawned = { resolve, reject }; });
    const doneP = new Promise<FinishedProcess>((resolve, reject) => { done = { resolve, reject }; });
    doneP.catch(() => {}); // a caller that never awaits `done` must not crash the node on stop()
    this.pending.set(pid, { spawned, done });
    this.modules.set(pid, module);
    this.post(worker, { type: 'spawn', module, options: { jPerFuel: this.init.jPerFuel, ...options, pid } });
    const spawnUs = await spawnedP;
    return { pid, spawnUs, done: doneP };
  }

  kill(pid: number, message = 'killed by the operator'): void {
    const r = this.table.get(pid);
    if (r === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no process ${pid}`, { pid });
    if (r.state === 'dead') return;
    // The message kills a waiting process; a shared cell reaches one that is running a slice
    // (its worker does not read messages until the slice ends). If every cell is taken, the
    // message alone does it, at the end of the worker's window.
    // (A process on the move is not running: its kill waits for it where it lands.)
    const cells = this.interrupts[r.worker]!;
    if (!this.moving.has(pid)) for (let i = 0; i < cells.length; i++) if (Atomics.compareExchange(cells, i, 0, pid) === 0) break;
    this.post(r.worker, { type: 'kill', pid, exit: { reason: 'killed', code: null, errorCode: ErrorCode.KILLED, message } });
  }

  /**
   * Tells process `pid` it must die of `exit` (the kernel's apoptosis): its `maxwell_apoptosis`
   * export, if any, runs first on at most `graceFuel`. Unlike kill, it does not interrupt a
   * slice in progress: the notice is heard when the slice ends.
   */
  notifyDeath(pid: number, exit: ProcessExit, graceFuel: number, graceView?: SlotView): void {
    const r = this.table.get(pid);
    if (r === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no process ${pid}`, { pid });
    if (r.state === 'dead') return;
    this.post(r.worker, { type: 'kill', pid, exit, graceFuel, ...(graceView === undefined ? {} : { graceView }) });
  }

  /**
   * Slotted pools: lets process `pid` run for `fuel` more on its worker (a slot the kernel sold
   * it). When the grant is used up, onSlotEnd says how much fuel it really used.
   */
  grant(pid: number, fuel: number, view?: SlotView, slot = 0): void {
    assert(this.init.slotted, 'grants are for a slotted pool');
    const r = this.table.get(pid);
    if (r === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no process ${pid}`, { pid });
    if (!Number.isSafeInteger(fuel) || fuel <= 0) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a grant is a positive whole amount of fuel, not ${fuel}`);
    if (r.state === 'dead') return;
    if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** 31) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a slot number is an integer in [0, 2^31), not ${slot}`);
    this.post(r.worker, { type: 'grant', pid, fuel, ...(view === undefined ? {} : { view }), ...(slot === 0 ? {} : { slot }) });
  }

  /**
   * Slotted pools: ends slot number `slot` of process `pid` early, at its next slice end (a
   * slice is the pool's sliceFuel): the slot end reports the fuel it used so far. For a higher
   * bid that must not wait out the slot. A request for a slot that has already ended does nothing.
   */
  preempt(pid: number, slot: number): void {
    const r = this.table.get(pid);
    if (r === undefined || r.state === 'dead' || this.moving.has(pid) || slot === 0) return;
    Atomics.store(this.preempts[r.worker]!, 0, slot);
  }

  /** The worker a process lives on now (migrate moves it). */
  workerOf(pid: number): number | undefined {
    return this.table.get(pid)?.worker;
  }

  /**
   * Moves a parked process to worker `to` (its memory and globals, copied once): resolves true
   * when it has landed, false when it could not move now (it holds a grant, is dying, or its
   * module ties it to its instance). Messages for it (grants, kills) wait until it lands.
   */
  async migrate(pid: number, to: number): Promise<boolean> {
    const r = this.table.get(pid);
    const module = this.modules.get(pid);
    if (r === undefined || r.state === 'dead' || module === undefined || !module.info.migratable) return false;
    if (r.worker === to || this.dead.has(to) || to < 0 || to >= this.size || this.moving.has(pid)) return false;
    const from = r.worker;
    this.moving.set(pid, []);
    const reply = <T extends 'detached' | 'adopted'>() => new Promise<Extract<FromWorker, { type: T }>>((resolve) => {
      this.moveWaiters.set(pid, resolve as (m: Extract<FromWorker, { type: 'detached' | 'adopted' }>) => void);
    });
    const detached = reply<'detached'>();
    this.workers[from]!.postMessage({ type: 'detach', pid } satisfies ToWorker);
    const d = await detached;
    if (!d.snapshot) {
      this.release(pid, from);
      return false;
    }
    r.worker = to;
    this.liveCount[from]!--;
    this.liveCount[to]!++;
    const adopted = reply<'adopted'>();
    this.workers[to]?.postMessage({ type: 'adopt', module, snapshot: d.snapshot, ageMs: d.ageMs, runMs: d.runMs } satisfies ToWorker, [d.snapshot.memory]);
    const a = await adopted;
    if (!a.ok) {
      // It left one worker and the other refused it (at its process limit): it is lost, loudly.
      this.liveCount[to]!--;
      r.state = 'dead';
      r.exit = { reason: 'killed', code: null, errorCode: (a.code as ErrorCode) ?? ErrorCode.KILLED, message: `lost while moving to worker ${to}: ${a.message}` };
      const p = this.pending.get(pid);
      this.pending.delete(pid);
      this.moving.delete(pid);
      p?.done.reject(new MaxwellError(r.exit.errorCode!, r.exit.message, { pid }));
      return false;
    }
    this.release(pid, to);
    return true;
  }

  /** Ends a move: the messages held for the process go to the worker it is on. */
  private release(pid: number, worker: number): void {
    const held = this.moving.get(pid) ?? [];
    this.moving.delete(pid);
    for (const m of held) this.workers[worker]?.postMessage(m);
  }

  /** The process table, newest first. */
  list(): ProcessRecord[] {
    return [...this.table.values()].reverse();
  }

  get(pid: number): ProcessRecord | undefined {
    return this.table.get(pid);
  }

  private post(worker: number, msg: ToWorker): void {
    // A process on the move gets its messages where it lands.
    if ((msg.type === 'grant' || msg.type === 'kill') && this.moving.has(msg.pid)) {
      this.moving.get(msg.pid)!.push(msg);
      return;
    }
    this.workers[worker]!.postMessage(msg);
  }

  private onMessage(worker: number, m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        return;
      case 'spawned':
        this.pending.get(m.pid)?.spawned.resolve(m.spawnUs);
        return;
      case 'spawn-failed': {
        const r = this.table.get(m.pid);
        if (r) {
          r.state = 'dead';
          r.exit = { reason: 'invalid', code: null, errorCode: m.code as ErrorCode, message: m.message };
        }
        this.liveCount[worker]!--;
        this.modules.delete(m.pid);
        const p = this.pending.get(m.pid);
        this.pending.delete(m.pid);
        const err = new MaxwellError(m.code as ErrorCode, m.message, { pid: m.pid });
        p?.spawned.reject(err);
        p?.done.reject(err);
        return;
      }
      case 'exit': {
        const f = m.process;
        this.update(f);
        const r = this.table.get(f.pid);
        if (r) r.exit = f.exit;
        this.liveCount[worker]!--;
        const p = this.pending.get(f.pid);
        this.pending.delete(f.pid);
        this.modules.delete(f.pid);
        p?.done.resolve(f);
        return;
      }
      case 'stats':
        for (const s of m.processes) this.update(s);
        return;
      case 'slots':
        for (const e of m.ends) this.onSlotEnd?.({ ...e, worker: m.worker });
        return;
      case 'detached':
      case 'adopted': {
        const resolve = this.moveWaiters.get(m.pid);
        this.moveWaiters.delete(m.pid);
        resolve?.(m);
        return;
      }
    }
  }

  private update(s: ProcessStats): void {
    const r = this.table.get(s.pid);
    if (r === undefined || r.state === 'dead') return;
    r.state = s.state;
    r.bid = s.bid;
    r.fuelUsed = s.fuelUsed;
    r.energyJ = s.fuelUsed * this.init.jPerFuel;
    r.memoryPages = s.memoryPages;
    r.switches = s.switches;
  }

  private onWorkerDeath(worker: number, err: Error): void {
    // A worker dies only from a bug in Maxwell (guests cannot throw past their process).
    // Its processes are lost: fail them loudly rather than leave callers waiting, and place no
    // process on it again.
    if (this.dead.has(worker)) return;
    this.dead.add(worker);
    // Moves to or from it will never be answered: a move from it failed (its process is lost
    // below), a move to it lost the process it carried.
    for (const [pid, resolve] of this.moveWaiters) {
      const r = this.table.get(pid);
      if (r?.worker !== worker) continue;
      this.moveWaiters.delete(pid);
      resolve({ type: 'adopted', pid, ok: false, code: ErrorCode.KILLED, message: `worker ${worker} crashed` });
    }
    this.liveCount[worker] = 0;
    for (const r of this.table.values()) {
      if (r.worker !== worker || r.state === 'dead') continue;
      r.state = 'dead';
      r.exit = { reason: 'killed', code: null, errorCode: ErrorCode.KILLED, message: `worker ${worker} crashed: ${err.message}` };
      const p = this.pending.get(r.pid);
      this.pending.delete(r.pid);
      const e = new Error(`worker ${worker} crashed: ${err.message}`);
      p?.spawned.reject(e);
      p?.done.reject(e);
    }
  }
}
