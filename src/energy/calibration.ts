/**
 * Fuel → joules: the calibration constant and where it is stored.
 *
 * The instrumented guest counts fuel (src/energy/cost-table.ts). The node turns fuel into
 * joules with one constant, `jPerFuel`, measured by `maxwell calibrate` on this machine:
 *
 *   fuelPerCpuSecond = fuel burnt by CPU-bound guests ÷ the CPU time they took
 *   jPerFuel         = P_active ÷ fuelPerCpuSecond
 *
 * where P_active is the power one busy core adds above idle (src/energy/power-model.ts). Then
 * the joules charged for a CPU-bound process equal P_active × its CPU time, which is what the
 * node's power model says that process cost. Until the node is calibrated it uses the cost
 * table's nominal figure and says so. Either way the figures are **estimated** (a model, not a
 * meter); only RAPL, hwmon or NVML readings are measured.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { NOMINAL_PJ_PER_FUEL } from './cost-table.js';
import { ACTIVE_POWER_PER_CORE_W_DEFAULT } from './power-model.js';
import { ErrorCode, MaxwellError } from '../errors.js';

export const CALIBRATION_FILE = 'calibration.json';
export const DEFAULT_STATE_DIR = '.maxwell';

export interface MachineInfo {
  node: string;
  cpu: string;
  cores: number;
}

export interface Calibration {
  version: 1;
  /** Joules per fuel unit. */
  jPerFuel: number;
  /** Fuel per CPU-second measured on the calibration kernels (absent when nominal). */
  fuelPerCpuSecond: number | null;
  /** The per-core active power the constant was derived from, in W. */
  pActiveW: number;
  /** 'calibrated': measured here by `maxwell calibrate`; 'nominal': the cost table's guess. */
  basis: 'calibrated' | 'nominal';
  measuredAt: string | null;
  machine: MachineInfo | null;
  /** Per-kernel results of the calibration run. */
  kernels?: Array<{ name: string; fuel: number; cpuS: number; fuelPerCpuSecond: number }>;
  /** The check: model joules vs P_active × CPU time, on fresh runs of the workloads. */
  check?: { name: string; modelJ: number; expectedJ: number; errorPct: number };
  /** The same check per workload: how far each instruction mix is from the constant. */
  perWorkloadCheck?: Array<{ name: string; modelJ: number; expectedJ: number; errorPct: number }>;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { node: process.version, cpu: list[0]?.model ?? 'unknown', cores: list.length };
}

export function nominalCalibration(pActiveW = ACTIVE_POWER_PER_CORE_W_DEFAULT): Calibration {
  return {
    version: 1,
    jPerFuel: NOMINAL_PJ_PER_FUEL * 1e-12,
    fuelPerCpuSecond: null,
    pActiveW,
    basis: 'nominal',
    measuredAt: null,
    machine: null,
  };
}

function valid(c: unknown): c is Calibration {
  const x = c as Calibration;
  return typeof x === 'object' && x !== null && x.version === 1 && Number.isFinite(x.jPerFuel) && x.jPerFuel > 0 &&
    Number.isFinite(x.pActiveW) && x.pActiveW > 0 && (x.basis === 'calibrated' || x.basis === 'nominal');
}

/** The stored calibration, or the nominal one when none is stored. A corrupt file is an error. */
export async function loadCalibration(stateDir = DEFAULT_STATE_DIR): Promise<Calibration> {
  const path = join(stateDir, CALIBRATION_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return nominalCalibration();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!valid(parsed)) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `${path} is not a valid calibration; run \`maxwell calibrate\` again or delete it`, { path });
  }
  return parsed;
}

/** Writes atomically (temp file + rename), so a crash never leaves half a calibration. */
export async function saveCalibration(c: Calibration, stateDir = DEFAULT_STATE_DIR): Promise<string> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, CALIBRATION_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(c, null, 2)}\n`);
  await rename(tmp, path);
  return path;
}

export interface EnergyFigure {
  energyJ: number;
  source: 'estimated';
  basis: Calibration['basis'];
}

export function fuelToJoules(fuel: number, c: Calibration): EnergyFigure {
  return { energyJ: fuel * c.jPerFuel, source: 'estimated', basis: c.basis };
}

export function joulesToFuel(energyJ: number, c: Calibration): number {
  return Math.floor(energyJ / c.jPerFuel);
}
