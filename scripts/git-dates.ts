/**
 * When each file last changed in git, for `list`: one `git log --name-only` walk over a folder instead of
 * one process per file. Newest commits come first, so a file's first appearance is its last change.
 */
import { spawnSync } from 'node:child_process';

/** Dates (YYYY-MM-DD, committer date) by path relative to `cwd` with "/" separators; empty outside git. */
export function lastChangeDates(cwd: string, folder: string): Map<string, string> {
  const dates = new Map<string, string>();
  // %x00 marks a commit line, which no path can start with; --relative keeps paths relative to cwd.
  const git = spawnSync('git', ['-c', 'core.quotePath=false', 'log', '--format=%x00%cs', '--name-only', '--relative', '--', folder], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (git.status !== 0) return dates; // not a repository, no commits yet, or no git installed
  let date = '';
  for (const line of git.stdout.split('\n')) {
    if (line.startsWith('\0')) date = line.slice(1);
    else if (line && !dates.has(line)) dates.set(line, date);
  }
  return dates;
}
