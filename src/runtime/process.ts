/**
 * A process: one instance of an instrumented module, run in slices of fuel on whatever thread
 * owns it, suspended and resumed through Asyncify.
 *
 * Lifecycle:  ready ──run──► running ──yield──► suspended ──run──► running ... ──► dead
 * A dead process has an `exit`: a normal return or proc_exit (reason "exit"), a trap, apoptosis
 * (it could not pay for the fuel it needed), or a kill.
 *
 * The fuel protocol with the instrumented guest (see instrument.ts):
 *  - the host sets the fuel global to the slice it grants, then calls (or rewinds) the guest;
 *  - the guest charges regions as it enters them; when the balance is below a region's `need`
 *    it calls `yield(need)` at a loop header or a bulk operation, `refill(need)` at a function
 *    entry or a large if-arm;
 *  - in `yield`, the host accounts what was used, then decides: refill and return (keep
 *    running), unwind (suspend), or throw (kill). `refill` can only refill or throw: entries
 *    are not suspension points (instrument.ts says why). A refill is always at least `need`,
 *    so the guest never runs a region it has not paid for;
 *  - nothing is granted beyond the process's budget: if the budget cannot cover `need`, the
 *    process dies of apoptosis before the region runs. Small if-arm charges are made without
 *    a check and can overdraw by the arms on one path between two checks (at most
 *    UNCHECKED_MAX_FUEL each); that debt is paid first at the next check;
 *  - host work (I/O, memory growth) is booked here, before it is done, and refused past the
 *    budget.
 */
import { ErrorCode, MaxwellError } from '../errors.js';
import { assert } from '../assert.js';
import { DEFAULT_COSTS, type CostTable } from '../energy/cost-table.js';
import { FUEL_EXPORT, HOST_MODULE, MAX_WASM_PAGES, MEMORY_EXPORT, START_EXPORT, WASM_PAGE_BYTES } from './instrument.js';
import type { CompiledModule } from './module.js';
import { Capture, ProcExit, WASI_MODULE, wasiImports } from './wasi.js';
import {
  ABI_EAGAIN, ABI_ECANNOTPAY, ABI_EINVAL, ABI_MODULE, ABI_OK, APOPTOSIS_EXPORT, MAX_CLAIMS_PER_SLOT, QUERY_HEADER_BYTES, SESSION_BYTES,
  abiImports, type SlotView,
} from './abi.js';

/**
 * A query a requester gave the process (proof of useful work): `maxwell.query` hands it to the
 * guest, `maxwell.claim` takes the answer, which the kernel checks and pays for.
 */
export interface ProcessQuery {
  /** Issued by the node: what the claim must name. */
  session: Uint8Array;
  batch: number;
  /** batch × inputs int8, sample-major. */
  input: Int8Array;
}
/** The most queries one process may be given, and their most input bytes in all. */
export const MAX_PROCESS_QUERIES = 65_536;
export const MAX_QUERY_INPUT_BYTES = 64 * 2 ** 20;

export type ExitReason = 'exit' | 'trap' | 'apoptosis' | 'killed' | 'invalid';

export interface ProcessExit {
  reason: ExitReason;
  /** The exit code for reason "exit"; null otherwise. */
  code: number | null;
  /** The stable error code for anything but a clean exit. */
  errorCode: ErrorCode | null;
  message: string;
}

export type ProcessState = 'ready' | 'running' | 'suspended' | 'dead';

/**
 * A parked process, whole: what another worker needs to carry on running it (Process.snapshot,
 * Process.restore). Plain structured-clone data; the memory is a copy of the instance's.
 */
export interface ProcessSnapshot {
  options: Omit<SpawnOptions, 'interrupt' | 'hostImports'>;
  state: 'ready' | 'suspended';
  bid: number;
  budgetFuel: number;
  fuelUsed: number;
  switches: number;
  refills: number;
  pendingNeed: number;
  dataPtr: number;
  savedBytes: number;
  calls: Array<{ name: string; args: readonly number[] }>;
  memory: ArrayBuffer;
  /** The values of the module's globalExports, in order. */
  globals: Array<number | bigint>;
  stdout: ReturnType<Capture['save']>;
  stderr: ReturnType<Capture['save']>;
  /** The next query to hand out, and the sessions handed out and not yet claimed (hex). */
  queryNext: number;
  openSessions: string[];
}

export interface SpawnOptions {
  pid: number;
  /** The most fuel the process may ever burn; Infinity for none. */
  budgetFuel: number;
  /** The most memory the guest may have, in 64 KiB pages (save area not included). */
  memoryLimitPages: number;
  /**
   * The process's standing bid for slots, in tokens per joule (1.0 = the base price). The
   * runtime only carries it; the market (src/market) reads it when the kernel sells slots.
   */
  bid?: number;
  args?: readonly string[];
  env?: readonly string[];
  stdin?: Uint8Array;
  /** Bytes of stdout and of stderr kept; the rest is counted, not kept. */
  captureLimitBytes?: number;
  /** The export to run; `_start` for a WASI command. */
  entry?: string;
  /**
   * Cells the node writes pids into to kill them without waiting for the worker's event loop
   * (a process in a long slice keeps the worker busy). Read at every yield and refill.
   */
  interrupt?: Int32Array;
  /** Arguments for the entry (a benchmark kernel's parameters). */
  entryArgs?: readonly number[];
  costs?: CostTable;
  /**
   * Joules per fuel (the node's calibration): outside a kernel, `maxwell.balance` is the budget
   * left at this rate and the base price. Default: the nominal model.
   */
  jPerFuel?: number;
  /** Host functions for imports declared with CompileOptions.extraImports (module → name → fn). */
  hostImports?: Record<string, Record<string, (...args: never[]) => unknown>>;
  /** Queries a requester gave the process, in the order `maxwell.query` hands them out. */
  queries?: readonly ProcessQuery[];
}

/** What the scheduler wants when a running process runs out of its slice. */
export type SliceDecision = 'continue' | 'suspend';

export type SliceOutcome =
  | { kind: 'yielded' }
  | { kind: 'dead'; exit: ProcessExit };

const ASYNCIFY_NORMAL = 0;
const ASYNCIFY_UNWINDING = 1;
const ASYNCIFY_REWINDING = 2;

/** Thrown from a host import to end the process; never escapes runSlice. */
class Terminate {
  constructor(readonly exit: ProcessExit) {}
}

interface Exports {
  [FUEL_EXPORT]: WebAssembly.Global;
  [MEMORY_EXPORT]: WebAssembly.Memory;
  asyncify_start_unwind(ptr: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(ptr: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
  [name: string]: unknown;
}

export const DEFAULT_CAPTURE_BYTES = 1 << 20;
/**
 * The first extra grant at a function entry when the scheduler wants the worker back and the
 * exact grant did not lead to a loop header (about a microsecond of work); it doubles with
 * each further refill until a loop header suspends the process.
 */
export const REFILL_TRICKLE_FUEL = 100_000;
/** A slice larger than this would risk the i32 fuel counter; the scheduler never asks for more. */
export const MAX_SLICE_FUEL = 1 << 30;

export class Process {
  readonly pid: number;
  readonly stdout: Capture;
  readonly stderr: Capture;
  state: ProcessState = 'ready';
  /** Standing bid, tokens per joule (see SpawnOptions.bid). */
  bid: number;
  exit: ProcessExit | null = null;
  /** Fuel burnt so far, slices already accounted. */
  fuelUsed = 0;
  /** Times this process was suspended and resumed. */
  switches = 0;
  /** Slices granted at a function entry, where the process could not be suspended. */
  refills = 0;
  /** Refills since the last yield while a switch was wanted (see onRefill). */
  private refillStreak = 0;
  /** What the last completed export call returned (for entries other than `_start`). */
  result: unknown = undefined;
  /** Called when a slice runs out; the scheduler decides. Defaults to suspending. */
  onSliceEnd: () => SliceDecision = () => 'suspend';

  /** Lowered to fuelUsed + grace when the process is told to die (beginApoptosis). */
  private budgetFuel: number;
  private readonly jPerFuel: number;
  /** The kernel's view for the slot now granted (abi.ts SlotView); null outside a kernel. */
  private view: SlotView | null = null;
  private viewStartFuel = 0;
  /** µJ spent from the view on bonds and taxes during this slot. */
  private viewSpentUj = 0;
  /** What the process did during this slot, for the kernel to settle (takeSlotReport). */
  private grownBytes = 0;
  /** The bid the guest set (maxwell.bid) since the last report; null if none. */
  private bidSet: number | null = null;
  private discardedBytes = 0;
  /** The next query `maxwell.query` hands out; the sessions handed out but not yet claimed (hex). */
  private queryNext = 0;
  private readonly openSessions = new Set<string>();
  /** Claims taken on this slot, for the kernel to check (takeSlotReport). */
  private claims: Uint8Array[] = [];
  /** Set when the node told the process to die: the exit it dies with after its notice runs. */
  private dying: ProcessExit | null = null;
  private readonly options: SpawnOptions;
  private readonly compiled: CompiledModule;
  private readonly memoryLimitPages: number;
  private readonly reservePages: number;
  private readonly guestMaxPages: number;
  private readonly costs: CostTable;
  private readonly exports: Exports;
  private readonly fuel: WebAssembly.Global;
  private readonly memory: WebAssembly.Memory;
  /** The exports still to run, in order: the start section (if any), then the entry. */
  private readonly calls: Array<{ name: string; args: readonly number[] }>;
  private readonly signatures: CompiledModule['info']['exportSignatures'];
  /** The fuel granted for the slice now running (what the fuel global was set to). */
  private granted = 0;
  /** Fuel the guest asked for at the yield where it was suspended. */
  private pendingNeed = 0;
  private sliceFuel = 0;
  private killRequest: ProcessExit | null = null;
  private dataPtr = 0;
  /** Built with Asyncify (the default)? Without it, slice ends refill instead of suspending. */
  private readonly preemptible: boolean;
  /** Bytes of the save area the last unwind wrote (header included). */
  private savedBytes = 0;
  /** Shared with the pool: a pid written here is killed at its next yield or refill, even inside a long slice. */
  private readonly interrupt: Int32Array | undefined;

  constructor(compiled: CompiledModule, options: SpawnOptions) {
    this.pid = options.pid;
    this.budgetFuel = options.budgetFuel;
    this.options = options;
    this.compiled = compiled;
    this.jPerFuel = options.jPerFuel ?? 6e-11;
    this.bid = options.bid ?? 1;
    if (!(Number.isFinite(this.bid) && this.bid > 0)) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `a bid must be a positive number of tokens per joule, not ${options.bid}`);
    }
    this.interrupt = options.interrupt;
    checkQueries(options.queries);
    this.memoryLimitPages = options.memoryLimitPages;
    this.reservePages = compiled.info.reservePages;
    this.guestMaxPages = Math.min(compiled.info.guestMaxPages ?? MAX_WASM_PAGES, MAX_WASM_PAGES - this.reservePages);
    this.costs = options.costs ?? DEFAULT_COSTS;
    const capture = options.captureLimitBytes ?? DEFAULT_CAPTURE_BYTES;
    this.stdout = new Capture(capture);
    this.stderr = new Capture(capture);
    assert(options.budgetFuel >= 0, 'budget is not negative');

    if (compiled.info.guestInitialPages > options.memoryLimitPages) {
      throw new MaxwellError(ErrorCode.MEMORY_LIMIT, `the module starts with ${compiled.info.guestInitialPages} pages of memory; the limit is ${options.memoryLimitPages}`, {
        pages: compiled.info.guestInitialPages, limitPages: options.memoryLimitPages,
      });
    }
    const entry = options.entry ?? '_start';
    const entrySig = compiled.info.exportSignatures[entry];
    if (entrySig === undefined) {
      throw new MaxwellError(ErrorCode.EXPORT_MISSING, `the module does not export a function '${entry}'`, { export: entry });
    }
    // The host calls the entry from JavaScript: only number parameters and results can cross,
    // and a WASI command's _start takes and returns nothing.
    const args = options.entryArgs ?? [];
    const callable = entrySig.params.every((t) => t === 'i32' || t === 'f32' || t === 'f64') &&
      entrySig.results.every((t) => t !== 'v128' && t !== 'ref') && args.length === entrySig.params.length;
    if (!callable || (entry === '_start' && (entrySig.params.length > 0 || entrySig.results.length > 0))) {
      throw new MaxwellError(ErrorCode.EXPORT_MISSING, `the export '${entry}' has type (${entrySig.params.join(', ')}) -> (${entrySig.results.join(', ')}), which the node cannot call with ${args.length} number argument(s)`, { export: entry });
    }
    this.signatures = compiled.info.exportSignatures;
    this.calls = [{ name: entry, args: options.entryArgs ?? [] }];
    if (compiled.info.hasStart) this.calls.unshift({ name: START_EXPORT, args: [] });

    const memoryRef = () => this.memory;
    const ioCtx = {
      memory: memoryRef,
      chargeIo: (bytes: number) => this.chargeHost(this.costs.callHost + Math.ceil(bytes / 16) * this.costs.ioPer16Bytes),
    };
    const imports: WebAssembly.Imports = {
      ...options.hostImports,
      [HOST_MODULE]: {
        yield: (need: number) => this.onYield(need),
        refill: (need: number) => this.onRefill(need),
        grow: (deltaPages: number) => this.onGrow(deltaPages >>> 0),
      },
      [WASI_MODULE]: wasiImports({
        ...ioCtx,
        args: options.args ?? ['agent'],
        env: options.env ?? [],
        stdin: options.stdin ?? new Uint8Array(0),
        stdout: this.stdout,
        stderr: this.stderr,
      }),
      [ABI_MODULE]: abiImports({
        ...ioCtx,
        log: (bytes) => { this.stderr.push(bytes); this.stderr.push(NEWLINE); },
        setBid: (b) => { this.bid = b; this.bidSet = b; },
        balanceUj: () => this.balanceUj(),
        priceTokensPerJ: () => this.view?.priceTokensPerJ ?? 1,
        discard: (ptr, len) => this.onDiscard(ptr, len),
        query: (ptr, cap) => this.onQuery(ptr, cap),
        claim: (ptr, len) => this.onClaim(ptr, len),
        guestBytes: () => this.memoryPages * WASM_PAGE_BYTES,
      }),
    };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(compiled.wasm, imports);
    } catch (err) {
      // A missing import module is a TypeError in V8, a missing or mistyped member a LinkError.
      if (err instanceof WebAssembly.LinkError || err instanceof TypeError) {
        throw new MaxwellError(ErrorCode.IMPORT_MISSING, `cannot link the module: ${err.message}`);
      }
      if (err instanceof WebAssembly.RuntimeError) {
        // An active data or element segment out of bounds traps during instantiation.
        throw new MaxwellError(ErrorCode.TRAP, `the module trapped while being instantiated: ${err.message}`);
      }
      throw err;
    }
    this.exports = instance.exports as unknown as Exports;
    this.preemptible = typeof this.exports.asyncify_get_state === 'function';
    this.fuel = this.exports[FUEL_EXPORT];
    this.memory = this.exports[MEMORY_EXPORT];
  }

  /** Fuel left in the budget, slices already accounted. */
  get budgetLeftFuel(): number {
    return this.budgetFuel - this.fuelUsed;
  }

  /** Fuel burnt, including the slice now running (for a live view from inside a host call). */
  get fuelUsedNow(): number {
    return this.state === 'running' ? this.fuelUsed + this.granted - (this.fuel.value as number) : this.fuelUsed;
  }

  get memoryPages(): number {
    return this.memory.buffer.byteLength / WASM_PAGE_BYTES - this.reservePages;
  }

  /** Ask the process to die at its next yield (or now, if it is not running). */
  kill(exit: ProcessExit): void {
    if (this.state === 'dead') return;
    if (this.state === 'running') {
      this.killRequest = exit;
      return;
    }
    this.die(exit);
  }

  /**
   * Run the process for up to `sliceFuel` fuel (more slices if `onSliceEnd` says continue).
   * Returns when it is suspended or dead. Never throws for anything the guest does.
   */
  runSlice(sliceFuel: number): SliceOutcome {
    assert(this.state === 'ready' || this.state === 'suspended', `runSlice on a ${this.state} process`);
    assert(sliceFuel > 0 && sliceFuel <= MAX_SLICE_FUEL, 'slice in (0, MAX_SLICE_FUEL]');
    this.sliceFuel = sliceFuel;
    const resuming = this.state === 'suspended';
    const need = resuming ? this.pendingNeed : 0;
    if (this.budgetLeftFuel < Math.max(need, 1)) {
      return this.die(this.apoptosis(need));
    }
    this.grant(Math.max(sliceFuel, need));
    this.state = 'running';
    try {
      if (resuming) {
        this.switches++;
        this.exports.asyncify_start_rewind(this.dataPtr);
      }
      for (;;) {
        const call = this.calls[0];
        assert(call !== undefined, 'a running process has a call to make');
        const result = (this.exports[call.name] as (...a: number[]) => unknown)(...call.args);
        if (this.preemptible && this.exports.asyncify_get_state() === ASYNCIFY_UNWINDING) {
          this.exports.asyncify_stop_unwind();
          this.savedBytes = new Int32Array(this.memory.buffer, this.dataPtr, 1)[0]! - this.dataPtr;
          this.state = 'suspended';
          return { kind: 'yielded' };
        }
        this.calls.shift();
        this.result = result;
        if (this.calls.length === 0) {
          return this.die(this.dying ?? { reason: 'exit', code: 0, errorCode: null, message: 'returned from its entry' });
        }
      }
    } catch (err) {
      const exit = this.exitFor(err);
      // A trap skips the write-back of a function's cached fuel (instrument.ts), so the fuel
      // global cannot say what the slice used: the process pays for the whole slice.
      if (exit.reason === 'trap' && this.state === 'running') this.fuel.value = Math.min(this.fuel.value as number, 0);
      return this.die(exit);
    }
  }

  private grant(fuel: number): void {
    const granted = Math.min(fuel, this.budgetLeftFuel, MAX_SLICE_FUEL);
    this.granted = granted;
    this.fuel.value = granted;
  }

  /** Folds the running slice's consumption into fuelUsed and restarts the slice at 0 used. */
  private account(): void {
    const left = this.fuel.value as number;
    this.fuelUsed += this.granted - left;
    this.granted = left;
  }

  private onYield(need: number): void {
    if (this.preemptible && this.exports.asyncify_get_state() === ASYNCIFY_REWINDING) {
      // Back from a suspension: the stack is rebuilt and the fuel was granted in runSlice.
      // Zero what the unwind wrote, so a guest cannot see how it was sliced.
      this.exports.asyncify_stop_rewind();
      new Uint8Array(this.memory.buffer, this.dataPtr, this.savedBytes).fill(0);
      return;
    }
    this.account();
    this.checkKill();
    this.refillStreak = 0;
    if (this.budgetLeftFuel < need) throw new Terminate(this.apoptosis(need));
    if (!this.preemptible || this.onSliceEnd() === 'continue') {
      this.grant(Math.max(this.sliceFuel, need));
      return;
    }
    // Suspend: unwind the stack into the save area at the top of memory. Its header holds the
    // current and the end position of the saved data (Asyncify's layout).
    this.pendingNeed = need;
    this.dataPtr = (this.memory.buffer.byteLength / WASM_PAGE_BYTES - this.reservePages) * WASM_PAGE_BYTES;
    const view = new Int32Array(this.memory.buffer, this.dataPtr, 2);
    view[0] = this.dataPtr + 8;
    view[1] = this.dataPtr + this.reservePages * WASM_PAGE_BYTES;
    this.exports.asyncify_start_unwind(this.dataPtr);
  }

  /**
   * A function entry ran short. Entries are not suspension points (see instrument.ts), so the
   * only choices are more fuel or death.
   */
  private onRefill(need: number): void {
    this.account();
    this.checkKill();
    if (this.budgetLeftFuel < need) throw new Terminate(this.apoptosis(need));
    this.refills++;
    // An entry cannot suspend, but the next loop header can: when the scheduler wants the
    // worker back, grant exactly what the entry needs, so that the next loop header (in this
    // function or, after it returns, in its caller) runs short and suspends. Without this,
    // sha256's compression function, called from a loop, would be refilled slice after slice
    // and never give the worker up. Code with no loop at all (recursive fib) would then pay a
    // host call per call, so consecutive refills grow the grant geometrically up to a slice.
    const wantsSwitch = this.preemptible && this.onSliceEnd() === 'suspend';
    if (wantsSwitch) {
      const extra = this.refillStreak === 0 ? 0 : Math.min(REFILL_TRICKLE_FUEL * 2 ** (this.refillStreak - 1), this.sliceFuel);
      this.refillStreak++;
      this.grant(need + extra);
    } else {
      this.grant(Math.max(this.sliceFuel, need));
    }
  }

  private checkKill(): void {
    if (this.killRequest !== null) throw new Terminate(this.killRequest);
    const cells = this.interrupt;
    if (cells === undefined) return;
    for (let i = 0; i < cells.length; i++) {
      if (Atomics.load(cells, i) === this.pid) {
        Atomics.compareExchange(cells, i, this.pid, 0);
        throw new Terminate({ reason: 'killed', code: null, errorCode: ErrorCode.KILLED, message: 'killed by the node during a slice' });
      }
    }
  }

  /**
   * Whether the process can move to another worker now: parked between slices (not running,
   * not dead, not dying) and of a module that does not tie it to its instance.
   */
  get movable(): boolean {
    return (this.state === 'ready' || this.state === 'suspended') && this.dying === null && this.killRequest === null &&
      this.compiled.info.migratable === true && this.grownBytes === 0 && this.discardedBytes === 0 && this.bidSet === null && this.claims.length === 0 &&
      // WASI's stdin position is not in the snapshot: a process given stdin stays put.
      (this.options.stdin === undefined || this.options.stdin.length === 0);
  }

  /** The whole of a parked process, to carry on elsewhere (see movable). */
  snapshot(): ProcessSnapshot {
    assert(this.movable, `process ${this.pid} cannot be moved now (${this.state})`);
    const { interrupt: _i, hostImports: _h, ...options } = this.options;
    return {
      options,
      state: this.state as 'ready' | 'suspended',
      bid: this.bid, budgetFuel: this.budgetFuel, fuelUsed: this.fuelUsed, switches: this.switches, refills: this.refills,
      pendingNeed: this.pendingNeed, dataPtr: this.dataPtr, savedBytes: this.savedBytes,
      calls: this.calls.map((c) => ({ name: c.name, args: [...c.args] })),
      memory: this.memory.buffer.slice(0),
      globals: this.compiled.info.globalExports.map((name) => (this.exports[name] as WebAssembly.Global).value as number | bigint),
      stdout: this.stdout.save(),
      stderr: this.stderr.save(),
      queryNext: this.queryNext,
      openSessions: [...this.openSessions],
    };
  }

  /** A process carried on from a snapshot taken on another worker (same compiled module). */
  static restore(compiled: CompiledModule, s: ProcessSnapshot, interrupt?: Int32Array): Process {
    const p = new Process(compiled, { ...s.options, ...(interrupt ? { interrupt } : {}) });
    const pages = s.memory.byteLength / WASM_PAGE_BYTES;
    const have = p.memory.buffer.byteLength / WASM_PAGE_BYTES;
    assert(pages >= have, 'a snapshot holds at least the module\'s initial memory');
    if (pages > have) p.memory.grow(pages - have);
    new Uint8Array(p.memory.buffer).set(new Uint8Array(s.memory));
    const names = compiled.info.globalExports;
    assert(names.length === s.globals.length, 'the snapshot has a value for every mutable global');
    names.forEach((name, i) => { (p.exports[name] as WebAssembly.Global).value = s.globals[i]; });
    p.state = s.state;
    p.bid = s.bid;
    p.budgetFuel = s.budgetFuel;
    p.fuelUsed = s.fuelUsed;
    p.switches = s.switches;
    p.refills = s.refills;
    p.pendingNeed = s.pendingNeed;
    p.dataPtr = s.dataPtr;
    p.savedBytes = s.savedBytes;
    p.calls.length = 0;
    p.calls.push(...s.calls);
    p.stdout.load(s.stdout);
    p.stderr.load(s.stderr);
    p.queryNext = s.queryNext;
    for (const h of s.openSessions) p.openSessions.add(h);
    return p;
  }

  /**
   * Starts a slot the kernel sold (slotted executors): what the ABI calls see until the next.
   * Resets the slot's report.
   */
  setSlotView(view: SlotView): void {
    this.view = view;
    this.viewStartFuel = this.fuelUsed;
    this.viewSpentUj = 0;
  }

  /** What the process did since the last report: its bid, memory grown, bytes discarded, claims made. */
  takeSlotReport(): { bid: number | null; grownBytes: number; discardedBytes: number; claims?: Uint8Array[] } {
    const r = { bid: this.bidSet, grownBytes: this.grownBytes, discardedBytes: this.discardedBytes, ...(this.claims.length > 0 ? { claims: this.claims } : {}) };
    this.bidSet = null;
    this.grownBytes = 0;
    this.discardedBytes = 0;
    if (this.claims.length > 0) this.claims = [];
    return r;
  }

  /** maxwell.query: writes the next query at ptr (header, then the input); its length, 0 if none is left. */
  private onQuery(ptr: number, cap: number): number {
    const qs = this.options.queries;
    this.chargeHost(this.costs.callHost);
    if (qs === undefined || this.queryNext >= qs.length) return 0;
    const q = qs[this.queryNext]!;
    const inputs = q.input.length / q.batch;
    const len = QUERY_HEADER_BYTES + q.input.length;
    if (cap < len) return -ABI_EINVAL;
    this.chargeHost(Math.ceil(len / 16) * this.costs.ioPer16Bytes);
    const mem = new Uint8Array(this.memory.buffer, ptr, len);
    mem.set(q.session, 0);
    const dv = new DataView(this.memory.buffer, ptr + SESSION_BYTES, 8);
    dv.setUint32(0, q.batch, true);
    dv.setUint32(4, inputs, true);
    mem.set(new Uint8Array(q.input.buffer, q.input.byteOffset, q.input.length), QUERY_HEADER_BYTES);
    this.queryNext++;
    this.openSessions.add(Buffer.from(q.session).toString('hex'));
    return len;
  }

  /**
   * maxwell.claim: takes a copy of the claim for the kernel (at this slot's end). The session must
   * be one this process was handed and has not claimed: one answer per query, right or wrong.
   */
  private onClaim(ptr: number, len: number): number {
    this.chargeHost(this.costs.callHost);
    // A full report ends the slot at the next slice end (slotFull): the guest's retries spin for
    // at most one slice, and the next slot takes the claim.
    if (this.claims.length >= MAX_CLAIMS_PER_SLOT) return ABI_EAGAIN;
    const session = Buffer.from(this.memory.buffer, ptr, SESSION_BYTES).toString('hex');
    if (!this.openSessions.delete(session)) return ABI_EINVAL;
    // The copy is charged only for a claim taken.
    this.chargeHost(Math.ceil(len / 16) * this.costs.ioPer16Bytes);
    this.claims.push(new Uint8Array(this.memory.buffer, ptr, len).slice());
    return ABI_OK;
  }

  /** The slot's report holds its limit of claims: the executor ends the slot at the next slice end. */
  get slotFull(): boolean {
    return this.claims.length >= MAX_CLAIMS_PER_SLOT;
  }

  /** What `maxwell.balance` says, in µJ: the slot's view less what the slot has spent so far. */
  private balanceUj(): number {
    if (this.view === null) return Math.max(0, this.budgetLeftFuel) * this.jPerFuel * 1e6;
    const spent = (this.fuelUsedNow - this.viewStartFuel) * this.view.ujPerFuel + this.viewSpentUj;
    return Math.max(0, this.view.balanceUj - spent);
  }

  /** maxwell.discard: zeroes the bytes (the erasure), after checking the tax can be paid. */
  private onDiscard(ptr: number, len: number): number {
    const taxUj = this.view === null ? 0 : Math.ceil(len * this.view.taxUjPerByte);
    if (taxUj > 0 && this.balanceUj() < taxUj) return ABI_ECANNOTPAY;
    this.chargeHost(this.costs.callHost + Math.ceil(len / 16) * this.costs.ioPer16Bytes);
    new Uint8Array(this.memory.buffer, ptr, len).fill(0);
    this.viewSpentUj += taxUj;
    this.discardedBytes += len;
    return ABI_OK;
  }

  /**
   * The node tells the process it must die (it cannot pay): if it exports `maxwell_apoptosis`,
   * that runs next, on at most `graceFuel`, instead of the rest of its program; then it dies of
   * `exit` whatever the handler did. Returns false when there is no handler to run (the caller
   * kills it at once). Only for a process that is not in a slice (ready or suspended).
   * A process that never ran gets no notice: its entry (a WASI command's _start) is what
   * initialises its runtime, and a handler called before it would run on uninitialised state.
   */
  beginApoptosis(exit: ProcessExit, graceFuel: number): boolean {
    if (this.state === 'dead' || this.state === 'running' || this.dying !== null || this.fuelUsed === 0) return false;
    const sig = this.exportSignature(APOPTOSIS_EXPORT);
    if (graceFuel <= 0 || sig === undefined || sig.params.length > 0) return false;
    this.dying = exit;
    // The suspended stack (if any) is abandoned: its frames are in the save area, which the next
    // suspension overwrites; the handler starts a fresh call.
    this.calls.length = 0;
    this.calls.push({ name: APOPTOSIS_EXPORT, args: [] });
    this.state = 'ready';
    this.pendingNeed = 0;
    this.budgetFuel = this.fuelUsed + graceFuel;
    return true;
  }

  private exportSignature(name: string): { params: readonly string[] } | undefined {
    return typeof this.exports[name] === 'function' ? this.signatures[name] : undefined;
  }

  /** Host-side charges (I/O, growth): applied before the work, refused beyond the budget. */
  private chargeHost(cost: number): void {
    assert(cost >= 0 && Number.isFinite(cost), `a host charge is a finite non-negative fuel amount, not ${cost}`);
    // Booked on the host side, not through the guest's i32 counter: a large grow costs more
    // fuel than an i32 holds.
    const usedAfter = this.fuelUsedNow + cost;
    if (usedAfter > this.budgetFuel) throw new Terminate(this.apoptosis(cost));
    this.fuelUsed += cost;
  }

  /** memory.grow, done by the host so that the save area stays on top and the limit holds. */
  private onGrow(deltaPages: number): number {
    const oldPages = this.memoryPages;
    if (deltaPages === 0) return oldPages;
    const newPages = oldPages + deltaPages;
    // Past the guest's own declared maximum, Wasm says grow fails with -1: the guest handles it.
    if (newPages > this.guestMaxPages) return -1;
    if (newPages > this.memoryLimitPages) {
      throw new Terminate({
        reason: 'trap',
        code: null,
        errorCode: ErrorCode.MEMORY_LIMIT,
        message: `memory.grow to ${newPages} pages (${(newPages * WASM_PAGE_BYTES) / 2 ** 20} MiB) is past the limit of ${this.memoryLimitPages} pages`,
      });
    }
    // Under a kernel, growing posts an erasure bond (the tax on erasing the new memory later):
    // a wallet that cannot post it gets Wasm's "no" (-1), which the guest must handle.
    const bondUj = this.view === null ? 0 : Math.ceil(deltaPages * WASM_PAGE_BYTES * this.view.taxUjPerByte);
    if (this.view !== null && this.balanceUj() < bondUj) return -1;
    this.chargeHost(this.costs.memoryGrowBase + this.costs.memoryGrowPerPage * deltaPages);
    try {
      this.memory.grow(deltaPages);
    } catch {
      return -1; // the host could not map the memory: Wasm's answer is -1
    }
    this.viewSpentUj += bondUj;
    this.grownBytes += deltaPages * WASM_PAGE_BYTES;
    // The old save area is now guest memory, which Wasm promises is zeroed; it may hold the
    // bytes of an earlier suspension.
    const exposedBytes = Math.min(deltaPages, this.reservePages) * WASM_PAGE_BYTES;
    new Uint8Array(this.memory.buffer, oldPages * WASM_PAGE_BYTES, exposedBytes).fill(0);
    return oldPages;
  }

  private apoptosis(needFuel: number): ProcessExit {
    return {
      reason: 'apoptosis',
      code: null,
      errorCode: ErrorCode.BUDGET_EXHAUSTED,
      message: `energy budget exhausted: needed ${needFuel} more fuel with ${Math.max(0, this.budgetLeftFuel)} left of ${this.budgetFuel}`,
    };
  }

  private exitFor(err: unknown): ProcessExit {
    if (err instanceof ProcExit) return { reason: 'exit', code: err.code, errorCode: null, message: `proc_exit(${err.code})` };
    if (err instanceof Terminate) return err.exit;
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return { reason: 'trap', code: null, errorCode: ErrorCode.STACK_OVERFLOW, message: `stack overflow: ${err.message}` };
    }
    if (err instanceof WebAssembly.RuntimeError) {
      let unwinding = false;
      try {
        unwinding = this.exports.asyncify_get_state() === ASYNCIFY_UNWINDING;
      } catch { /* the instance is beyond asking */ }
      if (unwinding) {
        return { reason: 'trap', code: null, errorCode: ErrorCode.STACK_SAVE_OVERFLOW, message: `the stack did not fit the ${this.reservePages * 64} KiB save area while suspending` };
      }
      return { reason: 'trap', code: null, errorCode: ErrorCode.TRAP, message: err.message };
    }
    if (err instanceof MaxwellError) return { reason: 'trap', code: null, errorCode: err.code, message: err.message };
    // Anything else is a bug in a host function, not the guest's doing: crash loudly.
    throw err;
  }

  private die(exit: ProcessExit): SliceOutcome {
    // A process told to die dies of that, however its death notice ended (returned, trapped,
    // ran out of grace, called proc_exit).
    if (this.dying !== null) exit = this.dying;
    if (this.state === 'running') {
      const left = this.fuel.value as number;
      this.fuelUsed += this.granted - left;
      this.granted = 0;
    }
    this.state = 'dead';
    this.exit = exit;
    // Unchecked charges (if-arms, join points) may overdraw by straight-line code between two
    // checks; anything near a whole slice past the budget means the meter leaked.
    assert(this.fuelUsed <= this.budgetFuel + MAX_SLICE_FUEL, `process ${this.pid} used ${this.fuelUsed} fuel, past its budget of ${this.budgetFuel}`);
    return { kind: 'dead', exit };
  }
}

const NEWLINE = new Uint8Array([10]);

/** Checks the queries given at spawn (shapes and limits); throws E_BAD_ARGUMENT naming the first problem. */
function checkQueries(qs: readonly ProcessQuery[] | undefined): void {
  if (qs === undefined) return;
  const bad = (why: string) => new MaxwellError(ErrorCode.BAD_ARGUMENT, why);
  if (!Array.isArray(qs) || qs.length > MAX_PROCESS_QUERIES) throw bad(`a process is given at most ${MAX_PROCESS_QUERIES} queries`);
  let bytes = 0;
  const sessions = new Set<string>();
  for (const [i, q] of qs.entries()) {
    if (!(q.session instanceof Uint8Array) || q.session.length !== SESSION_BYTES) throw bad(`query ${i}: a session is ${SESSION_BYTES} bytes`);
    const hex = Buffer.from(q.session).toString('hex');
    if (sessions.has(hex)) throw bad(`query ${i}: its session is another query's`);
    sessions.add(hex);
    if (!Number.isInteger(q.batch) || q.batch < 1 || !(q.input instanceof Int8Array) || q.input.length === 0 || q.input.length % q.batch !== 0) {
      throw bad(`query ${i}: the input must be an Int8Array of batch × inputs, batch ≥ 1`);
    }
    bytes += q.input.length;
  }
  if (bytes > MAX_QUERY_INPUT_BYTES) throw bad(`the queries' inputs total ${bytes} bytes; the limit is ${MAX_QUERY_INPUT_BYTES}`);
}
