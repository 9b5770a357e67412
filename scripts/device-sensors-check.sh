#!/usr/bin/env bash
# Checks Maxwell's sensor readers once on a real Linux node with an NVIDIA GPU, in under 60 s.
#
#   npm ci && npx tsc -p tsconfig.json      # only dist/ and node are needed at run time
#   OUT=/tmp/out scripts/device-sensors-check.sh
#
# It writes "$OUT/sensors.json" (OUT defaults to ./out) holding:
# - the output of `maxwell sensors --json` and of `maxwell sensors`, as a user would run them;
# - what the machine exposes: /sys/class/{powercap,hwmon,thermal}, nvidia-smi's driver and
#   which energy and power fields its --query-gpu accepts;
# - about 20 GPU power readings taken through our NvidiaSmiReader over about 4 s, while
#   nvidia-smi's own loop (-lms 200) runs beside it for comparison, with a 2 s matrix-multiply
#   load in the middle (when python3 has torch; LOAD=0 turns it off) so that the readings move;
# - a comparison: our readings (power.draw and power.draw.instant) against the nearest raw
#   ones, the integral of each over the window, and, where the driver has an energy counter,
#   the counter's joules.
# It also tries RaplMeter over the same window (VMs and containers usually have no RAPL).
#
# Environment: OUT (output folder), NODE (the node binary, default `node`), LOAD (0 = no load).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-./out}"
NODE="${NODE:-node}"
mkdir -p "$OUT"
if ! command -v "$NODE" >/dev/null 2>&1; then
  echo "device-sensors-check: no node binary ('$NODE'); set NODE=/path/to/node" >&2
  printf '{"error":"node not found"}\n' >"$OUT/sensors.json"
  exit 69
fi
if [ ! -f dist/src/energy/sensors/index.js ] || [ ! -f dist/src/cli/main.js ]; then
  echo "device-sensors-check: dist/ is not built; run npx tsc -p tsconfig.json first" >&2
  printf '{"error":"dist not built"}\n' >"$OUT/sensors.json"
  exit 66
fi
export OUT LOAD="${LOAD:-1}"
# The whole check is bounded: every child below has its own timeout, and this one caps the rest.
timeout -k 2 55 "$NODE" --input-type=module - <<'EOF'
import { execFile, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { hostname, release, availableParallelism } from 'node:os';
import { resolve, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const out = process.env.OUT;
const sensors = await import(pathToFileURL(resolve('dist/src/energy/sensors/index.js')).href);
const SAMPLES = 20;
const PERIOD_MS = 200;

function run(file, args, timeoutMs) {
  return new Promise((done) => {
    const started = Date.now();
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? (err.code ?? err.signal ?? 'error') : 0, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
    });
  });
}
async function list(dir) {
  try { return (await readdir(dir)).sort(); } catch (err) { return `absent (${err.code})`; }
}
const stats = (xs) => xs.length === 0 ? undefined : {
  n: xs.length,
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  min: Math.min(...xs),
  max: Math.max(...xs),
};
const bigintSafe = (_k, v) => (typeof v === 'bigint' ? v.toString() : v);

const summary = {
  startedAt: new Date().toISOString(),
  host: { hostname: hostname(), kernel: release(), cpus: availableParallelism(), node: process.version },
};
const t0 = Date.now();

// Start the load early: importing torch and making a CUDA context takes seconds.
let load;
const hasSmi = (await run('nvidia-smi', ['-L'], 10000));
summary.nvidiaSmiList = hasSmi.code === 0 ? hasSmi.stdout.trim().split('\n') : `unavailable (${hasSmi.code}: ${hasSmi.stderr.trim().slice(0, 200)})`;
if (hasSmi.code === 0 && process.env.LOAD !== '0') {
  const code = [
    'import sys, time',
    'import torch',
    "x = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16)",
    'torch.cuda.synchronize()',
    "print('READY', flush=True)",
    'sys.stdin.readline()',
    't = time.time()',
    'n = 0',
    'while time.time() - t < 2.0:',
    '    y = x @ x; n += 1',
    '    if n % 50 == 0: torch.cuda.synchronize()',
    'torch.cuda.synchronize()',
    "print('DONE', n, flush=True)",
  ].join('\n');
  const child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const ready = new Promise((done) => {
    child.stdout.on('data', (d) => { text += d; if (text.includes('READY')) done(true); });
    child.on('error', () => done(false));
    child.on('exit', () => done(false));
    setTimeout(() => done(false), 25000).unref();
  });
  const exited = new Promise((done) => child.on('close', done));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  load = { child, ready, exited, output: () => text, stderr: () => stderr.slice(-500) };
}

// What the machine exposes, and the CLI as a user runs it.
let help = { stdout: '' };
summary.sys = {
  powercap: await list('/sys/class/powercap'),
  hwmon: await list('/sys/class/hwmon'),
  thermal: await list('/sys/class/thermal'),
};
if (hasSmi.code === 0) {
  help = await run('nvidia-smi', ['--help-query-gpu'], 10000);
  summary.nvidiaSmiFields = help.stdout.split('\n').filter((l) => /^"(power|total_energy|enforced\.power|temperature\.gpu"|utilization\.gpu")/.test(l.trim()));
  const drv = await run('nvidia-smi', ['--query-gpu=driver_version,persistence_mode', '--format=csv,noheader'], 10000);
  summary.driver = drv.stdout.trim();
  const energyProbe = await run('nvidia-smi', ['--query-gpu=total_energy_consumption', '--format=csv,noheader,nounits'], 10000);
  summary.energyFieldProbe = { code: energyProbe.code, out: (energyProbe.stdout + energyProbe.stderr).trim().slice(0, 300) };
}
const cliJson = await run(process.execPath, ['bin/maxwell.js', 'sensors', '--json'], 20000);
try { summary.cli = { code: cliJson.code, ms: cliJson.ms, report: JSON.parse(cliJson.stdout) }; }
catch { summary.cli = { code: cliJson.code, ms: cliJson.ms, stdout: cliJson.stdout.slice(0, 4000), stderr: cliJson.stderr.slice(0, 2000) }; }
const cliText = await run(process.execPath, ['bin/maxwell.js', 'sensors', '--sample-ms', '500'], 20000);
summary.cliText = { code: cliText.code, stdout: cliText.stdout.split('\n'), stderr: cliText.stderr.slice(0, 2000) };

// RAPL over the sampling window, if this machine has it.
let rapl;
try {
  const meter = await sensors.RaplMeter.open();
  rapl = meter ? { meter, first: await meter.sample() } : { absent: true };
} catch (err) {
  rapl = { error: `${err.code ?? ''} ${err.message}` };
}

if (hasSmi.code === 0) {
  if (load) summary.loadReady = await load.ready;
  const raw = [];
  const rawInstant = help.stdout.includes('"power.draw.instant"');
  const rawFields = `timestamp,index,power.draw${rawInstant ? ',power.draw.instant' : ''}`;
  summary.rawQuery = rawFields;
  const rawChild = spawn('nvidia-smi', [`--query-gpu=${rawFields}`, '--format=csv,noheader,nounits', '-lms', String(PERIOD_MS)]);
  let buf = '';
  rawChild.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim(); buf = buf.slice(i + 1);
      if (line) raw.push({ atMs: Date.now() - t0, line });
    }
  });
  rawChild.on('error', () => {});
  const reader = new sensors.NvidiaSmiReader({ timeoutMs: 2000 });
  const ours = [];
  const errors = [];
  const start = Date.now();
  for (let i = 0; i < SAMPLES; i++) {
    if (i === 5 && load?.child.stdin.writable) load.child.stdin.write('go\n');
    const before = Date.now();
    try {
      const gpus = await reader.read();
      ours.push({ atMs: Math.round((before + Date.now()) / 2) - t0, readMs: Date.now() - before, gpus });
    } catch (err) {
      errors.push(`${err.code ?? ''} ${err.message}`);
    }
    const next = start + (i + 1) * PERIOD_MS;
    if (next > Date.now()) await sleep(next - Date.now());
  }
  rawChild.kill('SIGKILL');
  if (load) {
    await Promise.race([load.exited, sleep(8000)]);
    load.child.kill('SIGKILL');
    summary.load = { output: load.output().trim(), stderr: load.stderr() };
  }

  const rawParsed = raw.map(({ atMs, line }) => {
    const [timestamp, index, power, instant] = line.split(',').map((s) => s.trim());
    return { atMs, timestamp, index: Number(index), powerW: Number(power), powerInstantW: instant === undefined ? undefined : Number(instant), text: line };
  });
  const perGpu = {};
  for (const sample of ours) for (const gpu of sample.gpus ?? []) {
    (perGpu[gpu.index] ??= []).push({ atMs: sample.atMs, powerW: gpu.powerW, powerInstantW: gpu.powerInstantW, counterUj: gpu.counterUj, tempC: gpu.tempC, utilisationPct: gpu.utilisationPct });
  }
  const comparison = {};
  const nearestDiffs = (series, rawSeries, key) => {
    const diffs = [];
    for (const s of series) {
      const candidates = rawSeries.filter((r) => Number.isFinite(r[key]));
      if (s[key] === undefined || candidates.length === 0) continue;
      const nearest = candidates.reduce((a, b) => (Math.abs(b.atMs - s.atMs) < Math.abs(a.atMs - s.atMs) ? b : a));
      diffs.push(Math.abs(nearest[key] - s[key]));
    }
    return stats(diffs);
  };
  const integralJ = (series, key) => {
    const xs = series.filter((s) => s[key] !== undefined);
    let joules = 0;
    for (let i = 1; i < xs.length; i++) joules += ((xs[i][key] + xs[i - 1][key]) / 2) * ((xs[i].atMs - xs[i - 1].atMs) / 1000);
    return xs.length >= 2 ? joules : undefined;
  };
  for (const [index, series] of Object.entries(perGpu)) {
    const rawSeries = rawParsed.filter((r) => r.index === Number(index));
    const counters = series.filter((s) => s.counterUj !== undefined);
    const counterJ = counters.length >= 2
      ? Number(BigInt(counters[counters.length - 1].counterUj) - BigInt(counters[0].counterUj)) / 1e6
      : undefined;
    const withPower = series.filter((s) => s.powerW !== undefined);
    comparison[index] = {
      ours: stats(withPower.map((s) => s.powerW)),
      oursInstant: stats(series.filter((s) => s.powerInstantW !== undefined).map((s) => s.powerInstantW)),
      raw: stats(rawSeries.filter((r) => Number.isFinite(r.powerW)).map((r) => r.powerW)),
      absDiffToNearestRawW: nearestDiffs(series, rawSeries, 'powerW'),
      absDiffToNearestRawInstantW: nearestDiffs(series, rawSeries, 'powerInstantW'),
      powerIntegralJ: integralJ(series, 'powerW'),
      instantPowerIntegralJ: integralJ(series, 'powerInstantW'),
      energyCounterJ: counterJ,
      windowMs: withPower.length ? withPower[withPower.length - 1].atMs - withPower[0].atMs : 0,
    };
  }
  summary.gpu = {
    energyFieldSupported: reader.energyFieldSupported,
    refusedFields: reader.refusedFields,
    readMs: stats(ours.map((s) => s.readMs)),
    errors,
    comparison,
    ours: perGpu,
    raw: rawParsed.map((r) => r.text),
  };
}

if (rapl?.meter) {
  try { summary.rapl = rapl.meter.interval(rapl.first, await rapl.meter.sample()); }
  catch (err) { summary.rapl = { error: `${err.code ?? ''} ${err.message}` }; }
} else {
  summary.rapl = rapl;
}
summary.elapsedMs = Date.now() - t0;
await writeFile(join(out, 'sensors.json'), JSON.stringify(summary, bigintSafe, 2) + '\n');
console.log(`device-sensors-check: wrote ${join(out, 'sensors.json')} in ${summary.elapsedMs} ms`);
process.exit(0);
EOF
