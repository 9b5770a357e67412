/**
 * Instrumentation: rewrite a guest module so that it meters itself and can be preempted.
 *
 * What the rewritten module does (docs/design.md explains why each choice was made, with the
 * measurements behind it):
 *
 * 1. Fuel. A mutable i32 global, `__maxwell$fuel`, that no guest instruction references. It is
 *    exported under `__maxwell_fuel` so that the host can read and refill it; exports are
 *    visible to the host only, never to the guest's own code, so the guest can neither read
 *    nor forge its fuel.
 *
 * 2. Charge points. The code of each function is cut into regions: the function entry, each
 *    loop header, and each arm of an `if`. A region's static cost is the sum, from the cost table
 *    (src/energy/cost-table.ts), of every instruction inside it except those of nested loops
 *    and if-arms, which are regions of their own. Within a region there is no backward edge
 *    (every backward branch in structured Wasm targets a loop header), so each instruction runs
 *    at most once per entry into its region: charging the whole region on entry can overcharge a
 *    path that leaves early, and can never undercharge. Charging on entry, before the work, also
 *    closes the "trap at the end of a block" escape of schemes that count after the fact.
 *
 *    - Function entry: `if (fuel < cost) yield(cost); fuel -= cost`. This closes recursion and
 *      call_indirect loops, since every call pays at its callee's entry.
 *    - Loop header: `if (fuel < cost) <leave the loop>; fuel -= cost`. The call to the host is
 *      *not* placed in the loop body: a call anywhere in a hot loop, even on a branch that is
 *      never taken, makes TurboFan spill the loop's values around it (2-3x slower; see
 *      ../shared/notes/metering-in-v8.md). Instead the check branches out to a block after the
 *      loop that yields and then re-enters the loop at its header (a `loop`/`block` pair wraps
 *      the original loop). br_table loops are closed here too: all their back edges go to a
 *      loop header.
 *    - If arms, and the code after the end of a labelled block (a join point, where a br_table
 *      dispatch lands): charged on their own, so that a path pays for the arm or case it runs
 *      rather than for all of them. A small one (at most UNCHECKED_MAX_FUEL) is a bare
 *      `fuel -= cost`: the next loop header or function entry checks the balance, which may
 *      have dipped below zero by the unchecked charges on the path, and pays that debt first.
 *      A larger one checks and refills first, like a function entry.
 *    - Bulk memory (memory.copy, memory.fill, memory.init) and table.grow: charged before the
 *      operation in proportion to its length, through an internal helper that yields when the
 *      balance is short, so a 4 GiB fill cannot run on credit.
 *    - memory.grow: replaced by a call to the host (`__maxwell.grow`), which enforces the
 *      memory limit and charges per page before it grows anything.
 *
 * 3. Preemption. When the balance is short at a loop header or a bulk operation, the guest
 *    calls `__maxwell.yield(need)`, an import that instrumentation adds. Binaryen's Asyncify
 *    pass, limited to that one import, lets the host unwind the guest's stack into the guest's
 *    own memory and rewind it later, so a suspended process is just data (its memory and
 *    globals) and thousands fit on one thread. Function entries (and large if-arms) call
 *    `__maxwell.refill(need)` instead, which the host answers with more fuel or death but
 *    never a suspension: Asyncify must then instrument only the functions that can reach a
 *    loop, and leaves loop-free code (recursive fib: 1.47x with suspendable entries, 0.90x
 *    without) alone. The price: a loop-free call tree is preempted only when it reaches a loop
 *    or returns; it is metered, and killed at its budget or on request, throughout.
 *
 * 4. The save area. Asyncify needs memory for the saved stack. The node appends `reservePages`
 *    pages to the guest's memory and hides them: `memory.size` reports the guest's size
 *    without them, and `memory.grow` (done by the host) keeps them at the top. The area holds
 *    data only while the guest is suspended (when it cannot run) and the used part is zeroed
 *    on every resume, so a guest cannot see how it was sliced; what a grow exposes is zeroed
 *    again (the guest may have written there), so new pages read as zeros, as Wasm promises.
 *    The one deviation from the Wasm semantics: an access just past the guest's memory (within
 *    the save area) succeeds instead of trapping. It cannot reach another process: each
 *    process has its own memory.
 *
 * Modules that import a memory, table or global, use threads, exceptions, tail calls, GC, or
 * memory64, or are already asyncified, are refused with E_FEATURE_UNSUPPORTED: each would need
 * its own metering argument.
 */
import binaryen from 'binaryen';
import { DEFAULT_COSTS, type CostTable } from '../energy/cost-table.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import { assert } from '../assert.js';

// binaryen.js ships class wrappers (B.Loop.setBody, ...) that its index.d.ts does not declare.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const B = binaryen as typeof binaryen & Record<string, any>;
type Ref = number;

export const HOST_MODULE = '__maxwell';
export const FUEL_EXPORT = '__maxwell_fuel';
export const MEMORY_EXPORT = '__maxwell_memory';
export const START_EXPORT = '__maxwell_start';
export const WASM_PAGE_BYTES = 65_536;
/** Bump when the rewrite changes, so cached instrumented modules are not reused. */
export const INSTRUMENTATION_VERSION = 15;
/** The largest memory a 32-bit Wasm memory can have, in pages. */
export const MAX_WASM_PAGES = 65_536;
/** Default save area: 1 MiB. Untouched pages cost address space, not RSS. */
export const DEFAULT_RESERVE_PAGES = 16;
/**
 * The largest if-arm or join-point charge made without a check. Larger ones check the balance
 * first. A path between two checks can overdraw by at most the unchecked charges on it.
 */
export const UNCHECKED_MAX_FUEL = 512;
/** The most unchecked charges one function makes in all; past it, its charges are checked. */
export const UNCHECKED_FN_MAX_FUEL = 16_384;

const FUEL_GLOBAL = '__maxwell$fuel';
const YIELD_FN = '__maxwell$yield';
const REFILL_FN = '__maxwell$refill';
const GROW_FN = '__maxwell$grow';
const BULK_MEM_FN = '__maxwell$bulk_mem';
const BULK_TABLE_FN = '__maxwell$bulk_table';

/**
 * The features Maxwell runs: what Node 20's V8 ships and Asyncify can transform. binaryen's
 * `Features.All` must not be used: it would emit encodings (exact imports, compact imports)
 * that V8 does not read.
 */
const SUPPORTED_FEATURES =
  B.Features.MutableGlobals | B.Features.SignExt | B.Features.NontrappingFPToInt | B.Features.BulkMemory |
  B.Features.BulkMemoryOpt | B.Features.Multivalue | B.Features.ReferenceTypes | B.Features.SIMD128 |
  B.Features.ExtendedConst;

export interface InstrumentOptions {
  costs?: CostTable;
  reservePages?: number;
  /**
   * Run Asyncify so the host can suspend the guest at a yield (default). Without it a yield
   * can only refill or kill: for measuring the meter alone.
   */
  preemptible?: boolean;
}

export interface ModuleImport {
  module: string;
  name: string;
  kind: string;
}

/** A function type as value-type names, e.g. { params: ['i32', 'i32'], results: ['i32'] }. */
export interface Signature {
  params: string[];
  results: string[];
}

export interface InstrumentedModule {
  /** The rewritten module, ready to compile. */
  binary: Uint8Array;
  /** Pages appended for the Asyncify save area, hidden from the guest. */
  reservePages: number;
  /** The guest's own initial memory, in pages (without the save area). */
  guestInitialPages: number;
  /** The guest's declared maximum memory, in pages, if it declared one. */
  guestMaxPages: number | undefined;
  /** Whether the guest had a start section (now exported as START_EXPORT, run by the host). */
  hasStart: boolean;
  /** The guest's own imports and exports. */
  imports: ModuleImport[];
  exports: string[];
  /** Signatures of the guest's function imports ("module.name") and function exports. */
  importSignatures: Record<string, Signature>;
  exportSignatures: Record<string, Signature>;
  stats: { functions: number; loops: number; whileLoops: number; ifArms: number; joins: number; bulkOps: number; cachedFunctions: number };
  /**
   * The exports through which a suspended process's mutable globals (the guest's, Asyncify's)
   * are read and written to move it to another worker (Process.snapshot / restore).
   */
  globalExports: string[];
  /**
   * Whether a process of this module can move between workers: not if it mutates a table
   * (table.set, table.grow: its entries are functions of one instance) or drops a data segment
   * (a new instance would have it again).
   */
  migratable: boolean;
}

/** The prefix of the exports of a module's mutable globals (for migration). */
export const GLOBAL_EXPORT_PREFIX = '__maxwell_g';

/** Validate a guest module and rewrite it to meter itself. Throws MaxwellError on bad input. */
export function instrument(bytes: Uint8Array, options: InstrumentOptions = {}): InstrumentedModule {
  const costs = options.costs ?? DEFAULT_COSTS;
  const reservePages = options.reservePages ?? DEFAULT_RESERVE_PAGES;
  assert(Number.isInteger(reservePages) && reservePages >= 1 && reservePages <= 1024, 'reservePages in [1, 1024]');

  // V8 is the judge of validity: it is the engine that will run the module.
  let compiled: WebAssembly.Module;
  try {
    compiled = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new MaxwellError(ErrorCode.WASM_INVALID, `not a valid WebAssembly module: ${(err as Error).message}`);
  }
  const imports = WebAssembly.Module.imports(compiled).map((i) => ({ module: i.module, name: i.name, kind: i.kind }));
  const exports = WebAssembly.Module.exports(compiled).map((e) => e.name);
  for (const imp of imports) {
    if (imp.module === HOST_MODULE) {
      throw new MaxwellError(ErrorCode.IMPORT_FORBIDDEN, `the module imports ${imp.module}.${imp.name}: the ${HOST_MODULE} namespace is the node's own`, { import: `${imp.module}.${imp.name}` });
    }
    if (imp.kind === 'memory' || imp.kind === 'table' || imp.kind === 'global' || (imp.kind as string) === 'tag') {
      throw new MaxwellError(ErrorCode.FEATURE_UNSUPPORTED, `the module imports a ${imp.kind} (${imp.module}.${imp.name}); Maxwell provides only function imports`, { import: `${imp.module}.${imp.name}` });
    }
  }
  for (const name of exports) {
    if (name.startsWith('__maxwell') || name.startsWith('asyncify_')) {
      throw new MaxwellError(ErrorCode.FEATURE_UNSUPPORTED, `the module exports '${name}', a name reserved for the node (is it already asyncified?)`, { export: name });
    }
  }

  let mod: binaryen.Module;
  try {
    mod = B.readBinary(bytes);
    mod.setFeatures(SUPPORTED_FEATURES);
  } catch (err) {
    throw new MaxwellError(ErrorCode.WASM_INVALID, `binaryen could not read the module: ${(err as Error).message}`);
  }
  try {
    return rewrite(mod, costs, reservePages, imports, exports, bytes, options.preemptible ?? true);
  } catch (err) {
    // The walk recurses over the expression tree; code nested deeper than the host's stack
    // allows is refused, not a crash.
    if (err instanceof RangeError) unsupported('code nested too deeply to instrument');
    throw err;
  } finally {
    mod.dispose();
  }
}

const NUMERIC_TYPES = new Set<number>([B.i32, B.i64, B.f32, B.f64, B.v128]);
const TYPE_NAMES = new Map<number, string>([[B.i32, 'i32'], [B.i64, 'i64'], [B.f32, 'f32'], [B.f64, 'f64'], [B.v128, 'v128']]);

function signature(params: number, results: number): Signature {
  const names = (t: number) => (B.expandType(t) as number[]).map((x) => TYPE_NAMES.get(x) ?? 'ref');
  return { params: names(params), results: names(results) };
}

function unsupported(what: string): never {
  throw new MaxwellError(ErrorCode.FEATURE_UNSUPPORTED, `the module uses ${what}, which Maxwell does not run`, { feature: what });
}

/** Op code → cost, built once from binaryen's op names. */
function opCosts(costs: CostTable): { unary: Map<number, number>; binary: Map<number, number> } {
  const unary = new Map<number, number>();
  const binary = new Map<number, number>();
  const b = B as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(b)) {
    if (typeof value !== 'number' || !/(Int|Float|Vec)(32|64|128)$/.test(name) || /Id$|^_/.test(name)) continue;
    // binaryen numbers each op enum from 0, and the SIMD load/store-lane and ternary ops, and
    // wide arithmetic, are enums of their own: mixing them in would overwrite i32 add..shr_s.
    if (/^(Load|Store|Bitselect|Relaxed|Laneselect|Dot)|Int128$|^MulWide/.test(name)) continue;
    let cost: number;
    if (/Vec128$/.test(name)) cost = costs.simd;
    else if (/^(Div|Rem)/.test(name)) cost = /Float/.test(name) ? costs.floatDiv : costs.intDiv;
    else if (/^Sqrt/.test(name)) cost = costs.floatDiv;
    else if (/^(Trunc|Convert|Reinterpret|Promote|Demote|Wrap|Extend)/.test(name) && /To|Int64$|Float/.test(name)) cost = costs.convert;
    else if (/^Mul/.test(name)) cost = /Float/.test(name) ? costs.floatSimple : costs.intMul;
    else if (/Float(32|64)$/.test(name)) cost = costs.floatSimple;
    else cost = costs.intSimple;
    // binaryen's numbering is per expression class, so a name decides which map it lands in.
    if (/^(Clz|Ctz|Popcnt|Neg|Abs|Ceil|Floor|Trunc|Nearest|Sqrt|EqZ|Extend|Wrap|Reinterpret|Convert|Promote|Demote|Not|AnyTrue|Splat|AllTrue|Bitmask)/.test(name)) {
      unary.set(value, cost);
    } else {
      binary.set(value, cost);
    }
  }
  return { unary, binary };
}

/** Child accessors for the expression classes that have children. */
type Accessor = { get: (e: Ref) => Ref; set: (e: Ref, c: Ref) => void };
type ListAccessor = { count: (e: Ref) => number; get: (e: Ref, i: number) => Ref; set: (e: Ref, i: number, c: Ref) => void };

function single(cls: unknown, field: string): Accessor {
  const c = cls as Record<string, (...a: number[]) => number>;
  const get = c[`get${field}`];
  const set = c[`set${field}`];
  assert(typeof get === 'function' && typeof set === 'function', `binaryen accessor ${field}`);
  return { get: (e) => get(e), set: (e, v) => { set(e, v); } };
}

const CHILDREN: Map<number, { singles: Accessor[]; list?: ListAccessor }> = (() => {
  const m = new Map<number, { singles: Accessor[]; list?: ListAccessor }>();
  const s = (id: number, cls: unknown, ...fields: string[]) => m.set(id, { singles: fields.map((f) => single(cls, f)) });
  s(B.BreakId, B.Break, 'Condition', 'Value');
  s(B.SwitchId, B.Switch, 'Condition', 'Value');
  s(B.LocalSetId, B.LocalSet, 'Value');
  s(B.GlobalSetId, B.GlobalSet, 'Value');
  s(B.LoadId, B.Load, 'Ptr');
  s(B.StoreId, B.Store, 'Ptr', 'Value');
  s(B.UnaryId, B.Unary, 'Value');
  s(B.BinaryId, B.Binary, 'Left', 'Right');
  s(B.SelectId, B.Select, 'IfTrue', 'IfFalse', 'Condition');
  s(B.DropId, B.Drop, 'Value');
  s(B.ReturnId, B.Return, 'Value');
  s(B.SIMDExtractId, B.SIMDExtract, 'Vec');
  s(B.SIMDReplaceId, B.SIMDReplace, 'Vec', 'Value');
  s(B.SIMDShuffleId, B.SIMDShuffle, 'Left', 'Right');
  s(B.SIMDTernaryId, B.SIMDTernary, 'A', 'B', 'C');
  s(B.SIMDShiftId, B.SIMDShift, 'Vec', 'Shift');
  s(B.SIMDLoadId, B.SIMDLoad, 'Ptr');
  s(B.SIMDLoadStoreLaneId, B.SIMDLoadStoreLane, 'Ptr', 'Vec');
  s(B.MemoryInitId, B.MemoryInit, 'Dest', 'Offset', 'Size');
  s(B.MemoryCopyId, B.MemoryCopy, 'Dest', 'Source', 'Size');
  s(B.MemoryFillId, B.MemoryFill, 'Dest', 'Value', 'Size');
  s(B.RefIsNullId, B.RefIsNull, 'Value');
  s(B.RefAsId, B.RefAs, 'Value');
  s(B.RefEqId, B.RefEq, 'Left', 'Right');
  s(B.TableGetId, B.TableGet, 'Index');
  s(B.TableSetId, B.TableSet, 'Index', 'Value');
  s(B.TableGrowId, B.TableGrow, 'Value', 'Delta');
  s(B.TupleExtractId, B.TupleExtract, 'Tuple');
  s(B.MemoryGrowId, B.MemoryGrow, 'Delta');
  const list = (cls: { getNumOperands(e: Ref): number; getOperandAt(e: Ref, i: number): Ref; setOperandAt(e: Ref, i: number, c: Ref): void }): ListAccessor => ({
    count: (e) => cls.getNumOperands(e),
    get: (e, i) => cls.getOperandAt(e, i),
    set: (e, i, c) => cls.setOperandAt(e, i, c),
  });
  m.set(B.CallId, { singles: [], list: list(B.Call as never) });
  m.set(B.CallIndirectId, { singles: [single(B.CallIndirect, 'Target')], list: list(B.CallIndirect as never) });
  m.set(B.TupleMakeId, { singles: [], list: list(B.TupleMake as never) });
  m.set(B.BlockId, {
    singles: [],
    list: { count: (e) => B.Block.getNumChildren(e), get: (e, i) => B.Block.getChildAt(e, i), set: (e, i, c) => B.Block.setChildAt(e, i, c) },
  });
  return m;
})();

const LEAVES = new Set<number>([
  B.NopId, B.UnreachableId, B.ConstId, B.LocalGetId, B.GlobalGetId, B.MemorySizeId, B.RefNullId, B.RefFuncId,
  B.TableSizeId, B.DataDropId,
]);

const UNSUPPORTED: Map<number, string> = new Map([
  [B.AtomicRMWId, 'atomics (threads)'], [B.AtomicCmpxchgId, 'atomics (threads)'], [B.AtomicWaitId, 'atomics (threads)'],
  [B.AtomicNotifyId, 'atomics (threads)'], [B.AtomicFenceId, 'atomics (threads)'],
  [B.TryId, 'exception handling'], [B.ThrowId, 'exception handling'], [B.RethrowId, 'exception handling'],
  [B.PopId, 'exception handling'], [(B as unknown as Record<string, number>).TryTableId ?? -1, 'exception handling'],
  [(B as unknown as Record<string, number>).ThrowRefId ?? -1, 'exception handling'],
  [(B as unknown as Record<string, number>).TableFillId ?? -1, 'table.fill'],
  [(B as unknown as Record<string, number>).TableCopyId ?? -1, 'table.copy'],
  [(B as unknown as Record<string, number>).TableInitId ?? -1, 'table.init'],
  [(B as unknown as Record<string, number>).ElemDropId ?? -1, 'elem.drop'],
]);

function rewrite(
  mod: binaryen.Module,
  costs: CostTable,
  reservePages: number,
  imports: ModuleImport[],
  exports: string[],
  original: Uint8Array,
  preemptible: boolean,
): InstrumentedModule {
  // V8 accepted the module; binaryen must too under the features Maxwell runs. A module that
  // V8 reads but binaryen rejects uses a feature outside that set (tail calls, exceptions, ...).
  if (!mod.validate()) unsupported('a WebAssembly feature outside the supported set (see docs/design.md)');
  /** Set when the module does something that ties a process to its instance (see `migratable`). */
  let pinned = false;
  const ops = opCosts(costs);
  const memories = readMemorySection(original);
  if (memories.imported) unsupported('an imported memory');
  if (memories.count > 1) unsupported('multiple memories');
  if (memories.shared) unsupported('shared memory (threads)');
  if (memories.is64) unsupported('memory64');
  const guestInitialPages = memories.count === 0 ? 0 : memories.initialPages;
  const guestMaxPages = memories.maxPages;

  if (memories.count === 0) mod.setMemory(0, -1);

  for (const name of [FUEL_GLOBAL, YIELD_FN, REFILL_FN, GROW_FN, BULK_MEM_FN, BULK_TABLE_FN]) {
    if (mod.getFunction(name) !== 0 || mod.getGlobal(name) !== 0) unsupported(`the internal name ${name}`);
  }
  mod.addGlobal(FUEL_GLOBAL, B.i32, true, mod.i32.const(0));
  mod.addFunctionImport(YIELD_FN, HOST_MODULE, 'yield', B.i32, B.none);
  mod.addFunctionImport(REFILL_FN, HOST_MODULE, 'refill', B.i32, B.none);
  mod.addFunctionImport(GROW_FN, HOST_MODULE, 'grow', B.i32, B.i32);

  const importedFns = new Set<string>();
  const functions: Ref[] = [];
  const importSignatures: Record<string, Signature> = {};
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const f = mod.getFunctionByIndex(i);
    const info = B.getFunctionInfo(f);
    if (info.module) {
      importedFns.add(info.name);
      importSignatures[`${info.module}.${info.base}`] = signature(info.params, info.results);
    } else {
      functions.push(f);
      // Asyncify saves locals to linear memory and cannot save a reference (funcref, externref).
      const types = [...B.expandType(info.params), ...(info.vars ?? []).flatMap((v: number) => B.expandType(v))] as number[];
      if (types.some((t) => !NUMERIC_TYPES.has(t))) unsupported(`a reference-typed local or parameter (in function ${info.name})`);
    }
  }
  const exportSignatures: Record<string, Signature> = {};
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = B.getExportInfo(mod.getExportByIndex(i));
    if (info.kind !== B.ExternalFunction) continue;
    const f = B.getFunctionInfo(mod.getFunction(info.value));
    exportSignatures[info.name] = signature(f.params, f.results);
  }

  const fuel = () => mod.global.get(FUEL_GLOBAL, B.i32);
  const short = (cost: number) => mod.i32.lt_s(fuel(), mod.i32.const(cost));
  let labelCounter = 0;
  const fresh = (base: string) => `__maxwell$${base}${labelCounter++}`;
  const stats = { functions: functions.length, loops: 0, whileLoops: 0, ifArms: 0, joins: 0, bulkOps: 0, cachedFunctions: 0 };

  const costOf = (e: Ref, id: number): number => {
    switch (id) {
      case B.ConstId: return costs.const;
      case B.LocalGetId: case B.LocalSetId: case B.TupleMakeId: case B.TupleExtractId: return costs.local;
      case B.GlobalGetId: case B.GlobalSetId: return costs.global;
      case B.LoadId: return costs.load;
      case B.StoreId: return costs.store;
      case B.UnaryId: return ops.unary.get(B.Unary.getOp(e)) ?? costs.intSimple;
      case B.BinaryId: return ops.binary.get(B.Binary.getOp(e)) ?? costs.intSimple;
      case B.BreakId: case B.SelectId: case B.DropId: case B.ReturnId: case B.NopId: return costs.control;
      case B.SwitchId: return costs.control * 2;
      case B.UnreachableId: return costs.unreachable;
      case B.MemorySizeId: return costs.memorySize;
      default:
        if (id >= B.SIMDExtractId && id <= B.SIMDLoadStoreLaneId) return costs.simd;
        return costs.table;
    }
  };

  /** Calls every direct child of `e` (all expression classes the walker accepts). */
  const forEachChild = (e: Ref, fn: (child: Ref, isOperand: boolean) => void): void => {
    const id = B.getExpressionId(e);
    if (id === B.LoopId) return fn(B.Loop.getBody(e), false);
    if (id === B.IfId) {
      fn(B.If.getCondition(e), false);
      fn(B.If.getIfTrue(e), false);
      const f = B.If.getIfFalse(e);
      if (f) fn(f, false);
      return;
    }
    const acc = CHILDREN.get(id);
    if (acc === undefined) return;
    // Operands that are evaluated after the fuel cache is written back for a call (see FnCtx).
    const operand = id === B.CallId || id === B.CallIndirectId || id === B.MemoryGrowId || id === B.TableGrowId ||
      id === B.MemoryFillId || id === B.MemoryCopyId || id === B.MemoryInitId;
    for (const a of acc.singles) {
      const c = a.get(e);
      if (c) fn(c, operand);
    }
    if (acc.list) for (let i = 0; i < acc.list.count(e); i++) fn(acc.list.get(e, i), operand);
  };

  /** Does the function have a loop, and is any loop inside a call's operands? */
  const scan = (e: Ref, inOperand: boolean, out: { loops: boolean; loopInOperand: boolean }): void => {
    if (B.getExpressionId(e) === B.LoopId) {
      out.loops = true;
      if (inOperand) out.loopInOperand = true;
    }
    forEachChild(e, (c, op) => scan(c, inOperand || op, out));
  };

  interface Region { cost: number }

  /**
   * How one function keeps its fuel.
   *  - 'global': every charge reads and writes the fuel global. Used for functions without
   *    loops, where charges are few (the entry, if-arms).
   *  - 'cached': the function keeps the balance in a local (a register once compiled), as
   *    ../shared/notes/metering-in-v8.md recommends for hot loops. The local is loaded from
   *    the global after the entry charge and after every call, and written back before every
   *    call (callees and the host charge the global) and on every exit. Returns become
   *    branches to one exit block so that the write-back cannot be skipped. A trap skips it,
   *    so the host charges a trapped process its whole granted slice (process.ts).
   */
  interface FnCtx {
    cached: boolean;
    /** The fuel local (cached mode). */
    fuelLocal: number;
    /** Label of the exit block that returns become branches to (cached mode). */
    exitLabel: string;
    resultType: number;
    /** Temporaries for call results in cached mode, one per type. */
    temps: Map<number, number>;
    func: Ref;
    /** Unchecked charges made so far in this function (see chargeSegment). */
    unchecked: number;
    /** Has the walk passed a call (in evaluation order)? */
    sawCall: boolean;
    /** Does an unchecked charge follow a call? Then the exit settles the debt. */
    needsExitCheck: boolean;
  }
  let fn!: FnCtx;

  const get = () => (fn.cached ? mod.local.get(fn.fuelLocal, B.i32) : fuel());
  const charge = (cost: number) => (fn.cached
    ? mod.local.set(fn.fuelLocal, mod.i32.sub(mod.local.get(fn.fuelLocal, B.i32), mod.i32.const(cost)))
    : mod.global.set(FUEL_GLOBAL, mod.i32.sub(fuel(), mod.i32.const(cost))));
  const flush = () => mod.global.set(FUEL_GLOBAL, mod.local.get(fn.fuelLocal, B.i32));
  const reload = () => mod.local.set(fn.fuelLocal, fuel());
  const temp = (type: number): number => {
    let t = fn.temps.get(type);
    if (t === undefined) {
      t = B._BinaryenFunctionAddVar(fn.func, type) as number;
      fn.temps.set(type, t);
    }
    return t;
  };
  /**
   * The charge for an if-arm or a join point. A small one is a bare decrement, with no check:
   * the balance may dip below zero by it until the next check (a loop header or a function
   * entry), which pays the debt first. A large one checks and refills first, so that no region
   * much bigger than UNCHECKED_MAX_FUEL ever runs unpaid, whatever the budget.
   */
  const chargeSegment = (cost: number, afterCall: boolean): Ref => {
    // Unchecked charges are bounded per activation: each one at most UNCHECKED_MAX_FUEL, all of
    // one function's together at most UNCHECKED_FN_MAX_FUEL (past it, the rest are checked).
    // Debt made before a call is settled by the callee's entry check; debt made after a call
    // could leave with the return and pile up frame by frame down a recursion, so such a
    // function gets an exit check (fib's arms all precede its calls: it needs none).
    if (cost <= UNCHECKED_MAX_FUEL && fn.unchecked + cost <= UNCHECKED_FN_MAX_FUEL) {
      fn.unchecked += cost;
      if (afterCall) fn.needsExitCheck = true;
      return charge(cost);
    }
    const refill = mod.call(REFILL_FN, [mod.i32.const(cost)], B.none);
    return mod.block(null, [
      mod.if(mod.i32.lt_s(get(), mod.i32.const(cost)), fn.cached ? mod.block(null, [flush(), refill, reload()]) : refill),
      charge(cost),
    ]);
  };

  /** In cached mode, surrounds a call with the write-back and the reload of the fuel local. */
  const aroundCall = (call: Ref): Ref => {
    if (!fn.cached) return call;
    const type = B.getExpressionType(call);
    if (type === B.none || type === B.unreachable) return mod.block(null, [flush(), call, reload()], type === B.none ? B.none : undefined);
    const t = temp(type);
    return mod.block(null, [flush(), mod.local.set(t, call), reload(), mod.local.get(t, type)], type);
  };

  /**
   * `fold`: inside the operands of a call in cached mode, if-arms and join points are charged
   * with the enclosing region (both arms: an overcharge) rather than on their own, because a
   * charge made after the write-back that precedes the call would be lost at the reload.
   */
  const walk = (e: Ref, region: Region, fold: boolean): Ref => {
    const id = B.getExpressionId(e);
    const bad = UNSUPPORTED.get(id);
    if (bad !== undefined) unsupported(bad);
    if (id === B.TableSetId || id === B.TableGrowId || id === B.DataDropId) pinned = true;
    switch (id) {
      case B.LoopId: {
        assert(!fold, 'no loop in call operands of a cached function (scan chose global mode)');
        const inner: Region = { cost: 0 };
        const original = B.Loop.getBody(e);
        const body = isWhileShape(e, original) ? walkWhileBody(original, inner) : walk(original, inner, false);
        B.Loop.setBody(e, body);
        region.cost += costs.control;
        if (inner.cost > 0) meterLoop(e, inner.cost);
        return e;
      }
      case B.IfId: {
        B.If.setCondition(e, walk(B.If.getCondition(e), region, fold));
        region.cost += costs.control;
        const t = B.If.getIfTrue(e);
        B.If.setIfTrue(e, fold ? walk(t, region, true) : walkArm(t));
        const f = B.If.getIfFalse(e);
        if (f) B.If.setIfFalse(e, fold ? walk(f, region, true) : walkArm(f));
        return e;
      }
      case B.BlockId: {
        // Code after the end of a labelled block is a join point: it is reached by falling
        // through or by a branch that skipped the rest of the block (a br_table dispatch, for
        // one). It starts a segment of its own, charged when reached, so that a switch pays for
        // the case it runs and not for all of them.
        let segment = region;
        const splits: Array<{ index: number; seg: Region; afterCall: boolean }> = [];
        const count = B.Block.getNumChildren(e);
        for (let i = 0; i < count; i++) {
          const c = B.Block.getChildAt(e, i);
          const n = walk(c, segment, fold);
          if (n !== c) B.Block.setChildAt(e, i, n);
          if (!fold && i + 1 < count && B.getExpressionId(c) === B.BlockId && B.Block.getName(c)) {
            segment = { cost: 0 };
            splits.push({ index: i + 1, seg: segment, afterCall: fn.sawCall });
          }
        }
        for (let k = splits.length - 1; k >= 0; k--) {
          const { index, seg, afterCall } = splits[k]!;
          if (seg.cost > 0) {
            B.Block.insertChildAt(e, index, chargeSegment(seg.cost, afterCall));
            stats.joins++;
          }
        }
        return e;
      }
      case B.ReturnId: {
        walkChildren(e, id, region, fold);
        region.cost += costs.control;
        // Every exit must pass the exit block (the write-back of cached fuel, the debt check):
        // a return becomes a branch to it.
        const value = B.Return.getValue(e);
        return value ? mod.br(fn.exitLabel, 0, value) : mod.br(fn.exitLabel);
      }
      case B.MemorySizeId:
        region.cost += costs.memorySize;
        return mod.i32.sub(e, mod.i32.const(reservePages));
      case B.MemoryGrowId: {
        const delta = walk(B.MemoryGrow.getDelta(e), region, fold || fn.cached);
        region.cost += costs.callHost;
        fn.sawCall = true;
        return aroundCall(mod.call(GROW_FN, [delta], B.i32));
      }
      case B.MemoryFillId: case B.MemoryCopyId: case B.MemoryInitId: {
        const cls = (id === B.MemoryFillId ? B.MemoryFill : id === B.MemoryCopyId ? B.MemoryCopy : B.MemoryInit) as unknown as {
          getSize(e: Ref): Ref; setSize(e: Ref, c: Ref): void;
        };
        // The size is evaluated after the write-back that precedes the charging call.
        walkChildren(e, id, region, fold || fn.cached);
        cls.setSize(e, aroundCall(mod.call(BULK_MEM_FN, [cls.getSize(e)], B.i32)));
        stats.bulkOps++;
        region.cost += costs.control;
        return e;
      }
      case B.TableGrowId: {
        walkChildren(e, id, region, fold || fn.cached);
        B.TableGrow.setDelta(e, aroundCall(mod.call(BULK_TABLE_FN, [B.TableGrow.getDelta(e)], B.i32)));
        stats.bulkOps++;
        region.cost += costs.table;
        return e;
      }
      case B.CallId: {
        if (B.Call.isReturn(e)) unsupported('tail calls (return_call)');
        walkChildren(e, id, region, fold || fn.cached);
        region.cost += importedFns.has(B.Call.getTarget(e)) ? costs.callHost : costs.call;
        fn.sawCall = true;
        return aroundCall(e);
      }
      case B.CallIndirectId: {
        if (B.CallIndirect.isReturn(e)) unsupported('tail calls (return_call_indirect)');
        walkChildren(e, id, region, fold || fn.cached);
        region.cost += costs.callIndirect;
        fn.sawCall = true;
        return aroundCall(e);
      }
      default: {
        if (!LEAVES.has(id) && !CHILDREN.has(id)) unsupported(`an instruction binaryen calls #${id} (GC, strings or stack switching)`);
        walkChildren(e, id, region, fold);
        region.cost += costOf(e, id);
        return e;
      }
    }
  };

  const walkChildren = (e: Ref, id: number, region: Region, fold: boolean): void => {
    const acc = CHILDREN.get(id);
    if (acc === undefined) return;
    for (const a of acc.singles) {
      const c = a.get(e);
      if (c) {
        const n = walk(c, region, fold);
        if (n !== c) a.set(e, n);
      }
    }
    if (acc.list) {
      const count = acc.list.count(e);
      for (let i = 0; i < count; i++) {
        const c = acc.list.get(e, i);
        const n = walk(c, region, fold);
        if (n !== c) acc.list.set(e, i, n);
      }
    }
  };

  /**
   * `loop $L (if C (then ... (br $L))))` is how compilers lay out a while loop. Its arm runs on
   * every iteration but the last, so the arm is charged with the header instead of on its own:
   * one charge per iteration instead of two, at the price of overcharging the arm once, when
   * the loop exits.
   */
  const isWhileShape = (loop: Ref, body: Ref): boolean => {
    if (B.getExpressionId(body) !== B.IfId || B.If.getIfFalse(body)) return false;
    const name = B.Loop.getName(loop);
    if (!name) return false;
    let last = B.If.getIfTrue(body);
    if (B.getExpressionId(last) === B.BlockId) {
      const n = B.Block.getNumChildren(last);
      if (n === 0) return false;
      last = B.Block.getChildAt(last, n - 1);
    }
    return B.getExpressionId(last) === B.BreakId && B.Break.getName(last) === name && !B.Break.getCondition(last);
  };

  const walkWhileBody = (iff: Ref, region: Region): Ref => {
    B.If.setCondition(iff, walk(B.If.getCondition(iff), region, false));
    region.cost += costs.control;
    B.If.setIfTrue(iff, walk(B.If.getIfTrue(iff), region, false));
    stats.whileLoops++;
    return iff;
  };

  const walkArm = (arm: Ref): Ref => {
    const r: Region = { cost: 0 };
    const afterCall = fn.sawCall;
    const body = walk(arm, r, false);
    stats.ifArms++;
    if (r.cost === 0) return body;
    return mod.block(null, [chargeSegment(r.cost, afterCall), body], B.getExpressionType(body));
  };

  /**
   * Rewrites `loop $L (T) BODY` in place (its parent keeps pointing at the same node) into
   *
   *   loop $re (T)                      ;; the node itself, renamed: re-entry after a yield
   *     block $out (T)
   *       block $short
   *         br $out (loop $L (T) (br_if $short (fuel < cost)) (fuel -= cost) BODY)
   *       end
   *       yield(cost)                   ;; (cached mode: write back before, reload after)
   *       br $re
   *     end
   *   end
   *
   * so that the hot loop $L contains no call, and branches in BODY to $L still go to its header.
   */
  const meterLoop = (loop: Ref, cost: number): void => {
    stats.loops++;
    const type = B.getExpressionType(loop);
    let name = B.Loop.getName(loop);
    if (!name) name = fresh('loop');
    const re = fresh('re');
    const out = fresh('out');
    const shortLabel = fresh('short');
    const body = B.Loop.getBody(loop);
    const check = mod.br(shortLabel, mod.i32.lt_s(get(), mod.i32.const(cost)));
    const innerBody = mod.block(null, [check, charge(cost), body], B.getExpressionType(body));
    const inner = mod.loop(name, innerBody);
    const concrete = type !== B.none && type !== B.unreachable;
    const shortChildren = concrete ? [mod.br(out, 0, inner)] : type === B.none ? [inner, mod.br(out)] : [inner];
    const shortBlock = mod.block(shortLabel, shortChildren, B.none);
    const yieldCall = mod.call(YIELD_FN, [mod.i32.const(cost)], B.none);
    const onShort = fn.cached ? [flush(), yieldCall, reload()] : [yieldCall];
    // A loop that never falls through (type unreachable) gets an untyped block: binaryen infers it.
    const outType = concrete ? type : type === B.none ? B.none : undefined;
    const outBlock = mod.block(out, [shortBlock, ...onShort, mod.br(re)], outType);
    B.Loop.setName(loop, re);
    B.Loop.setBody(loop, outBlock);
    B.Expression.finalize(loop);
  };

  for (const f of functions) {
    const body = B.Function.getBody(f);
    const results = B.Function.getResults(f);
    const found = { loops: false, loopInOperand: false };
    scan(body, false, found);
    const cached = found.loops && !found.loopInOperand;
    fn = { cached, fuelLocal: -1, exitLabel: fresh('exit'), resultType: results, temps: new Map(), func: f, unchecked: 0, sawCall: false, needsExitCheck: false };
    if (cached) {
      fn.fuelLocal = B._BinaryenFunctionAddVar(f, B.i32) as number;
      stats.cachedFunctions++;
    }
    const entry: Region = { cost: 0 };
    const newBody = walk(body, entry, false);
    // The entry charge always works on the global (the cache is loaded after it). It calls
    // `refill`, which never suspends: only loop headers and bulk operations are suspension
    // points, so that a function without loops is left alone by Asyncify (it would otherwise
    // add a state check around every call: +47% on recursive fib). A loop-free call tree is
    // still metered and killed at its budget; it is preempted at the next loop header.
    const prologue = entry.cost > 0
      ? [mod.if(short(entry.cost), mod.call(REFILL_FN, [mod.i32.const(entry.cost)], B.none)),
        mod.global.set(FUEL_GLOBAL, mod.i32.sub(fuel(), mod.i32.const(entry.cost)))]
      : [];
    // The exit: write cached fuel back, and settle any debt the unchecked charges left, so
    // that the caller resumes with a non-negative balance (refill(0) dies of apoptosis if the
    // debt is past the budget).
    const exitBlock = mod.block(fn.exitLabel, [newBody], results);
    const settle = fn.needsExitCheck ? [mod.if(short(0), mod.call(REFILL_FN, [mod.i32.const(0)], B.none))] : [];
    const after = [...(cached ? [flush()] : []), ...settle];
    const tail = results === B.none
      ? [exitBlock, ...after]
      : after.length === 0
        ? [exitBlock]
        : [mod.local.set(temp(results), exitBlock), ...after, mod.local.get(temp(results), results)];
    B.Function.setBody(f, mod.block(null, [...prologue, ...(cached ? [reload()] : []), ...tail], results));
  }

  // Internal helpers, added after the walk so that they are not metered themselves.
  // cost = base + ceil(len / 16) * per16, computed in i64 (a 4 GiB copy costs ~2^33 fuel) and
  // paid in instalments of at most 2^30, each one checked: a cost past one slice is paid in
  // full before the operation runs, never capped.
  const CHUNK = BigInt(1 << 30) as never;
  mod.addFunction(BULK_MEM_FN, B.i32, B.i32, [B.i32, B.i64], mod.block(null, [
    mod.local.set(2, mod.i64.add(mod.i64.const(BigInt(costs.bulkBase) as never), mod.i64.mul(
      mod.i64.shr_u(mod.i64.add(mod.i64.extend_u(mod.local.get(0, B.i32)), mod.i64.const(BigInt(15) as never)), mod.i64.const(BigInt(4) as never)),
      mod.i64.const(BigInt(costs.bulkPer16Bytes) as never)))),
    mod.loop('pay', mod.block(null, [
      // select evaluates its arms before its condition: both read the i64 set above.
      mod.local.set(1, mod.i32.wrap(mod.select(
        mod.i64.gt_u(mod.local.get(2, B.i64), mod.i64.const(CHUNK)),
        mod.i64.const(CHUNK),
        mod.local.get(2, B.i64),
      ))),
      mod.if(mod.i32.lt_s(fuel(), mod.local.get(1, B.i32)), mod.call(YIELD_FN, [mod.local.get(1, B.i32)], B.none)),
      mod.global.set(FUEL_GLOBAL, mod.i32.sub(fuel(), mod.local.get(1, B.i32))),
      mod.local.set(2, mod.i64.sub(mod.local.get(2, B.i64), mod.i64.extend_u(mod.local.get(1, B.i32)))),
      mod.br('pay', mod.i64.gt_s(mod.local.get(2, B.i64), mod.i64.const(BigInt(0) as never))),
    ])),
    mod.local.get(0, B.i32),
  ], B.i32));
  // Table lengths above 2^24 elements trap anyway (V8 caps tables at 10^7); the cap keeps the
  // product inside an i32.
  mod.addFunction(BULK_TABLE_FN, B.i32, B.i32, [B.i32], mod.block(null, [
    mod.local.set(1, mod.select(
      mod.i32.gt_u(mod.local.get(0, B.i32), mod.i32.const(1 << 24)),
      mod.i32.const(1 << 28),
      mod.i32.add(mod.i32.const(costs.bulkBase), mod.i32.mul(mod.local.get(0, B.i32), mod.i32.const(costs.tableElem))),
    )),
    mod.if(mod.i32.lt_s(fuel(), mod.local.get(1, B.i32)), mod.call(YIELD_FN, [mod.local.get(1, B.i32)], B.none)),
    mod.global.set(FUEL_GLOBAL, mod.i32.sub(fuel(), mod.local.get(1, B.i32))),
    mod.local.get(0, B.i32),
  ], B.i32));

  const startRef = mod.getStart();
  const hasStart = startRef !== 0;
  if (hasStart) {
    // A start function runs inside instantiation, where the host cannot suspend it. The host
    // runs it instead, as the first call of the process, metered and preemptible like the rest.
    const startName = B.getFunctionInfo(startRef).name;
    mod.setStart(0);
    mod.addFunctionExport(startName, START_EXPORT);
  }
  mod.addGlobalExport(FUEL_GLOBAL, FUEL_EXPORT);

  if (!mod.validate()) {
    throw new Error('instrumentation produced an invalid module (a bug in src/runtime/instrument.ts)');
  }
  if (preemptible) {
    B.setPassArgument('asyncify-imports', `${HOST_MODULE}.yield`);
    B.setOptimizeLevel(2);
    B.setShrinkLevel(0);
    try {
      mod.runPasses(['asyncify']);
    } catch (err) {
      // binaryen reports a fatal error as a thrown object; the checks above should leave none.
      unsupported(`something Asyncify cannot transform (${(err as Error)?.message ?? String(err)})`);
    } finally {
      B.clearPassArguments();
    }
  }
  // Every mutable global but the fuel counter (exported already), Asyncify's included, so that a
  // suspended process can be moved to another worker.
  const globalExports: string[] = [];
  for (let i = 0; i < mod.getNumGlobals(); i++) {
    const g = B.getGlobalInfo(mod.getGlobalByIndex(i));
    if (!g.mutable || g.name === FUEL_GLOBAL) continue;
    // A v128 global cannot be read from JavaScript, a reference cannot cross threads: such a
    // process cannot be copied to another worker.
    if (g.type !== B.i32 && g.type !== B.i64 && g.type !== B.f32 && g.type !== B.f64) {
      pinned = true;
      continue;
    }
    const name = `${GLOBAL_EXPORT_PREFIX}${globalExports.length}`;
    mod.addGlobalExport(g.name, name);
    globalExports.push(name);
  }
  const emitted = mod.emitBinary();
  const binary = addMemoryExport(patchMemorySection(emitted, guestInitialPages + reservePages));
  return { binary, reservePages, guestInitialPages, guestMaxPages, hasStart, imports, exports, importSignatures, exportSignatures, stats, globalExports, migratable: !pinned };
}

// --- The binary's memory section: read limits, and rewrite them after instrumentation. ---

function readLeb(buf: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    assert(byte !== undefined, 'LEB128 inside the buffer');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

interface Section { id: number; start: number; contentStart: number; end: number }

function sections(buf: Uint8Array): Section[] {
  const out: Section[] = [];
  let pos = 8;
  while (pos < buf.length) {
    const id = buf[pos]!;
    const [size, contentStart] = readLeb(buf, pos + 1);
    out.push({ id, start: pos, contentStart, end: contentStart + size });
    pos = contentStart + size;
  }
  return out;
}

interface MemoryLimits { count: number; imported: boolean; shared: boolean; is64: boolean; initialPages: number; maxPages: number | undefined }

/** Reads the guest's memory declaration straight from its binary (binaryen.js does not expose the maximum). */
export function readMemorySection(buf: Uint8Array): MemoryLimits {
  const limits: MemoryLimits = { count: 0, imported: false, shared: false, is64: false, initialPages: 0, maxPages: undefined };
  for (const s of sections(buf)) {
    if (s.id === 2) {
      // Import section: look for memory imports (kind 2).
      let [n, pos] = readLeb(buf, s.contentStart);
      for (let i = 0; i < n; i++) {
        let len: number;
        [len, pos] = readLeb(buf, pos); pos += len;
        [len, pos] = readLeb(buf, pos); pos += len;
        const kind = buf[pos++]!;
        if (kind === 0) { [, pos] = readLeb(buf, pos); }
        else if (kind === 1) { pos++; const flags = buf[pos++]!; [, pos] = readLeb(buf, pos); if (flags & 1) [, pos] = readLeb(buf, pos); }
        else if (kind === 2) { limits.imported = true; return limits; }
        else if (kind === 3) { pos += 2; }
        else return limits;
      }
    }
    if (s.id === 5) {
      let pos: number;
      [limits.count, pos] = readLeb(buf, s.contentStart);
      if (limits.count >= 1) {
        const flags = buf[pos++]!;
        limits.shared = (flags & 2) !== 0;
        limits.is64 = (flags & 4) !== 0;
        [limits.initialPages, pos] = readLeb(buf, pos);
        if (flags & 1) [limits.maxPages] = readLeb(buf, pos);
      }
    }
  }
  return limits;
}

/**
 * Exports memory 0 under MEMORY_EXPORT, straight in the binary: binaryen.js has no way to ask a
 * memory's internal name short of printing the whole module as text.
 */
function addMemoryExport(buf: Uint8Array): Uint8Array {
  const exp = sections(buf).find((s) => s.id === 7);
  assert(exp !== undefined, 'instrumented module has an export section (the fuel global)');
  const [count, entries] = readLeb(buf, exp.contentStart);
  const name = new TextEncoder().encode(MEMORY_EXPORT);
  const content = [...writeLeb(count + 1), ...buf.subarray(entries, exp.end), ...writeLeb(name.length), ...name, 0x02, 0x00];
  const section = [7, ...writeLeb(content.length), ...content];
  const out = new Uint8Array(buf.length - (exp.end - exp.start) + section.length);
  out.set(buf.subarray(0, exp.start), 0);
  out.set(section, exp.start);
  out.set(buf.subarray(exp.end), exp.start + section.length);
  return out;
}

/**
 * Sets the (single) memory's limits to `initialPages` with no maximum: the host enforces the
 * guest's declared maximum and the node's limit in its grow handler, and the save area must fit
 * above the guest's own pages even when the guest declared initial == maximum.
 */
function patchMemorySection(buf: Uint8Array, initialPages: number): Uint8Array {
  const mem = sections(buf).find((s) => s.id === 5);
  assert(mem !== undefined, 'instrumented module has a memory section');
  const content = [1, 0x00, ...writeLeb(initialPages)];
  const section = [5, ...writeLeb(content.length), ...content];
  const out = new Uint8Array(buf.length - (mem.end - mem.start) + section.length);
  out.set(buf.subarray(0, mem.start), 0);
  out.set(section, mem.start);
  out.set(buf.subarray(mem.end), mem.start + section.length);
  return out;
}
