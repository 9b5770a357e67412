/** The real-sensor readers: RAPL, hwmon, thermal zones, NVIDIA GPUs, and discovery over them. */
export type {
  Source,
  Figure,
  PowerReading,
  TemperatureReading,
  EnergyReading,
  EnergyCounterReading,
  SensorProblem,
} from './reading.js';
export { readAttribute, readInteger, readLine, listEntries, sensorUnreadable, type SensorUnreadableDetail } from './sysfs.js';
export {
  listRaplZones,
  readRaplCounter,
  raplDeltaUj,
  raplInterval,
  RaplMeter,
  type RaplZone,
  type RaplCounterReading,
  type RaplSample,
  type RaplZoneEnergy,
  type RaplInterval,
  type RaplMeterInit,
} from './rapl.js';
export { listHwmonChips, readHwmonChip, type HwmonChip } from './hwmon.js';
export { listThermalZones, readThermalZone, type ThermalZoneReading } from './thermal.js';
export {
  NvidiaSmiReader,
  parseNvidiaSmiCsv,
  nvidiaSmiArgs,
  nvidiaSmiFields,
  defaultCommandRunner,
  NVIDIA_SMI_TIMEOUT_MS_DEFAULT,
  NVIDIA_SMI_OPTIONAL_FIELDS,
  type CommandRunner,
  type CommandResult,
  type GpuReading,
  type NvidiaSmiInit,
} from './nvidia-smi.js';
export { probeSensors, type ProbeOptions, type SensorInventory, type NvidiaSmiStatus } from './probe.js';
