/**
 * A worker thread of the pool: one executor, driven by messages from the main thread.
 * It runs slices in windows of a few milliseconds and returns to its event loop between
 * windows, so that spawns and kills are heard within a window.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Executor, type Death } from './executor.js';
import { isMaxwellError } from '../errors.js';
import type { FinishedProcess, FromWorker, ProcessStats, ToWorker } from './protocol.js';
import type { Process, ProcessSnapshot } from './process.js';

const port = parentPort!;
const { index, sliceFuel, windowMs, statsEveryMs, interrupt, preempt, slotted } = workerData as {
  index: number; sliceFuel: number; windowMs: number; statsEveryMs: number; interrupt: Int32Array; preempt: Int32Array; slotted: boolean;
};
const executor = new Executor({ sliceFuel, slotted, preempt });
const spawnedAt = new Map<number, number>();
const runMs = new Map<number, number>();
let pumping = false;
let lastStats = 0;

const send = (m: FromWorker) => port.postMessage(m);

function stats(p: Process): ProcessStats {
  return { pid: p.pid, state: p.state, bid: p.bid, fuelUsed: p.fuelUsed, memoryPages: p.memoryPages, switches: p.switches };
}

function finished(d: Death): FinishedProcess {
  const p = d.process;
  const f: FinishedProcess = {
    ...stats(p),
    exit: d.exit,
    stdout: p.stdout.text(),
    stderr: p.stderr.text(),
    stdoutTruncated: p.stdout.truncated,
    stderrTruncated: p.stderr.truncated,
    wallMs: performance.now() - (spawnedAt.get(p.pid) ?? performance.now()),
    runMs: runMs.get(p.pid) ?? 0,
  };
  spawnedAt.delete(p.pid);
  runMs.delete(p.pid);
  return f;
}

function pump(): void {
  const t0 = performance.now();
  const before = new Map<number, number>();
  // Attribute the window's wall time to processes by the fuel each burnt in it.
  for (const p of executor.processes()) before.set(p.pid, p.fuelUsed);
  const deaths = executor.runFor(windowMs);
  const elapsed = performance.now() - t0;
  let burnt = 0;
  const burnts: Array<[number, number]> = [];
  const collect = (p: Process) => {
    const b = p.fuelUsed - (before.get(p.pid) ?? 0);
    burnt += b;
    burnts.push([p.pid, b]);
  };
  for (const p of executor.processes()) collect(p);
  for (const d of deaths) collect(d.process);
  if (burnt > 0) for (const [pid, b] of burnts) runMs.set(pid, (runMs.get(pid) ?? 0) + (elapsed * b) / burnt);
  sendSlotEnds();
  for (const d of deaths) send({ type: 'exit', process: finished(d) });
  if (performance.now() - lastStats >= statsEveryMs) {
    lastStats = performance.now();
    send({ type: 'stats', worker: index, processes: [...executor.processes()].map(stats) });
  }
  if (executor.runnable > 0) setImmediate(pump);
  else pumping = false;
}

/** Slotted: the grants used up, before any exit they ended with (so a death's last slot is charged first). */
function sendSlotEnds(): void {
  if (!slotted) return;
  const ends = executor.takeSlotEnds();
  if (ends.length > 0) send({ type: 'slots', worker: index, ends });
}

function wake(): void {
  if (!pumping && executor.runnable > 0) {
    pumping = true;
    setImmediate(pump);
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'spawn': {
      const t0 = performance.now();
      try {
        executor.spawn(msg.module, { ...msg.options, interrupt });
      } catch (err) {
        if (!isMaxwellError(err)) throw err;
        send({ type: 'spawn-failed', pid: msg.options.pid, code: err.code, message: err.message });
        return;
      }
      spawnedAt.set(msg.options.pid, t0);
      send({ type: 'spawned', pid: msg.options.pid, spawnUs: (performance.now() - t0) * 1000 });
      wake();
      return;
    }
    case 'kill': {
      for (let i = 0; i < interrupt.length; i++) Atomics.compareExchange(interrupt, i, msg.pid, 0);
      const death = (msg.graceFuel ?? 0) > 0 ? executor.notifyDeath(msg.pid, msg.exit, msg.graceFuel!, msg.graceView) : executor.kill(msg.pid, msg.exit);
      sendSlotEnds();
      if (death) send({ type: 'exit', process: finished(death) });
      wake(); // a death notice is a process to run
      return;
    }
    case 'grant': {
      // A grant for a process already dead (its exit is on its way) is dropped.
      if (executor.grant(msg.pid, msg.fuel, msg.view, msg.slot ?? 0)) wake();
      return;
    }
    case 'detach': {
      let snapshot: ProcessSnapshot | null = null;
      try {
        snapshot = executor.detach(msg.pid) ?? null;
      } catch (err) {
        // A state the snapshot cannot carry (a bug, or a case the instrumenter should have
        // pinned): the process stays here, where it still runs.
        console.error(`maxwell worker ${index}: process ${msg.pid} could not be detached: ${(err as Error).message}`);
      }
      const ageMs = performance.now() - (spawnedAt.get(msg.pid) ?? performance.now());
      const ran = runMs.get(msg.pid) ?? 0;
      if (snapshot !== null) {
        spawnedAt.delete(msg.pid);
        runMs.delete(msg.pid);
      }
      // The memory is handed over, not copied again.
      port.postMessage({ type: 'detached', pid: msg.pid, snapshot, ageMs, runMs: ran } satisfies FromWorker, snapshot ? [snapshot.memory] : []);
      return;
    }
    case 'adopt': {
      const pid = msg.snapshot.options.pid;
      try {
        executor.adopt(msg.module, msg.snapshot, interrupt);
      } catch (err) {
        if (!isMaxwellError(err)) throw err;
        send({ type: 'adopted', pid, ok: false, code: err.code, message: err.message });
        return;
      }
      spawnedAt.set(pid, performance.now() - msg.ageMs);
      runMs.set(pid, msg.runMs);
      send({ type: 'adopted', pid, ok: true });
      wake();
      return;
    }
    case 'stop':
      port.close();
      return;
  }
});

send({ type: 'ready', worker: index });
