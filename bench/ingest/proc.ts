/**
 * What a server child costs, read from Linux's /proc: CPU seconds (utime + stime of every thread of
 * the process, so libuv's thread pool is counted) and resident memory (VmRSS, sampled; VmHWM is the
 * kernel's own high-water mark since the process started).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcessCpu {
  readonly user: number;
  readonly system: number;
}

/** CPU seconds (user, system) the process has used since it started, all its threads. */
export function processCpu(pid: number): ProcessCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clockTicks(), system: Number(fields[12]) / clockTicks() };
}

export interface CoreTimes {
  /** Seconds not idle and not waiting for I/O, interrupts included. */
  readonly busy: number;
  /** Seconds spent in hardware and software interrupts (network, block I/O completions). */
  readonly irq: number;
  /** Seconds the hypervisor ran something else on this virtual CPU. */
  readonly steal: number;
}

/** Per-CPU time counters of the whole machine (/proc/stat), seconds since boot. */
export function machineCpu(): CoreTimes[] {
  const out: CoreTimes[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = (m[2] as string).trim().split(/\s+/).map(Number);
    const t = clockTicks();
    out[Number(m[1])] = { busy: (user + nice + system + irq + softirq) / t, irq: (irq + softirq) / t, steal: steal / t };
  }
  return out;
}

export function coreDelta(after: readonly CoreTimes[], before: readonly CoreTimes[]): CoreTimes[] {
  return after.map((a, i) => {
    const b = before[i] ?? { busy: 0, irq: 0, steal: 0 };
    return { busy: a.busy - b.busy, irq: a.irq - b.irq, steal: a.steal - b.steal };
  });
}

/** Resident set size and its high-water mark, bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Samples a process's RSS every `intervalMs` and keeps the peak, overall and inside a window. */
export class RssSampler {
  peak = 0;
  windowPeak = 0;
  private inWindow = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    try {
      const rss = memory(this.pid).rss;
      this.peak = Math.max(this.peak, rss);
      if (this.inWindow) this.windowPeak = Math.max(this.windowPeak, rss);
    } catch {
      // the process has exited
    }
  }

  openWindow(): void {
    this.inWindow = true;
    this.sample();
  }

  closeWindow(): void {
    this.sample();
    this.inWindow = false;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Pins a process (every thread, `-a`) to CPUs (`1`, `0-1`) with taskset; false when that is not possible. */
export function pinProcess(pid: number, cpus: number | string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpus), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
