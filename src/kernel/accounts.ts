/**
 * The kernel's money flow for each process, as a pure core over the ledger: what a process
 * pays for its slices (energy × clearing price), its rent (per second, for existing and for
 * memory), its entropy (a bond posted when it grows its memory, a tax when it erases), and
 * what is recorded when it dies. The node loop (the next step of the kernel issue) calls it;
 * the ledger (src/ledger) records every payment as a signed entry.
 *
 * Rules:
 *  - Every payment goes through the ledger at once; a payment the wallet cannot cover is not
 *    made (the ledger returns insufficient_funds) and the process is due to die: `dueToDie`.
 *  - The erasure bond: growing memory by n bytes reserves tax(n) of the wallet's balance, which
 *    no other payment may spend (`availableUj` = balance − bonds of the wallet's processes).
 *    Growing is refused when the wallet cannot post the bond. Erasing (discard, exit, death)
 *    charges the tax from the bond, so a process can always pay to erase what it holds: its
 *    death never leaves memory unpaid for.
 *  - Rent accrues continuously and is charged by `accrueRent` (the loop calls it every tick) once
 *    a whole rent period (config.rentPeriodMs) has passed, for the time since the last charge,
 *    rounded up once per period: charging every 5 ms tick would round 0.05 µJ up to 1 µJ (a 20×
 *    overcharge of the base rent) and write 200 entries per process per second. The rest is
 *    charged at close.
 */
import { assert } from '../assert.js';
import { ErrorCode, MaxwellError } from '../errors.js';
import type { BasisName, DeathReasonName } from '../ledger/format.js';
import type { Outcome } from '../ledger/ledger.js';
import { erasureTaxUj, rentDueForUj, type KernelConfig } from './config.js';

/** The part of the ledger the accounts use (src/ledger/ledger.ts Ledger). */
export interface LedgerPort {
  balanceOf(wallet: Buffer): number | undefined;
  charge(c: { wallet: Buffer; pid: number; fuel: number; energyUj: number; priceUtPerJ: number; basis: BasisName }): Outcome;
  rent(r: { wallet: Buffer; pid: number; periodMs: number; memoryBytes: number; amountUj: number }): Outcome;
  erasureTax(t: { wallet: Buffer; pid: number; bytes: number; amountUj: number }): Outcome;
  death(d: { wallet: Buffer; pid: number; reason: DeathReasonName; amountUj: number }): Outcome;
}

export interface Account {
  pid: number;
  wallet: Buffer;
  walletHex: string;
  memoryBytes: number;
  /** The erasure bond posted for memoryBytes (µJ). */
  bondUj: number;
  lastRentMs: number;
  /** Memory held since the last rent charge, integrated (byte·ms) up to `memoryAtMs`. */
  memoryByteMs: number;
  memoryAtMs: number;
  /** Totals, µJ. */
  energyUj: number;
  chargedUj: number;
  rentUj: number;
  taxUj: number;
  /** The price of its last slot (µtokens/J); 0 before its first. */
  lastPriceUtPerJ: number;
  /** Why the process must die, once it must. */
  dueToDie: DeathReasonName | null;
  dead: boolean;
}

export class Accounts {
  private readonly config: KernelConfig;
  private readonly ledger: LedgerPort;
  private readonly accounts = new Map<number, Account>();
  /** Live accounts in the order their rent was last charged (accrueRent). */
  private rentQueue: Account[] = [];
  private rentHead = 0;
  /** Bonds held per wallet (hex), summed over its live processes. */
  private readonly bonds = new Map<string, number>();

  constructor(config: KernelConfig, ledger: LedgerPort) {
    this.config = config;
    this.ledger = ledger;
  }

  get(pid: number): Account | undefined {
    return this.accounts.get(pid);
  }

  /** The wallet's balance that no bond holds. */
  availableUj(wallet: Buffer, walletHex = wallet.toString('hex')): number {
    return (this.ledger.balanceOf(wallet) ?? 0) - (this.bonds.get(walletHex) ?? 0);
  }

  /** Opens the account of a new process, which pays from `wallet` (a known wallet). */
  open(pid: number, wallet: Buffer, nowMs: number): Account {
    if (this.accounts.has(pid)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `process ${pid} already has an account`);
    if (this.ledger.balanceOf(wallet) === undefined) throw new MaxwellError(ErrorCode.WALLET_UNKNOWN, `the wallet ${wallet.toString('hex')} has never been funded`);
    const a: Account = {
      pid, wallet, walletHex: wallet.toString('hex'), memoryBytes: 0, bondUj: 0, lastRentMs: nowMs, memoryByteMs: 0, memoryAtMs: nowMs,
      energyUj: 0, chargedUj: 0, rentUj: 0, taxUj: 0, lastPriceUtPerJ: 0, dueToDie: null, dead: false,
    };
    this.accounts.set(pid, a);
    this.rentQueue.push(a);
    return a;
  }

  /**
   * A slice ran: charges its energy at the round's clearing price. Returns false (and marks the
   * process due to die) if the wallet cannot pay.
   */
  chargeSlice(pid: number, fuel: number, energyUj: number, priceUtPerJ: number, basis: BasisName): boolean {
    const a = this.live(pid);
    a.energyUj += energyUj;
    a.lastPriceUtPerJ = priceUtPerJ;
    if (energyUj === 0 || priceUtPerJ === 0) return true;
    if (this.availableUj(a.wallet, a.walletHex) < Math.ceil((energyUj * priceUtPerJ) / 1e6)) return this.doom(a, 'cannot_pay_charge');
    const r = this.ledger.charge({ wallet: a.wallet, pid, fuel, energyUj, priceUtPerJ, basis });
    if (r.kind !== 'ok') return this.doom(a, 'cannot_pay_charge');
    a.chargedUj += r.amountUj;
    return true;
  }

  /** Charges every live process its rent since its last rent; returns the pids that could not pay. */
  accrueRent(nowMs: number): number[] {
    const broke: number[] = [];
    // The queue is in order of last charge, so the accounts due are at its head: a tick looks at
    // those, not at every account (at 1,000 processes and 200 ticks a second, the scan of every
    // account was a third of the kernel's time).
    while (this.rentHead < this.rentQueue.length) {
      const a = this.rentQueue[this.rentHead]!;
      if (a.dead || a.dueToDie !== null) {
        this.rentHead++;
        continue;
      }
      const periodMs = Math.floor(nowMs - a.lastRentMs);
      if (periodMs < this.config.rentPeriodMs) break;
      this.rentHead++;
      this.rentQueue.push(a);
      const { due, avgBytes } = this.rentFor(a, periodMs);
      if (due === 0) continue;
      if (this.availableUj(a.wallet, a.walletHex) < due) {
        this.doom(a, 'cannot_pay_rent');
        broke.push(a.pid);
        continue;
      }
      const r = this.ledger.rent({ wallet: a.wallet, pid: a.pid, periodMs, memoryBytes: avgBytes, amountUj: due });
      if (r.kind !== 'ok') {
        this.doom(a, 'cannot_pay_rent');
        broke.push(a.pid);
        continue;
      }
      a.rentUj += r.amountUj;
    }
    if (this.rentHead > 1024 && this.rentHead * 2 > this.rentQueue.length) {
      this.rentQueue = this.rentQueue.slice(this.rentHead);
      this.rentHead = 0;
    }
    return broke;
  }

  /**
   * The rent for the next `periodMs` since the last charge: the base rate for the time, and the
   * memory rate for the memory integrated over it. Closes the period (the next starts after it).
   */
  private rentFor(a: Account, periodMs: number): { due: number; avgBytes: number } {
    const endMs = a.lastRentMs + periodMs;
    this.integrate(a, endMs);
    const due = rentDueForUj(this.config, periodMs, a.memoryByteMs);
    const avgBytes = Math.ceil(a.memoryByteMs / periodMs);
    a.lastRentMs = endMs;
    a.memoryByteMs = 0;
    return { due, avgBytes };
  }

  /** Adds the memory held from its last change (or charge) to `toMs` to the period's integral. */
  private integrate(a: Account, toMs: number): void {
    if (toMs > a.memoryAtMs) {
      a.memoryByteMs += a.memoryBytes * (toMs - a.memoryAtMs);
      a.memoryAtMs = toMs;
    }
  }

  /**
   * The process asks to grow its memory by `bytes` (at `nowMs`, from when it pays rent for it):
   * posts the erasure bond, or refuses (false) if the wallet cannot.
   */
  grow(pid: number, bytes: number, nowMs = this.get(pid)?.memoryAtMs ?? 0): boolean {
    const a = this.live(pid);
    assert(Number.isSafeInteger(bytes) && bytes > 0, 'a grow is a positive whole number of bytes');
    const bond = erasureTaxUj(this.config, a.memoryBytes + bytes) - a.bondUj;
    if (this.availableUj(a.wallet, a.walletHex) < bond) return false;
    this.integrate(a, nowMs);
    a.memoryBytes += bytes;
    a.bondUj += bond;
    this.bonds.set(a.walletHex, (this.bonds.get(a.walletHex) ?? 0) + bond);
    return true;
  }

  /** Erases `bytes` of the process's memory (maxwell.discard): pays the tax from the bond. */
  erase(pid: number, bytes: number): void {
    const a = this.live(pid);
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > a.memoryBytes) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `process ${pid} cannot erase ${bytes} bytes: it holds ${a.memoryBytes}`);
    }
    this.payTax(a, bytes);
  }

  /**
   * The process erased `bytes` of memory it keeps (maxwell.discard: a Wasm memory cannot shrink,
   * so the bytes are zeroed and stay mapped and rented). It pays the tax from its balance, not
   * from the bond, which still stands for erasing that memory again at death. Returns false
   * (and marks the process due to die) when the wallet cannot pay.
   */
  discard(pid: number, bytes: number): boolean {
    const a = this.live(pid);
    assert(Number.isSafeInteger(bytes) && bytes > 0, 'a discard is a positive whole number of bytes');
    const tax = erasureTaxUj(this.config, bytes);
    if (tax === 0) return true;
    if (this.availableUj(a.wallet, a.walletHex) < tax) return this.doom(a, 'cannot_pay_charge');
    const r = this.ledger.erasureTax({ wallet: a.wallet, pid, bytes, amountUj: tax });
    if (r.kind !== 'ok') return this.doom(a, 'cannot_pay_charge');
    a.taxUj += r.amountUj;
    return true;
  }

  /** Forgets a dead process's account (the node keeps only so many). */
  forget(pid: number): void {
    const a = this.accounts.get(pid);
    if (a !== undefined && a.dead) this.accounts.delete(pid);
  }

  /** Energy recorded for a slice that is not charged (a death notice's grace: the node's gift). */
  recordEnergy(pid: number, energyUj: number): void {
    const a = this.accounts.get(pid);
    if (a !== undefined) a.energyUj += energyUj;
  }

  /**
   * The process died (or exited): erases all its memory, paying the tax from its bond, and
   * records its death with the tax it paid. Idempotent.
   */
  close(pid: number, reason: DeathReasonName, nowMs?: number): Account {
    const a = this.accounts.get(pid);
    if (a === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no account for process ${pid}`);
    if (a.dead) return a;
    // The rent since the last period, if the wallet can still pay it (a process dying of
    // poverty cannot; the node forgoes it).
    const periodMs = nowMs === undefined ? 0 : Math.floor(nowMs - a.lastRentMs);
    if (periodMs > 0) {
      const { due, avgBytes } = this.rentFor(a, periodMs);
      if (due > 0 && this.availableUj(a.wallet, a.walletHex) >= due) {
        const r = this.ledger.rent({ wallet: a.wallet, pid, periodMs, memoryBytes: avgBytes, amountUj: due });
        if (r.kind === 'ok') a.rentUj += r.amountUj;
      }
    }
    if (a.memoryBytes > 0) this.payTax(a, a.memoryBytes);
    a.dead = true;
    const r = this.ledger.death({ wallet: a.wallet, pid, reason: a.dueToDie ?? reason, amountUj: 0 });
    assert(r.kind === 'ok', 'a death entry moves no tokens');
    assert(a.bondUj === 0 && a.memoryBytes === 0, 'a dead process holds no memory and no bond');
    return a;
  }

  private payTax(a: Account, bytes: number): void {
    // The bond for the memory left after the erasure stays posted; the rest pays the tax.
    const keep = erasureTaxUj(this.config, a.memoryBytes - bytes);
    const tax = a.bondUj - keep;
    assert(tax >= 0, 'a bond covers the tax on the memory it was posted for');
    a.memoryBytes -= bytes;
    a.bondUj = keep;
    this.bonds.set(a.walletHex, (this.bonds.get(a.walletHex) ?? 0) - tax);
    if ((this.bonds.get(a.walletHex) ?? 0) === 0) this.bonds.delete(a.walletHex);
    if (tax === 0) return;
    const r = this.ledger.erasureTax({ wallet: a.wallet, pid: a.pid, bytes, amountUj: tax });
    // The bond was reserved from this wallet's balance, which nothing else could spend.
    assert(r.kind === 'ok', 'a posted bond always covers its tax');
    a.taxUj += r.amountUj;
  }

  /** Marks a live process due to die (the node found it cannot pay for a slot). */
  markDue(pid: number, reason: DeathReasonName): void {
    this.doom(this.live(pid), reason);
  }

  private live(pid: number): Account {
    const a = this.accounts.get(pid);
    if (a === undefined) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `no account for process ${pid}`);
    if (a.dead) throw new MaxwellError(ErrorCode.NO_SUCH_PROCESS, `process ${pid} is dead`);
    return a;
  }

  private doom(a: Account, reason: DeathReasonName): false {
    a.dueToDie ??= reason;
    return false;
  }
}
