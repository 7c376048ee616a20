/**
 * Micro-batching: items submitted one at a time by concurrent HTTP requests are gathered into batches and handed
 * to one `run(items)` call, so a model generates for all of them in one batched pass.
 *
 * A batch starts when `maxBatch` items are waiting, or `windowMs` after the first item arrived at an idle
 * batcher (or after the previous batch finished, so that requests that queued up while the model held the
 * event loop are read before the next batch is formed). At most `concurrency` batches run at once.
 */

/** Why a submitted item got no result. */
export type MicroBatcherErrorCode = 'queue_full' | 'closed' | 'cancelled' | 'run_failed';

/** The rejection of {@link MicroBatcher.submit}. */
export class MicroBatcherError extends Error {
  override readonly name = 'MicroBatcherError';
  constructor(
    /** Stable code. */
    readonly code: MicroBatcherErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions<I, O> {
  /** Runs one batch; must return one output per item, in order. A throw or a wrong count fails the whole batch. */
  readonly run: (items: I[], signal: AbortSignal) => Promise<O[]>;
  /** Most items per batch (≥ 1). */
  readonly maxBatch: number;
  /** How long a batch waits for company, in ms (≥ 0). */
  readonly windowMs: number;
  /** Most items waiting (not yet running); more are refused with `queue_full`. */
  readonly maxQueue: number;
  /** Batches running at once. Default 1 (a local model: batches would only compete for the same cores). */
  readonly concurrency?: number;
  /** Called with the size of every batch that starts (statistics, tests). */
  readonly onBatch?: (size: number) => void;
}

interface Entry<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: MicroBatcherError) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Counters of a {@link MicroBatcher}. */
export interface MicroBatcherStats {
  /** Items waiting for a batch. */
  readonly queued: number;
  /** Batches running now. */
  readonly running: number;
  /** Batches run so far. */
  readonly batches: number;
  /** Items that went through a batch so far. */
  readonly items: number;
  /** The largest batch so far. */
  readonly largestBatch: number;
}

/** Gathers concurrent submissions into batches for one `run` call. See the module comment. */
export class MicroBatcher<I, O> {
  private readonly queue: Entry<I, O>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private batches = 0;
  private items = 0;
  private largestBatch = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly abortController = new AbortController();
  private readonly concurrency: number;

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    if (!(options.windowMs >= 0)) throw new RangeError(`windowMs must be ≥ 0, got ${options.windowMs}`);
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 1) throw new RangeError(`maxQueue must be a positive integer, got ${options.maxQueue}`);
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  /** Current counters. */
  get stats(): MicroBatcherStats {
    return { queued: this.queue.length, running: this.running, batches: this.batches, items: this.items, largestBatch: this.largestBatch };
  }

  /**
   * Submits one item; resolves with its output once its batch has run. Rejects with a {@link MicroBatcherError}:
   * `queue_full`, `closed` (submitted after {@link close}), `cancelled` (the signal aborted while it waited;
   * once its batch runs, it runs to the end) or `run_failed` (its batch threw or returned the wrong count).
   */
  submit(item: I, signal?: AbortSignal): Promise<O> {
    if (this.closing) return Promise.reject(new MicroBatcherError('closed', 'the server is shutting down'));
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new MicroBatcherError('queue_full', `${this.queue.length} requests are already waiting (maxQueue ${this.options.maxQueue})`));
    }
    if (signal?.aborted) return Promise.reject(new MicroBatcherError('cancelled', 'the request was cancelled before it was queued'));
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = {
        item,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(entry);
          if (index < 0) return; // already running: it finishes
          this.queue.splice(index, 1);
          reject(new MicroBatcherError('cancelled', 'the request was cancelled while it waited for a batch'));
          this.notifyIdle();
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
      this.schedule();
    });
  }

  /**
   * Stops accepting items, runs everything already queued at once (no more waiting for the window), and
   * resolves when no batch is running. Idempotent.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.schedule();
    await this.idle();
  }

  /** Aborts the signal given to running batches (a forced shutdown); queued items are rejected as `closed`. */
  abort(): void {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.queue.splice(0)) {
      entry.signal?.removeEventListener('abort', entry.onAbort);
      entry.reject(new MicroBatcherError('closed', 'the server was stopped before this request ran'));
    }
    this.abortController.abort();
    this.notifyIdle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.queue.length !== 0 || this.running !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.running >= this.concurrency) return;
    if (this.queue.length >= this.options.maxBatch || this.closing) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.startBatch();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.startBatch();
    }, this.options.windowMs);
  }

  private startBatch(): void {
    if (this.queue.length === 0 || this.running >= this.concurrency) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    for (const entry of batch) entry.signal?.removeEventListener('abort', entry.onAbort);
    this.running++;
    this.batches++;
    this.items += batch.length;
    this.largestBatch = Math.max(this.largestBatch, batch.length);
    this.options.onBatch?.(batch.length);
    void this.runBatch(batch);
    // Another batch may start at once when there is room (concurrency > 1, or a full queue behind this batch).
    if (this.queue.length >= this.options.maxBatch || this.closing) this.schedule();
  }

  private async runBatch(batch: Entry<I, O>[]): Promise<void> {
    try {
      const outputs = await this.options.run(
        batch.map((entry) => entry.item),
        this.abortController.signal,
      );
      if (!Array.isArray(outputs) || outputs.length !== batch.length) {
        const error = new MicroBatcherError('run_failed', `the judge returned ${Array.isArray(outputs) ? outputs.length : 'no'} results for ${batch.length} requests`);
        for (const entry of batch) entry.reject(error);
      } else {
        batch.forEach((entry, index) => entry.resolve(outputs[index] as O));
      }
    } catch (error) {
      const failure = new MicroBatcherError('run_failed', error instanceof Error ? error.message : String(error), { cause: error });
      for (const entry of batch) entry.reject(failure);
    } finally {
      this.running--;
      this.schedule();
      this.notifyIdle();
    }
  }
}
