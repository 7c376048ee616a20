import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every test run writes its temporary folders (checkpoints, datasets, traces) under one fresh
 * folder, removed when the run ends, so a test that forgets to clean up cannot fill the machine's /tmp.
 * `os.tmpdir()` reads TMPDIR, and the test workers inherit it. Every project of a run calls this setup: the first
 * makes the folder, the others share it (nesting them made paths too long for Chromium's socket).
 */
export default function setup(): () => void {
  if (process.env.FLEX_VITEST_TMP !== undefined) return () => {};
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'flex-vitest-'));
  process.env.FLEX_VITEST_TMP = root;
  process.env.TMPDIR = root;
  return () => {
    delete process.env.FLEX_VITEST_TMP;
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
