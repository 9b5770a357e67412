#!/usr/bin/env node
// Regenerates the Groth16 verifier's test fixtures (test/fixtures/groth16/): compiles the two
// tiny circuits there with circom2, runs a throwaway powers of tau (2^6) and a Groth16 setup
// with snarkjs, and writes each circuit's verification key, proofs and public signals as JSON.
// The outputs are committed so that the tests need no setup at run time; rerun this only to
// change the circuits. Proofs are randomised (and the setup's entropy is fresh), so a rerun
// writes different, equally valid files. About 10 s.
//
//   node scripts/make-groth16-fixture.js
//
// Outputs, per circuit (dense4, square4), under test/fixtures/groth16/<circuit>/:
//   vk.json            verification key after one phase-2 contribution (δ ≠ γ)
//   proof.json         proof for input A;  public.json   its public signals
//   proof-b.json       (dense4) proof for input B;  public-b.json
//   vk-no-phase2.json  (dense4) the key straight out of `groth16 setup`, before any phase-2
//                      contribution: its δ equals γ (the G2 generator), which lets anyone move
//                      public-input terms into C and forge a proof for any input. The verifier
//                      must refuse such a key; the tests show snarkjs accepting a forgery with it.
// Intermediate files (r1cs, wasm, ptau, zkey) go to a temporary folder that is removed.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures/groth16');
const CIRCOM = join(ROOT, 'node_modules/.bin/circom2');
/** 2^6 = 64 constraints: both circuits have fewer than 40 (with snarkjs's one per public input). */
const POWER = 6;

const INPUTS = {
  dense4: [
    { x: [1, 2, 3, 4], w: [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [1, 1, 1, 1]], b: [5, 6, 7, 8] },
    { x: [4, 3, 2, 1], w: [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [1, 1, 1, 1]], b: [5, 6, 7, 8] },
  ],
  square4: [{ x: [1, 2, 3, 4], k: [10, 20, 30, 40] }],
};

async function writeJson(path, value) {
  await writeFile(path, JSON.stringify(value, null, 1) + '\n');
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'maxwell-g16-fixture-'));
  try {
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    const pot0 = join(work, 'pot0.ptau');
    const pot1 = join(work, 'pot1.ptau');
    const potFinal = join(work, 'pot-final.ptau');
    await snarkjs.powersOfTau.newAccumulator(curve, POWER, pot0);
    await snarkjs.powersOfTau.contribute(pot0, pot1, 'fixture', 'maxwell fixture entropy ' + Math.random());
    await snarkjs.powersOfTau.preparePhase2(pot1, potFinal);

    for (const [name, inputs] of Object.entries(INPUTS)) {
      execFileSync(process.execPath, [CIRCOM, join(FIXTURES, `${name}.circom`), '--r1cs', '--wasm', '-o', work], { stdio: 'ignore' });
      const r1cs = join(work, `${name}.r1cs`);
      const wasm = join(work, `${name}_js`, `${name}.wasm`);
      const zkey0 = join(work, `${name}-0.zkey`);
      const zkey1 = join(work, `${name}-1.zkey`);
      await snarkjs.zKey.newZKey(r1cs, potFinal, zkey0);
      await snarkjs.zKey.contribute(zkey0, zkey1, 'fixture', 'maxwell fixture entropy ' + Math.random());

      const out = join(FIXTURES, name);
      await mkdir(out, { recursive: true });
      const vk = await snarkjs.zKey.exportVerificationKey(zkey1);
      await writeJson(join(out, 'vk.json'), vk);
      const suffixes = ['', '-b'];
      for (let i = 0; i < inputs.length; i++) {
        const { proof, publicSignals } = await snarkjs.groth16.fullProve(inputs[i], wasm, zkey1);
        if (!(await snarkjs.groth16.verify(vk, publicSignals, proof))) throw new Error(`${name}: snarkjs rejects its own proof`);
        await writeJson(join(out, `proof${suffixes[i]}.json`), proof);
        await writeJson(join(out, `public${suffixes[i]}.json`), publicSignals);
      }
      if (name === 'dense4') {
        const vk0 = await snarkjs.zKey.exportVerificationKey(zkey0);
        await writeJson(join(out, 'vk-no-phase2.json'), vk0);
      }
      console.log(`${name}: ${vk.nPublic} public signals, ${inputs.length} proof(s) written to ${out}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    // snarkjs caches a threaded curve in a global; its workers keep the process alive.
    await globalThis.curve_bn128?.terminate();
  }
}

await main();
