import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder beside this module, or — when a bundler moved the module (scripts run through a bundle) — the package's own. */
function shippedAsset(name: string): string {
  const beside = fileURLToPath(new URL(`../assets/${name}`, import.meta.url));
  if (existsSync(beside)) return beside;
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@flex/sft/package.json')), 'assets', name);
  } catch {
    return beside;
  }
}

/**
 * The shipped base checkpoint for images (Stage 0: pretrained on the embedded world's descriptions, grounded questions
 * and pointwise checks; see `assets/base-image/README.md` for the command, seed and measured accuracies). The pipeline
 * starts from it as the method starts from a pretrained vision-language model. An absolute path.
 */
export const baseImageCheckpoint: string = shippedAsset('base-image');
