/**
 * `maxwell config`: the kernel's rates and limits (src/kernel/config.ts), each with its unit,
 * and the entropy tax beside the physical floor it stands for (Landauer's bound at the node's
 * temperature: measured by a thermal sensor where the node has one, else an assumed 25 °C,
 * labelled as such).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_KERNEL_CONFIG, landauerJPerBit } from '../kernel/config.js';
import { probeSensors } from '../energy/sensors/index.js';
import { usage } from './args.js';

export const summary = 'show the kernel\'s rates (rent, entropy tax, power cap, quantum) and the physical floor beside the tax';

const USAGE = `usage: maxwell config [--json] [--root DIR]

Shows the kernel's configuration: slot quantum, power cap, base price, rent per second and per
MiB·second, the entropy tax per byte erased, and the grace fuel of a dying process. Beside the
tax: Landauer's bound (kT·ln 2 per bit) at the node's temperature, read from a thermal sensor
where there is one (measured), else 25 °C (assumed).

  --json        one JSON object
  --root DIR    read sensors from DIR/sys instead of /sys (a fixture tree)
  -h, --help    show this help`;

const ASSUMED_TEMP_C = 25;

export async function run(argv: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const c = DEFAULT_KERNEL_CONFIG;
  // The hottest thermal zone that reads: where erasure heat is dumped, the floor is highest.
  const inv = await probeSensors({ ...(values.root ? { root: values.root } : {}), nvidiaSmi: false });
  const temps = inv.thermal.map((z) => z.tempC).filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
  const tempC = temps.length > 0 ? Math.max(...temps) : ASSUMED_TEMP_C;
  const tempSource = temps.length > 0 ? 'measured' : 'assumed';
  const floorJPerBit = landauerJPerBit(tempC);
  const floorUjPerByte = floorJPerBit * 8 * 1e6;
  const ratio = c.erasureTaxUjPerByte / floorUjPerByte;
  if (values.json) {
    console.log(JSON.stringify({
      ...c,
      landauer: { temp_c: tempC, temp_source: tempSource, j_per_bit: floorJPerBit, uj_per_byte: floorUjPerByte, tax_over_floor: ratio },
    }, null, 2));
    return 0;
  }
  const rows: [string, string, string][] = [
    ['quantum', `${c.quantumMs} ms`, 'one slot: a worker for this long'],
    ['power cap', `${c.powerCapW} W`, 'the reserve price rises as the node nears it'],
    ['base price', `${c.basePriceTokensPerJ} tokens/J`, 'the reserve price of a quiet node'],
    ['base rent', `${c.baseRentUjPerS} µJ/s`, 'every live process, running or not'],
    ['memory rent', `${c.memoryRentUjPerMiBS} µJ/(MiB·s)`, 'DRAM draws ~0.37 mW per MiB'],
    ['entropy tax', `${c.erasureTaxUjPerByte} µJ/byte erased`, 'policy: about what zeroing a byte costs a server core'],
    ['  physical floor', `${floorUjPerByte.toExponential(2)} µJ/byte`, `Landauer, kT·ln 2 per bit at ${tempC.toFixed(1)} °C (${tempSource}); the tax is ${ratio.toExponential(1)}× it`],
    ['grace fuel', `${c.graceFuel.toLocaleString('en-US')}`, 'what a dying process\'s maxwell_apoptosis may use'],
    ['rent period', `${c.rentPeriodMs} ms`, 'rent is charged in arrears, one ledger entry per process per period'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const [k, v, why] of rows) console.log(`${k.padEnd(w0)}  ${v.padEnd(w1)}  ${why}`);
  return 0;
}
