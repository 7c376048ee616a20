import type { TrainerCallbacks } from '@flex/model';
import { createProgress, type Progress } from '../progress';

/**
 * Trainer callbacks that drive a progress bar (steps, with the last logged loss and accuracy beside it) and
 * forward warnings to the log.
 */
export function progressCallbacks(options: { label: string; total: number; quiet: boolean; log: (line: string) => void }): TrainerCallbacks {
  let progress: Progress | undefined;
  let last: Record<string, number> = {};
  const bar = () => (progress ??= createProgress({ label: options.label, total: options.total, unit: 'steps', quiet: options.quiet }));
  return {
    onLog(entry) {
      last = {};
      for (const key of ['loss', 'mean_token_accuracy', 'accuracy', 'rewards/accuracies']) {
        const value = entry[key];
        if (typeof value === 'number') last[key.replace('rewards/', '')] = value;
      }
    },
    onStepEnd(state) {
      bar().update(Math.min(state.globalStep, options.total), last);
      if (state.globalStep >= options.total) progress?.stop();
    },
    onWarning(warning) {
      options.log(`[${options.label}] warning at step ${warning.step}: ${warning.message}`);
    },
  };
}

/** Callbacks that forward to the current phase's progress bar (a recipe runs several trainers in turn). */
export function phaseCallbacks(): { callbacks: TrainerCallbacks; start: (next: TrainerCallbacks | undefined) => void } {
  let current: TrainerCallbacks | undefined;
  return {
    start: (next) => {
      current = next;
    },
    callbacks: {
      onLog: (entry, state) => current?.onLog?.(entry, state),
      onStepEnd: (state) => current?.onStepEnd?.(state),
      onEvaluate: (metrics, state) => current?.onEvaluate?.(metrics, state),
      onSave: (info) => current?.onSave?.(info),
      onWarning: (warning) => current?.onWarning?.(warning),
    },
  };
}
