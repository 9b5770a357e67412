/**
 * Feeding real temperatures into the thermal model.
 *
 * The model's node temperature stands for the part that throttles: the CPU package. So the feed
 * reads the CPU's own sensors and nothing else:
 *
 *   1. hwmon chips whose driver is a CPU temperature driver (coretemp on Intel, k10temp or
 *      zenpower on AMD, cpu_thermal on ARM boards): the hottest of their channels (the package
 *      reading, or Tctl/Tdie), since the hottest part is the one that throttles;
 *   2. failing that, thermal zones of a CPU type (x86_pkg_temp, cpu-thermal ...): the hottest.
 *
 * Board (acpitz), drive (nvme) and GPU sensors are left out: they are real temperatures, but not
 * of the thing the model's R and C describe, and feeding one in would teach the model a wrong
 * state. A node with no CPU sensor keeps its estimate, labelled `estimated`, never 0 °C.
 *
 * A sensor that is present but unreadable is recorded in `problems` (as discovery does) and the
 * others are still tried; a reading outside the model's accepted range is a broken sensor and is
 * recorded the same way rather than fed in.
 */
import { ErrorCode, MaxwellError } from '../errors.js';
import { listHwmonChips } from '../energy/sensors/hwmon.js';
import type { SensorProblem, Source, TemperatureReading } from '../energy/sensors/reading.js';
import { listThermalZones } from '../energy/sensors/thermal.js';
import { TEMP_C_MAX, TEMP_C_MIN, type ThermalModel } from './model.js';

/** hwmon drivers that report CPU temperatures. */
export const CPU_HWMON_DRIVERS: readonly string[] = ['coretemp', 'k10temp', 'zenpower', 'cpu_thermal'];
/** Thermal zone types that are CPU temperatures. */
export const CPU_THERMAL_ZONE_TYPES: readonly string[] = ['x86_pkg_temp', 'cpu-thermal', 'cpu_thermal', 'cpu0-thermal', 'soc_thermal'];

/** A node's temperature as shown to people: where it came from, and which sensor. */
export interface NodeTemperature {
  tempC: number;
  source: Source;
  /** The sensor (`hwmon0/temp1_input`, `thermal_zone0`), or `model` when estimated. */
  sensor: string;
  label?: string;
}

function hottest(readings: TemperatureReading[], problems: SensorProblem[] | undefined): TemperatureReading | undefined {
  let best: TemperatureReading | undefined;
  for (const reading of readings) {
    if (!(reading.tempC >= TEMP_C_MIN && reading.tempC <= TEMP_C_MAX)) {
      problems?.push({
        sensor: reading.sensor,
        code: ErrorCode.SENSOR_UNREADABLE,
        message: `${reading.sensor}: ${reading.tempC} °C is outside [${TEMP_C_MIN}, ${TEMP_C_MAX}] °C, a broken sensor`,
      });
      continue;
    }
    if (best === undefined || reading.tempC > best.tempC) best = reading;
  }
  return best;
}

/**
 * The node's CPU temperature from `<root>/sys`, measured, or `undefined` when it has no CPU
 * sensor that can be read. Unreadable sensors go to `problems` and are skipped.
 */
export async function readCpuTemperature(root = '/', problems: SensorProblem[] = []): Promise<TemperatureReading | undefined> {
  const chips = await listHwmonChips(root, problems);
  const fromHwmon = hottest(
    chips.filter((chip) => CPU_HWMON_DRIVERS.includes(chip.name)).flatMap((chip) => chip.temps),
    problems,
  );
  if (fromHwmon !== undefined) return fromHwmon;
  const zones = await listThermalZones(root, problems);
  return hottest(
    zones.filter((zone) => CPU_THERMAL_ZONE_TYPES.includes(zone.type)),
    problems,
  );
}

/**
 * Reads node `node`'s CPU temperature and, when there is one, makes it the model's
 * (`observe`). Returns the figure to show: `measured` with its sensor, or the model's own
 * `estimated` figure when nothing could be read.
 */
export async function feedMeasuredTemperature(
  model: ThermalModel,
  node: number,
  root = '/',
  problems: SensorProblem[] = [],
): Promise<NodeTemperature> {
  if (!Number.isInteger(node) || node < 0 || node >= model.nodes) {
    throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `node: must be a node index in [0, ${model.nodes}), got ${String(node)}`, { field: 'node', value: node });
  }
  const reading = await readCpuTemperature(root, problems);
  if (reading === undefined) return { tempC: model.tempC[node]!, source: 'estimated', sensor: 'model' };
  model.observe(node, reading.tempC);
  const shown: NodeTemperature = { tempC: reading.tempC, source: 'measured', sensor: reading.sensor };
  if (reading.label !== undefined) shown.label = reading.label;
  return shown;
}
