import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every test run writes its temporary folders (checkpoints, datasets, traces) under one fresh
 * folder, removed when the run ends, so a test that forgets to clean up cannot fill the machine's /tmp.
 * `os.tmpdir()` reads TMPDIR, and the test workers inherit it.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'flex-vitest-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
