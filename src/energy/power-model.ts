/**
 * The node power model, used wherever no meter can be read (and always labelled `estimated`):
 *
 *   P = P_idle + (P_max − P_idle) × utilisation,   P_max = P_idle + cores × P_active_per_core
 *
 * where `utilisation` is the fraction of the node's cores that are busy, in [0, 1]. That whole
 * servers draw power close to linearly in CPU utilisation, from a large idle floor, is the
 * finding of Fan, Weber and Barroso, "Power provisioning for a warehouse-sized computer"
 * (ISCA 2007), whose model this is.
 *
 * `activePowerPerCoreW` is the power one busy core draws above idle; it is what calibration
 * measures (RAPL or a wall meter, node idle versus one core spinning) and what a process that
 * holds one core for a slot is charged for. The defaults stand in until a node is calibrated:
 *
 * - 7 W per busy core: a server package's TDP divided by its cores is 4 to 7 W on current
 *   parts (AMD EPYC 7763: 280 W / 64 cores = 4.4 W; Intel Xeon Platinum 8380: 270 W / 40 =
 *   6.75 W). We take the high end so that an uncalibrated node errs towards charging slightly
 *   too much rather than giving energy away.
 * - idle at half of peak: Barroso and Hölzle, "The Case for Energy-Proportional Computing"
 *   (IEEE Computer, 2007), found servers idling at about 50% of their peak power. Newer
 *   servers in SPECpower_ssj2008 results idle lower (20 to 30%), so this also errs high.
 *   With idle = 50% of peak, P_idle = cores × P_active_per_core.
 */
import { assert } from '../assert.js';
import type { EnergyReading, PowerReading } from './sensors/reading.js';

export const ACTIVE_POWER_PER_CORE_W_DEFAULT = 7;
/** Idle power as a fraction of peak power (see above). */
export const IDLE_FRACTION_DEFAULT = 0.5;
/** No single node draws 100 kW; a larger figure is a unit mistake (mW, µW) in the config. */
export const NODE_POWER_W_MAX = 100_000;
export const CORES_MAX = 65_536;

export interface PowerModelParams {
  /** The node's draw with no work running. */
  idlePowerW: number;
  /** The power one busy core adds above idle. */
  activePowerPerCoreW: number;
  /** The cores whose utilisation the model is given. */
  cores: number;
}

export interface EstimatedPower extends PowerReading {
  source: 'estimated';
  /** The utilisation the figure is for, after clamping to [0, 1]. */
  utilisation: number;
}

export interface EstimatedEnergy extends EnergyReading {
  source: 'estimated';
  utilisation: number;
}

/** The first thing wrong with `params`, or `undefined`; config code calls this on user input. */
export function validatePowerModelParams(params: PowerModelParams): string | undefined {
  const { idlePowerW, activePowerPerCoreW, cores } = params;
  if (!Number.isInteger(cores) || cores < 1 || cores > CORES_MAX) return `cores must be an integer in [1, ${CORES_MAX}], got ${cores}`;
  if (!Number.isFinite(idlePowerW) || idlePowerW < 0) return `idlePowerW must be a finite number ≥ 0, got ${idlePowerW}`;
  if (!Number.isFinite(activePowerPerCoreW) || activePowerPerCoreW < 0) {
    return `activePowerPerCoreW must be a finite number ≥ 0, got ${activePowerPerCoreW}`;
  }
  const maxPowerW = idlePowerW + cores * activePowerPerCoreW;
  if (maxPowerW > NODE_POWER_W_MAX) return `the node's peak power ${maxPowerW} W is above ${NODE_POWER_W_MAX} W: check the units`;
  return undefined;
}

/** The default parameters for a node of `cores` cores (see the sources above). */
export function defaultPowerModelParams(
  cores: number,
  activePowerPerCoreW = ACTIVE_POWER_PER_CORE_W_DEFAULT,
  idleFraction = IDLE_FRACTION_DEFAULT,
): PowerModelParams {
  assert(idleFraction >= 0 && idleFraction < 1, `idle fraction is in [0, 1), got ${idleFraction}`);
  // idle = f × max and max = idle + active_total  ⇒  idle = active_total × f / (1 − f).
  const idlePowerW = (cores * activePowerPerCoreW * idleFraction) / (1 - idleFraction);
  return { idlePowerW, activePowerPerCoreW, cores };
}

/** Parameters from a measured idle and peak instead of a per-core figure. */
export function powerModelParamsFromPeak(idlePowerW: number, maxPowerW: number, cores: number): PowerModelParams {
  assert(maxPowerW >= idlePowerW, `peak power ${maxPowerW} W is at least idle power ${idlePowerW} W`);
  return { idlePowerW, activePowerPerCoreW: (maxPowerW - idlePowerW) / cores, cores };
}

/**
 * Rounds µJ up, because an estimate feeds charges and charges round up (a rounding never
 * creates tokens). A product that is an integer but for floating-point noise (100 W × 10 ms
 * computing as 1000000.0000000001 µJ) is not pushed up a whole µJ by that noise.
 */
function ceilUj(exactUj: number): number {
  const nearest = Math.round(exactUj);
  return Math.abs(exactUj - nearest) <= 1e-6 * Math.max(1, Math.abs(exactUj)) ? nearest : Math.ceil(exactUj);
}

export class NodePowerModel {
  readonly params: Readonly<PowerModelParams>;
  readonly maxPowerW: number;

  constructor(params: PowerModelParams) {
    const problem = validatePowerModelParams(params);
    assert(problem === undefined, `power model parameters are valid: ${problem}`);
    this.params = Object.freeze({ ...params });
    this.maxPowerW = params.idlePowerW + params.cores * params.activePowerPerCoreW;
  }

  /** A model with the documented defaults for `cores` cores. */
  static forCores(cores: number): NodePowerModel {
    return new NodePowerModel(defaultPowerModelParams(cores));
  }

  get idlePowerW(): number {
    return this.params.idlePowerW;
  }

  /** The node's power at `utilisation` (clamped to [0, 1]; NaN is a bug and asserts). */
  powerAt(utilisation: number): EstimatedPower {
    assert(!Number.isNaN(utilisation), 'utilisation is a number');
    const u = Math.min(1, Math.max(0, utilisation));
    const powerW = this.params.idlePowerW + (this.maxPowerW - this.params.idlePowerW) * u;
    return { sensor: 'model', source: 'estimated', label: 'node power model', powerW, utilisation: u };
  }

  /** The node's energy over `durationMs` at a constant `utilisation`, in integer µJ, rounded up. */
  energyOver(utilisation: number, durationMs: number): EstimatedEnergy {
    assert(Number.isFinite(durationMs) && durationMs >= 0, `duration is a finite number of ms ≥ 0, got ${durationMs}`);
    const { powerW, utilisation: u } = this.powerAt(utilisation);
    // W × ms = mJ, and 1 mJ = 1000 µJ.
    const energyUj = ceilUj(powerW * durationMs * 1e3);
    assert(Number.isSafeInteger(energyUj), `estimated energy ${energyUj} µJ is a safe integer`);
    return { sensor: 'model', source: 'estimated', label: 'node power model', energyUj, durationMs, utilisation: u };
  }

  /**
   * The energy that `coreBusyMs` of one core's work adds above idle (what a process holding a
   * core is charged for), in integer µJ, rounded up.
   */
  activeEnergyUj(coreBusyMs: number): EnergyReading & { source: 'estimated' } {
    assert(Number.isFinite(coreBusyMs) && coreBusyMs >= 0, `core time is a finite number of ms ≥ 0, got ${coreBusyMs}`);
    const energyUj = ceilUj(this.params.activePowerPerCoreW * coreBusyMs * 1e3);
    assert(Number.isSafeInteger(energyUj), `estimated energy ${energyUj} µJ is a safe integer`);
    return {
      sensor: 'model',
      source: 'estimated',
      label: 'one busy core above idle',
      energyUj,
      durationMs: coreBusyMs,
    };
  }
}
