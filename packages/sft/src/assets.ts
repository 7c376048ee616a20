import { fileURLToPath } from 'node:url';

/**
 * The shipped base checkpoint for images (Stage 0: pretrained on the embedded world's descriptions, grounded questions
 * and pointwise checks; see `assets/base-image/README.md` for the command, seed and measured accuracies). The pipeline
 * starts from it as the method starts from a pretrained vision-language model. An absolute path.
 */
export const baseImageCheckpoint: string = fileURLToPath(new URL('../assets/base-image', import.meta.url));
