import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The checked-out branch of the repository holding `cwd`, read from `.git/HEAD` (no `git` process: hooks must be quick). */
export function gitBranch(cwd: string | undefined): string | undefined {
  if (!cwd) return undefined;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    try {
      let gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        // a worktree or submodule: `.git` is a file naming the real git directory
        const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
        if (!m) return undefined;
        gitDir = resolve(dir, m[1].trim());
      }
      const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
      const ref = /^ref:\s*refs\/heads\/(.+)$/.exec(head);
      return ref ? ref[1] : undefined; // detached HEAD: no branch
    } catch {
      /* not here: look in the parent */
    }
    if (dirname(dir) === dir) return undefined;
  }
}
