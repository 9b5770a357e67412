/**
 * The thermal model: one first-order RC node per machine, coupled through recirculated air.
 *
 * Each node i is one lumped thermal mass (its CPU packages, heatsinks and the board around them)
 * at temperature T_i, shedding heat to the air it breathes through a resistance R:
 *
 *   C · dT_i/dt = P_i − (T_i − T_in,i) / R
 *
 * where P_i is the power the node actually draws (deliveredW) and T_in,i its inlet air. The heat
 * the node sheds, q_i = (T_i − T_in,i)/R, warms the air that passes through it, whose heat
 * capacity rate is G (airflowWPerK, W/K), so its exhaust leaves at
 *
 *   T_ex,i = T_in,i + q_i / G.
 *
 * Recirculation: a fraction w_ij of node i's inlet air is node j's exhaust, the rest is the
 * supply air that reaches i from the cooling units, at T_supply + o_i (o_i: `supplyOffsetC[i]`,
 * 0 by default; a failed or degraded CRAC, or the end of a row far from the units, delivers
 * warmer air to some racks). Mixing gives
 *
 *   T_in,i = (1 − Σ_j w_ij) · (T_supply + o_i) + Σ_j w_ij · T_ex,j
 *          = T_supply + o_i + Σ_j w_ij · (T_ex,j − T_supply − o_i)
 *
 * The recirculated term is j's actual exhaust air measured against i's own supply, not against
 * j's: what mixes into i's inlet is j's air at its temperature, replacing supply air that would
 * have come at T_supply + o_i. (Measuring it against j's supply, T_ex,j − T_supply − o_j, would
 * drop the warmer supply a hot-aisle leak carries from a rack on a failed CRAC into the next
 * rack, and count a node on a cool rack breathing a warm rack's air as if that air were cool.)
 * With every o_i equal the whole room shifts by that offset. "j's exhaust rise" includes j's own
 * recirculated inlet warming, so hot air cascades over several hops (a node breathing a hot
 * node's exhaust runs hotter, and its exhaust is hotter in turn). This is the mixing form of the cross-interference model of Tang,
 * Gupta and Varsamopoulos (IEEE TPDS 2008). Each node's inlet has a fraction Σ_j w_ij < 1 of
 * recirculated air, which also keeps the cascade convergent (the spectral radius of W is at most
 * its largest row sum).
 *
 * Integration. Within a step of dtS seconds, a node's inlet and power are held constant (the
 * inlets are computed from the state at the start of the step), so the ODE is linear with
 * constant coefficients and has an exact solution:
 *
 *   T(t + dt) = T_ss + (T(t) − T_ss) · e^(−dt/τ),   T_ss = T_in + P·R,   τ = R·C
 *
 * This is exact for any dtS (no stability limit, unlike forward Euler, which diverges for
 * dt > 2τ) and costs one multiply-add per node; e^(−dt/τ) is the same for every node and is
 * computed once per step (with expm1, so a small dt does not lose digits to 1 − e^(−x)).
 *
 * Throttling. A node whose temperature at the start of a step is above tMaxC throttles: it draws
 * demand × throttleFraction until its temperature falls below tMaxC − throttleHysteresisC. The
 * hysteresis keeps it from chattering on and off around tMaxC, as Linux thermal trip points do.
 *
 * One step is O(nodes + couplings) with no allocation: typed arrays only, the coupling kept in
 * coordinate form (from, to, weight). docs/heat-thermal.md gives the parameters' sources.
 */
import { assert } from '../assert.js';
import { NODE_POWER_W_MAX } from '../energy/power-model.js';
import { ErrorCode, MaxwellError } from '../errors.js';

export interface ThermalParams {
  /** C: the node's lumped heat capacity. */
  capacityJPerK: number;
  /** R: thermal resistance from the node to its inlet air (steady-state rise = P·R). */
  resistanceKPerW: number;
  /** The CRAC's supply air temperature: the inlet of a node that breathes no recirculated air. */
  supplyC: number;
  /** Throttling starts when a node is above this at the start of a step. */
  tMaxC: number;
  /** Throttling ends when a node is below tMaxC − this. */
  throttleHysteresisC: number;
  /** Delivered power ÷ demanded power while throttled (0 < f < 1); work slows by the same factor. */
  throttleFraction: number;
  /** A node's power with no work (for defaults and docs; the model itself is driven by demand). */
  idlePowerW: number;
  /**
   * G: the heat capacity rate of the air through one node (mass flow × c_p), which sets how much
   * a node's exhaust is warmer than its inlet: q/G. Optional so that a full `ThermalParams`
   * literal written before it existed still compiles; the default applies when it is absent.
   */
  airflowWPerK?: number;
}

/**
 * Defaults for a two-socket air-cooled 1U/2U server, 200 W idle, 400 W at full load. Every
 * figure's source or reasoning is in docs/heat-thermal.md ("Parameters"); R, C and the throttle
 * fraction are assumptions to be replaced by a node's own calibration.
 */
export const DEFAULT_THERMAL_PARAMS: ThermalParams = Object.freeze({
  capacityJPerK: 2500,
  resistanceKPerW: 0.12,
  supplyC: 22,
  tMaxC: 85,
  throttleHysteresisC: 5,
  throttleFraction: 0.6,
  idlePowerW: 200,
  airflowWPerK: 35,
});

/** A limit on the model's size: 100,000 nodes is a large datacenter hall. */
export const THERMAL_NODES_MAX = 100_000;
/** Couplings per node, on average; rackCoupling makes at most 4. */
export const COUPLINGS_PER_NODE_MAX = 16;
/** One step is at most an hour: longer steps are exact but hold inlets and throttling fixed too long. */
export const STEP_S_MAX = 3600;
/**
 * The range of temperatures the model accepts (initial, observed, parameters). A sensor reading
 * outside it is a broken sensor, not a temperature (hwmon reports −5 °C on a cold NVMe drive, so
 * the floor is below zero).
 */
export const TEMP_C_MIN = -60;
export const TEMP_C_MAX = 200;
/** A supply offset beyond ±50 °C is not a cooling fault but a fire or a freezer. */
export const SUPPLY_OFFSET_C_MAX = 50;

export interface Coupling {
  /**
   * Edge k: `weight[k]` of node `to[k]`'s inlet air is node `from[k]`'s exhaust. For node i, the
   * edges with to = i name its neighbours j and the fraction of j's exhaust rise (above supply)
   * that reaches i's inlet.
   */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
}

export interface ThermalModelInit {
  nodes: number;
  params?: Partial<ThermalParams>;
  coupling?: Coupling;
  /** Every node's starting temperature; the supply temperature by default (a cold start). */
  initialC?: number;
}

function badArgument(field: string, message: string, value?: unknown): MaxwellError {
  return new MaxwellError(ErrorCode.BAD_ARGUMENT, `${field}: ${message}`, { field, value });
}

function requireFinite(field: string, value: number, min: number, max: number, unit: string): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw badArgument(field, `must be a number in [${min}, ${max}] ${unit}, got ${String(value)}`, value);
  }
}

function requirePositive(field: string, value: number, max: number, unit: string): void {
  if (typeof value !== 'number' || !(value > 0 && value <= max)) {
    throw badArgument(field, `must be a number in (0, ${max}] ${unit}, got ${String(value)}`, value);
  }
}

/** Throws E_BAD_ARGUMENT naming the first field of `p` that is out of range. */
export function validateThermalParams(p: ThermalParams): void {
  requirePositive('capacityJPerK', p.capacityJPerK, 1e9, 'J/K');
  requirePositive('resistanceKPerW', p.resistanceKPerW, 100, 'K/W');
  requireFinite('supplyC', p.supplyC, TEMP_C_MIN, TEMP_C_MAX, '°C');
  requireFinite('tMaxC', p.tMaxC, TEMP_C_MIN, TEMP_C_MAX, '°C');
  if (!(p.tMaxC > p.supplyC)) throw badArgument('tMaxC', `must be above supplyC (${p.supplyC} °C), got ${p.tMaxC}`, p.tMaxC);
  requireFinite('throttleHysteresisC', p.throttleHysteresisC, 0, p.tMaxC - p.supplyC, '°C');
  if (typeof p.throttleFraction !== 'number' || !(p.throttleFraction > 0 && p.throttleFraction < 1)) {
    throw badArgument('throttleFraction', `must be a number in (0, 1), got ${String(p.throttleFraction)}`, p.throttleFraction);
  }
  requireFinite('idlePowerW', p.idlePowerW, 0, NODE_POWER_W_MAX, 'W');
  if (p.airflowWPerK !== undefined) {
    requirePositive('airflowWPerK', p.airflowWPerK, 1e6, 'W/K');
    // Air leaving hotter than the node it cooled would be heat flowing uphill: R·G ≥ 1.
    if (!(p.resistanceKPerW * p.airflowWPerK >= 1)) {
      throw badArgument(
        'airflowWPerK',
        `resistanceKPerW × airflowWPerK must be ≥ 1 (exhaust no hotter than the node), got ${p.resistanceKPerW * p.airflowWPerK}`,
        p.airflowWPerK,
      );
    }
  }
}

/**
 * The closed-form step response of one isolated node (constant inlet and power from t = 0):
 * T(t) = T_in + P·R·(1 − e^(−t/(R·C))) + (T0 − T_in)·e^(−t/(R·C)).
 */
export function stepResponseC(
  t0C: number,
  inletC: number,
  powerW: number,
  p: Pick<ThermalParams, 'capacityJPerK' | 'resistanceKPerW'>,
  tS: number,
): number {
  requirePositive('capacityJPerK', p.capacityJPerK, 1e9, 'J/K');
  requirePositive('resistanceKPerW', p.resistanceKPerW, 100, 'K/W');
  requireFinite('tS', tS, 0, Number.MAX_VALUE, 's');
  const x = -tS / (p.resistanceKPerW * p.capacityJPerK);
  const decay = Math.exp(x);
  const rise = -Math.expm1(x); // 1 − e^x without cancellation when x is small
  return inletC + powerW * p.resistanceKPerW * rise + (t0C - inletC) * decay;
}

/**
 * The coupling of `racks` racks standing side by side in one row, `nodesPerRack` nodes each.
 *
 * Node index = rack × nodesPerRack + slot, slot 0 at the bottom of the rack. Into node (r, s):
 *
 *   from (r, s − 1), the node below:     recirculation       (hot exhaust rises)
 *   from (r, s + 1), the node above:     recirculation / 4   (for the top node: from itself, the
 *                                        hot-aisle air spilling over the rack's top at its height)
 *   from (r − 1, s) and (r + 1, s):      recirculation / 8   each (hot-aisle air leaking between
 *                                        neighbouring racks at the same height)
 *
 * so a node's inlet holds at most 1.5 × recirculation ≤ 0.75 of recirculated air. The asymmetry
 * (below stronger than above) and the over-the-top term make inlets warm from the bottom of a
 * rack to its top, the usual pattern in air-cooled rooms. The weights are an assumption
 * (docs/heat-thermal.md); a measured cross-interference matrix can be passed as a `Coupling`.
 */
export function rackCoupling(o: { racks: number; nodesPerRack: number; recirculation: number }): Coupling {
  const { racks, nodesPerRack, recirculation } = o;
  if (!Number.isInteger(racks) || racks < 1) throw badArgument('racks', `must be an integer ≥ 1, got ${String(racks)}`, racks);
  if (!Number.isInteger(nodesPerRack) || nodesPerRack < 1) {
    throw badArgument('nodesPerRack', `must be an integer ≥ 1, got ${String(nodesPerRack)}`, nodesPerRack);
  }
  if (racks * nodesPerRack > THERMAL_NODES_MAX) {
    throw badArgument('racks', `racks × nodesPerRack must be ≤ ${THERMAL_NODES_MAX}, got ${racks * nodesPerRack}`, racks);
  }
  requireFinite('recirculation', recirculation, 0, 0.5, '');
  const below = recirculation;
  const above = recirculation / 4;
  const side = recirculation / 8;
  const edgesMax = recirculation === 0 ? 0 : racks * nodesPerRack * 4;
  const from = new Int32Array(edgesMax);
  const to = new Int32Array(edgesMax);
  const weight = new Float64Array(edgesMax);
  let k = 0;
  const add = (j: number, i: number, w: number): void => {
    from[k] = j;
    to[k] = i;
    weight[k] = w;
    k++;
  };
  if (recirculation > 0) {
    for (let r = 0; r < racks; r++) {
      for (let s = 0; s < nodesPerRack; s++) {
        const i = r * nodesPerRack + s;
        if (s > 0) add(i - 1, i, below);
        // The top node has no node above; what it breathes from above is hot-aisle air spilling
        // over the top of the rack, which at its height is mostly its own exhaust.
        add(s < nodesPerRack - 1 ? i + 1 : i, i, above);
        if (r > 0) add(i - nodesPerRack, i, side);
        if (r < racks - 1) add(i + nodesPerRack, i, side);
      }
    }
  }
  return { from: from.slice(0, k), to: to.slice(0, k), weight: weight.slice(0, k) };
}

export class ThermalModel {
  readonly nodes: number;
  /** The parameters in force, defaults filled in. */
  readonly params: Readonly<Required<ThermalParams>>;
  /** Node temperatures. */
  readonly tempC: Float64Array;
  /** Inlet air over the last step: supply + offset + Σ weight · (neighbour's exhaust − this node's supply). */
  readonly inletC: Float64Array;
  /**
   * Per node, how much warmer than supplyC the supply air reaching it is (°C; negative: cooler).
   * Zeros at first; the caller may write it between steps (a CRAC failing, a row's far end).
   * Checked at each step to lie in ±SUPPLY_OFFSET_C_MAX.
   */
  readonly supplyOffsetC: Float64Array;
  /** Exhaust air the last step's inlets were computed from (the state at that step's start). */
  readonly exhaustC: Float64Array;
  /** Power actually drawn over the last step (demand, or demand × throttleFraction). */
  readonly deliveredW: Float64Array;
  /** 1 while throttled. */
  readonly throttled: Uint8Array;
  /** Seconds each node has spent throttled so far. */
  readonly throttledS: Float64Array;
  private readonly from: Int32Array;
  private readonly to: Int32Array;
  private readonly weight: Float64Array;
  /** 1 − Σ_j w_ij per node: the share of its inlet that is supply air, which the offset warms. */
  private readonly supplyShare: Float64Array;
  /** e^(−dt/τ)'s complement for the last dtS, so a fixed-step driver computes it once. */
  private gainDtS = Number.NaN;
  private gain = 0;

  constructor(init: ThermalModelInit) {
    const { nodes } = init;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > THERMAL_NODES_MAX) {
      throw badArgument('nodes', `must be an integer in [1, ${THERMAL_NODES_MAX}], got ${String(nodes)}`, nodes);
    }
    const merged = { ...DEFAULT_THERMAL_PARAMS } as Required<ThermalParams>;
    for (const [key, value] of Object.entries(init.params ?? {})) {
      if (!Object.hasOwn(DEFAULT_THERMAL_PARAMS, key)) throw badArgument(`params.${key}`, 'is not a thermal parameter', value);
      if (value !== undefined) (merged as unknown as Record<string, number>)[key] = value as number;
    }
    validateThermalParams(merged);
    this.params = Object.freeze(merged);
    this.nodes = nodes;

    const initialC = init.initialC ?? merged.supplyC;
    requireFinite('initialC', initialC, TEMP_C_MIN, TEMP_C_MAX, '°C');
    this.tempC = new Float64Array(nodes).fill(initialC);
    this.inletC = new Float64Array(nodes).fill(merged.supplyC);
    this.exhaustC = new Float64Array(nodes).fill(merged.supplyC);
    this.deliveredW = new Float64Array(nodes);
    this.throttled = new Uint8Array(nodes);
    this.throttledS = new Float64Array(nodes);

    const coupling = init.coupling ?? { from: new Int32Array(0), to: new Int32Array(0), weight: new Float64Array(0) };
    validateCoupling(coupling, nodes);
    // Copies, so that the caller changing its arrays later cannot break what was validated.
    this.from = Int32Array.from(coupling.from);
    this.to = Int32Array.from(coupling.to);
    this.weight = Float64Array.from(coupling.weight);
    this.supplyOffsetC = new Float64Array(nodes);
    this.supplyShare = new Float64Array(nodes).fill(1);
    for (let k = 0; k < this.weight.length; k++) this.supplyShare[this.to[k]!]! -= this.weight[k]!;
  }

  /** How many coupling edges the model holds. */
  get couplings(): number {
    return this.weight.length;
  }

  /**
   * Advance dtS seconds with each node's demanded power: exact exponential integration per node
   * over the step (stable for any dtS), inlets from the previous state.
   */
  step(dtS: number, demandW: Float64Array): void {
    if (typeof dtS !== 'number' || !(dtS > 0 && dtS <= STEP_S_MAX)) {
      throw badArgument('dtS', `must be a number in (0, ${STEP_S_MAX}] s, got ${String(dtS)}`, dtS);
    }
    const n = this.nodes;
    if (!(demandW instanceof Float64Array) || demandW.length !== n) {
      throw badArgument('demandW', `must be a Float64Array of ${n} powers`, (demandW as unknown as { length?: unknown })?.length);
    }
    const offset = this.supplyOffsetC;
    // Checked before anything changes, so a bad figure leaves the model as it was.
    for (let i = 0; i < n; i++) {
      const p = demandW[i]!;
      if (!(p >= 0 && p <= NODE_POWER_W_MAX)) {
        throw badArgument(`demandW[${i}]`, `must be a power in [0, ${NODE_POWER_W_MAX}] W, got ${p}`, p);
      }
      const o = offset[i]!;
      if (!(o >= -SUPPLY_OFFSET_C_MAX && o <= SUPPLY_OFFSET_C_MAX)) {
        throw badArgument(`supplyOffsetC[${i}]`, `must be a number in [${-SUPPLY_OFFSET_C_MAX}, ${SUPPLY_OFFSET_C_MAX}] °C, got ${o}`, o);
      }
    }
    const { resistanceKPerW: r, capacityJPerK: c, supplyC, tMaxC, throttleHysteresisC, throttleFraction, airflowWPerK } = this.params;
    const temp = this.tempC;
    const inlet = this.inletC;
    const exhaust = this.exhaustC;

    // Exhaust from the state at the start of the step: the heat each node sheds into the air it
    // has been breathing.
    const shedToAir = 1 / (r * airflowWPerK);
    for (let i = 0; i < n; i++) exhaust[i] = inlet[i]! + (temp[i]! - inlet[i]!) * shedToAir;

    // T_in,i = T_supply + o_i·(1 − Σ_j w_ij) + Σ_j w_ij·(T_ex,j − T_supply): the mixing form above
    // with o_i's share gathered per node, so offsets cost O(nodes), not O(couplings) (and with
    // every offset 0 the sums are the same floating-point operations as without offsets).
    const share = this.supplyShare;
    for (let i = 0; i < n; i++) inlet[i] = supplyC + offset[i]! * share[i]!;
    const from = this.from;
    const to = this.to;
    const weight = this.weight;
    for (let k = 0; k < weight.length; k++) inlet[to[k]!]! += weight[k]! * (exhaust[from[k]!]! - supplyC);

    if (dtS !== this.gainDtS) {
      this.gainDtS = dtS;
      this.gain = -Math.expm1(-dtS / (r * c));
    }
    const gain = this.gain;
    const throttleEndC = tMaxC - throttleHysteresisC;
    const throttled = this.throttled;
    const delivered = this.deliveredW;
    const throttledS = this.throttledS;
    for (let i = 0; i < n; i++) {
      const t = temp[i]!;
      let on = throttled[i]!;
      if (on === 0) {
        if (t > tMaxC) on = 1;
      } else if (t < throttleEndC) {
        on = 0;
      }
      throttled[i] = on;
      const p = on === 1 ? demandW[i]! * throttleFraction : demandW[i]!;
      delivered[i] = p;
      const next = t + (inlet[i]! + p * r - t) * gain;
      // No template string on the hot path: the message is built only when the check fails.
      if (!Number.isFinite(next)) assert(false, `node ${i} temperature is ${next} after a step of ${dtS} s`);
      temp[i] = next;
      if (on === 1) throttledS[i]! += dtS;
    }
  }

  /** A measured temperature replaces the model's for node i (sensor feed); the model carries on from it. */
  observe(i: number, tempC: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.nodes) {
      throw badArgument('i', `must be a node index in [0, ${this.nodes}), got ${String(i)}`, i);
    }
    requireFinite('tempC', tempC, TEMP_C_MIN, TEMP_C_MAX, '°C');
    this.tempC[i] = tempC;
  }
}

/** Throws E_BAD_ARGUMENT naming the first bad part of `coupling` for a model of `nodes` nodes. */
export function validateCoupling(coupling: Coupling, nodes: number): void {
  const { from, to, weight } = coupling;
  if (!(from instanceof Int32Array)) throw badArgument('coupling.from', 'must be an Int32Array');
  if (!(to instanceof Int32Array)) throw badArgument('coupling.to', 'must be an Int32Array');
  if (!(weight instanceof Float64Array)) throw badArgument('coupling.weight', 'must be a Float64Array');
  const m = weight.length;
  if (from.length !== m || to.length !== m) {
    throw badArgument('coupling', `from, to and weight must have one length, got ${from.length}, ${to.length}, ${m}`);
  }
  const edgesMax = nodes * COUPLINGS_PER_NODE_MAX;
  if (m > edgesMax) throw badArgument('coupling', `at most ${edgesMax} edges for ${nodes} nodes, got ${m}`, m);
  const rowSum = new Float64Array(nodes);
  for (let k = 0; k < m; k++) {
    const j = from[k]!;
    const i = to[k]!;
    const w = weight[k]!;
    if (j < 0 || j >= nodes) throw badArgument(`coupling.from[${k}]`, `must be a node index in [0, ${nodes}), got ${j}`, j);
    if (i < 0 || i >= nodes) throw badArgument(`coupling.to[${k}]`, `must be a node index in [0, ${nodes}), got ${i}`, i);
    if (!(w >= 0 && w < 1)) throw badArgument(`coupling.weight[${k}]`, `must be a fraction in [0, 1), got ${w}`, w);
    rowSum[i]! += w;
  }
  for (let i = 0; i < nodes; i++) {
    // A node cannot breathe more recirculated air than air; < 1 also keeps the cascade convergent.
    if (!(rowSum[i]! < 1)) {
      throw badArgument('coupling.weight', `the weights into node ${i} sum to ${rowSum[i]}, must be < 1`, rowSum[i]);
    }
  }
}
