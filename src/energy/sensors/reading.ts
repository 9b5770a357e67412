/**
 * The common shape of every figure the sensor readers and the power model produce.
 *
 * Every figure says where it came from: `measured` when a hardware or firmware meter reported
 * it (RAPL, hwmon, a thermal zone, the NVIDIA driver), `estimated` when Maxwell's own model
 * computed it. A sensor that cannot be read never reports 0: it is absent from the result, and
 * when its file exists but is unreadable or malformed the reader throws
 * `MaxwellError(E_SENSOR_UNREADABLE)` naming the file (or, for the tolerant readers used by
 * discovery, records a `SensorProblem` instead). Units are the last part of each field name.
 */
import type { ErrorCode } from '../../errors.js';

export type Source = 'measured' | 'estimated';

export interface Figure {
  /** A stable name of the sensor: `intel-rapl:0`, `hwmon1/temp2_input`, `thermal_zone0`, `nvidia-smi/gpu0`, `model`. */
  sensor: string;
  source: Source;
  /** What the hardware calls it, for people: `package-0`, `Package id 0`, `x86_pkg_temp`. */
  label?: string;
}

export interface PowerReading extends Figure {
  powerW: number;
}

export interface TemperatureReading extends Figure {
  tempC: number;
}

/** Energy spent over an interval, in integer microjoules. */
export interface EnergyReading extends Figure {
  energyUj: number;
  durationMs: number;
}

/**
 * A cumulative energy counter (RAPL `energy_uj`, hwmon `energy*_input`, NVML total energy).
 * It is a bigint because such counters are 64-bit and can pass 2^53 µJ on a long-running node;
 * only the difference of two readings means anything.
 */
export interface EnergyCounterReading extends Figure {
  counterUj: bigint;
}

/** A sensor that exists but could not be read; discovery lists these instead of throwing. */
export interface SensorProblem {
  sensor: string;
  file?: string;
  code: ErrorCode;
  message: string;
}
