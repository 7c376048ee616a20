import { fileURLToPath } from 'node:url';

/**
 * The pre-trained generators shipped with the package (absolute folder paths for `loadFlowGenerator` from
 * `@flex/model`): `image` is 32×32 RGB, `video` 8 frames of 24×24, both pre-trained with the flow-matching loss
 * on renders of `@flex/synth`'s world (each `config.json` records the command, seed and oracle scores under
 * `provenance`). GRPO starts from them.
 */
export const shippedGenerators: { readonly image: string; readonly video: string } = {
  image: fileURLToPath(new URL('../generators/image-32', import.meta.url)),
  video: fileURLToPath(new URL('../generators/video-24', import.meta.url)),
};
