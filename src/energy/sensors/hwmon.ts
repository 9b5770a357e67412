/**
 * hwmon chips: the kernel's hardware-monitoring class (Documentation/hwmon/sysfs-interface.rst).
 *
 *   /sys/class/hwmon/hwmon<N>/name             the driver's name: "coretemp", "k10temp", "amdgpu", ...
 *   temp<i>_input    temperature in millidegrees Celsius     temp<i>_label    what it measures
 *   power<i>_input   instantaneous power in microwatts       power<i>_label
 *   power<i>_average average power in microwatts
 *   energy<i>_input  cumulative energy in microjoules        energy<i>_label
 *
 * Some old drivers keep these files under hwmon<N>/device/ instead; both are read. A channel
 * whose file is present but unreadable (drivers answer EIO or ENODATA for a sensor that is not
 * wired) is an unreadable sensor, never 0. hwmon energy counters document no wrap range: treat
 * a decrease between two readings as a reset, not as negative energy.
 */
import { join } from 'node:path';
import type { EnergyCounterReading, PowerReading, SensorProblem, TemperatureReading } from './reading.js';
import { attributeExists, listEntries, readInteger, readLine, sysClassPath, tolerate } from './sysfs.js';

export interface HwmonChip {
  /** `hwmon0`. */
  sensor: string;
  /** The driver's name, from the `name` file. */
  name: string;
  path: string;
  temps: TemperatureReading[];
  powers: PowerReading[];
  energies: EnergyCounterReading[];
}

const CHIP = /^hwmon[0-9]+$/;
const CHANNEL = /^(temp|power|energy)([0-9]+)_(input|average)$/;

/** Reads every hwmon chip; `[]` on a machine without any. */
export async function listHwmonChips(root = '/', problems?: SensorProblem[]): Promise<HwmonChip[]> {
  const dir = sysClassPath(root, 'hwmon');
  const chips: HwmonChip[] = [];
  for (const id of await listEntries(dir, CHIP)) {
    const chip = await tolerate(problems, id, () => readHwmonChip(join(dir, id), id, problems));
    if (chip !== undefined) chips.push(chip);
  }
  return chips;
}

/**
 * Reads one chip. Without `problems`, the first unreadable channel throws; with it, that
 * channel is recorded there and left out, and the chip's other channels are still read.
 */
export async function readHwmonChip(
  chipPath: string,
  id: string,
  problems?: SensorProblem[],
): Promise<HwmonChip | undefined> {
  let path = chipPath;
  if (!(await attributeExists(join(path, 'name')))) {
    path = join(chipPath, 'device');
    if (!(await attributeExists(join(path, 'name')))) return undefined;
  }
  const name = (await readLine(join(path, 'name')))?.trim() ?? '';
  const chip: HwmonChip = { sensor: id, name, path, temps: [], powers: [], energies: [] };
  for (const file of await listEntries(path, CHANNEL)) {
    const match = CHANNEL.exec(file);
    if (match === null) continue;
    const [, kind, channel] = match;
    const sensor = `${id}/${file}`;
    await tolerate(problems, sensor, async () => {
      const value = await readInteger(join(path, file));
      if (value === undefined) return; // Vanished between listing and reading: absent.
      const label = (await readLine(join(path, `${kind}${channel}_label`)))?.trim();
      const base = label === undefined || label === '' ? { sensor, source: 'measured' as const } : { sensor, source: 'measured' as const, label };
      if (kind === 'temp') chip.temps.push({ ...base, tempC: Number(value) / 1000 });
      else if (kind === 'power') chip.powers.push({ ...base, powerW: Number(value) / 1e6 });
      else chip.energies.push({ ...base, counterUj: value });
    });
  }
  return chip;
}
