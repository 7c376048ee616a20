// Shared by the experiment scripts: `--name value` command-line options.

/** The value after `--name`, else `fallback`; throws when neither is there (a required option). */
export function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}
