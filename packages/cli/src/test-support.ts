import { vi } from 'vitest';

/** The io `runCli` writes to, collected into arrays (tests only). */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

/**
 * {@link captureIo}, plus what commands write straight to `process.stdout` / `process.stderr` (progress lines,
 * results), collected into the same arrays; call `restore()` when done (tests only).
 */
export function captureOutput() {
  const captured = captureIo();
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((t) => (captured.out.push(String(t)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((t) => (captured.err.push(String(t)), true));
  return { ...captured, restore: () => (spy.mockRestore(), errSpy.mockRestore()) };
}
