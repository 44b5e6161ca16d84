/** Marker values and the scan that proves they never reached a file. */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A value no test output, file or log may contain except where a test asks for the value itself. */
export function marker(label: string): string {
  return `MARKER-${label}-${randomBytes(8).toString('hex')}`;
}

/** Files under `dirs` (relative to each dir) that contain `needle`, raw or base64-encoded as AWS APIs carry it. */
export function filesContaining(dirs: readonly string[], needle: string): string[] {
  const bytes = Buffer.from(needle);
  // Whole 3-byte groups encode the same wherever the value continues, so this prefix is in any base64 of it.
  const forms = [bytes, Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 3)).toString('base64'))];
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const content = readFileSync(path);
      if (forms.some((form) => content.includes(form))) hits.push(relative(dir, path));
    }
  }
  return hits;
}
