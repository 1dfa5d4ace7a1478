import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), and the name. */
function stat(pid: number | string): { comm: string; rest: string[] } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = text.lastIndexOf(')');
  return { comm: text.slice(text.indexOf('(') + 1, close), rest: text.slice(close + 2).split(' ') };
}

/** A process's CPU time, every thread, user + system, ms, from its stat fields (utime is the 14th field, stime the 15th). */
const userAndSystemMs = (rest: string[]) => ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_S;

/** CPU time of a process, every thread, user + system, ms (from /proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  return userAndSystemMs(stat(pid).rest);
}

/**
 * CPU time, ms, of every process of this machine with the given command name (e.g. `postgres`: the
 * server and all its backends), per pid: processes that end in between are not counted.
 */
export function cpuMsByName(name: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm, rest } = stat(entry);
      if (comm === name) found.set(Number(entry), userAndSystemMs(rest));
    } catch {
      // the process ended while the list was read
    }
  }
  return found;
}

/** CPU time the processes took between two cpuMsByName readings (a process started in between counts whole). */
export function cpuMsSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** Busy CPU time of the whole machine, every core, ms: /proc/stat's user, nice, system, irq, softirq and steal. */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_S;
}
