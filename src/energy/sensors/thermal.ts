/**
 * Thermal zones (Documentation/driver-api/thermal/sysfs-api.rst):
 *
 *   /sys/class/thermal/thermal_zone<N>/type   what it is: "x86_pkg_temp", "acpitz", ...
 *   /sys/class/thermal/thermal_zone<N>/temp   temperature in millidegrees Celsius
 *
 * Some zones answer a read of `temp` with an error (EINVAL, ENODATA, EAGAIN) while their
 * device is off; such a zone is unreadable, never 0 °C.
 */
import { join } from 'node:path';
import type { SensorProblem, TemperatureReading } from './reading.js';
import { listEntries, readInteger, readLine, sysClassPath, tolerate } from './sysfs.js';

export interface ThermalZoneReading extends TemperatureReading {
  source: 'measured';
  /** The zone's `type`. */
  type: string;
}

const ZONE = /^thermal_zone[0-9]+$/;

/** Reads every thermal zone's temperature; `[]` on a machine without any. */
export async function listThermalZones(root = '/', problems?: SensorProblem[]): Promise<ThermalZoneReading[]> {
  const dir = sysClassPath(root, 'thermal');
  const zones: ThermalZoneReading[] = [];
  for (const id of await listEntries(dir, ZONE)) {
    const zone = await tolerate(problems, id, () => readThermalZone(join(dir, id), id));
    if (zone !== undefined) zones.push(zone);
  }
  return zones;
}

/** One zone's temperature, or `undefined` when it has no `temp` file. */
export async function readThermalZone(path: string, id: string): Promise<ThermalZoneReading | undefined> {
  const milliC = await readInteger(join(path, 'temp'));
  if (milliC === undefined) return undefined;
  const type = (await readLine(join(path, 'type')))?.trim() ?? '';
  const zone: ThermalZoneReading = { sensor: id, source: 'measured', type, tempC: Number(milliC) / 1000 };
  if (type !== '') zone.label = type;
  return zone;
}
