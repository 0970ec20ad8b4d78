// CPU affinity for the benchmark's "separate cores" block: on a 2-core machine
// the client and the server compete for CPU, so a side that costs more CPU per
// byte also slows its peer down. Pinning the client to one core and the server
// (with the programs it starts) to the other shows each side's own speed.
// Linux only, through util-linux's `taskset`; elsewhere the block is skipped.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** Why pinning is unavailable here, or null when it works. */
export function pinningUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (cpus().length < 2) return 'fewer than 2 CPUs';
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return 'taskset (util-linux) is not installed';
  }
  return null;
}

/** Sets the CPU list (e.g. "0", "1", "0-1") of every thread of `pid`; children started later inherit it. */
export function pin(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

/** The CPU list `pid` may run on now, to restore it afterwards. */
export function affinityOf(pid: number): string {
  const out = execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
  const m = /:\s*(\S+)\s*$/.exec(out.trim());
  if (!m) throw new Error(`cannot read the CPU affinity of ${pid}: ${out.trim()}`);
  return m[1]!;
}
