/** Shutting a judge server down on SIGINT / SIGTERM. */

/** What {@link closeOnSignals} needs of the server. */
export interface Closable {
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** An event source of signals: `process`, or a stand-in in tests. */
export interface SignalSource {
  once(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

/** Options of {@link closeOnSignals}. */
export interface CloseOnSignalsOptions {
  /** Signals that start a graceful shutdown. Default `['SIGINT', 'SIGTERM']`. */
  readonly signals?: readonly string[];
  /** Where signals come from. Default `process`. */
  readonly source?: SignalSource;
  /** Called with the signal's name when a shutdown starts (`graceful`) and when a second signal forces it (`forced`). */
  readonly onSignal?: (signal: string, phase: 'graceful' | 'forced') => void;
}

/**
 * On the first of `signals`, closes the server gracefully (finishing queued and running batches); a second
 * signal forces it (cuts connections at once). Returns a function that removes the listeners.
 */
export function closeOnSignals(server: Closable, options: CloseOnSignalsOptions = {}): () => void {
  const { signals = ['SIGINT', 'SIGTERM'], source = process, onSignal } = options;
  let started = false;
  const listeners = new Map<string, () => void>();
  const remove = () => {
    for (const [signal, listener] of listeners) source.removeListener(signal, listener);
    listeners.clear();
  };
  const listen = () => {
    for (const signal of signals) {
      const listener = () => {
        remove();
        if (!started) {
          started = true;
          onSignal?.(signal, 'graceful');
          // Listen again so that a second signal forces the shutdown instead of killing the process.
          listen();
          void server.close().finally(remove);
        } else {
          onSignal?.(signal, 'forced');
          void server.close({ timeoutMs: 0 });
        }
      };
      listeners.set(signal, listener);
      source.once(signal, listener);
    }
  };
  listen();
  return remove;
}
