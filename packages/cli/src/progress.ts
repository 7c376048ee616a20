import { SingleBar, Presets } from 'cli-progress';

/** A progress reporter for long work: a bar on a terminal, sparse plain lines otherwise (CI, pipes, files). */
export interface Progress {
  /** Set the absolute amount done, with optional named values shown beside the bar (loss, accuracy…). */
  update(done: number, values?: Record<string, number | string>): void;
  /** Finish and print a final line. */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is being done ("sft", "synth train"). */
  readonly label: string;
  /** Total units of work. */
  readonly total: number;
  /** Unit name, e.g. "pairs" or "steps". Default "items". */
  readonly unit?: string;
  /** Where plain lines go when not on a terminal. Default `process.stderr`. */
  readonly stream?: NodeJS.WriteStream;
  /** Silence everything (tests, `--quiet`). Default false. */
  readonly quiet?: boolean;
}

function formatValues(values: Record<string, number | string> | undefined): string {
  if (!values) return '';
  return Object.entries(values)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`)
    .join('  ');
}

/** Create a progress reporter; a bar when the stream is a TTY, else at most ~20 plain lines per task. */
export function createProgress(options: ProgressOptions): Progress {
  const { label, total, unit = 'items', stream = process.stderr, quiet = false } = options;
  if (quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {value}/{total} ${unit}  {eta_formatted} left  {info}`, hideCursor: true, stream, etaBuffer: 50 },
      Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update(done, values) {
        bar.update(done, { info: formatValues(values) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastDecile = -1;
  let last = 0;
  let lastValues: Record<string, number | string> | undefined;
  return {
    update(done, values) {
      last = done;
      lastValues = values;
      const decile = total > 0 ? Math.floor((done / total) * 20) : 20;
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${label}: ${done}/${total} ${unit} ${formatValues(values)}\n`);
      }
    },
    stop() {
      if (lastDecile < 20) stream.write(`${label}: ${last}/${total} ${unit} ${formatValues(lastValues)}\n`);
    },
  };
}
