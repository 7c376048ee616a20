import { z } from 'zod';
import { backgroundKinds, backgroundTones, colours, effectKinds, motions, shapes, sizes, speeds } from './vocabulary';
import type { EffectKind } from './vocabulary';

/** Schema of one object in a scene. Positions are the centre at the first frame, as fractions of width/height. */
export const sceneObjectSchema = z.object({
  shape: z.enum(shapes),
  colour: z.enum(colours),
  size: z.enum(sizes),
  /** Centre x in [0, 1] (0 = left edge). */
  x: z.number().min(0).max(1),
  /** Centre y in [0, 1] (0 = top edge). */
  y: z.number().min(0).max(1),
  /** Rotation in radians (small; shapes stay recognisable). */
  rotation: z.number().min(-Math.PI).max(Math.PI).default(0),
  /** Motion over the video (ignored for images). */
  motion: z.enum(motions).default('still'),
  /** Speed of the motion. */
  speed: z.enum(speeds).default('slow'),
  /** Identity-change fault: from the middle frame on the object takes this colour (video only). */
  becomes: z.enum(colours).optional(),
});
/** One object in a scene. */
export type SceneObject = z.output<typeof sceneObjectSchema>;

/** Schema of a scene's background. */
export const backgroundSchema = z.object({
  kind: z.enum(backgroundKinds),
  tone: z.enum(backgroundTones),
});
/** A background: a kind (flat, gradient, texture) and a desaturated tone. */
export type Background = z.output<typeof backgroundSchema>;

/** Schema of a scene's render-time effects: severities in [0, 1] (0 = absent). */
export const effectsSchema = z
  .object(Object.fromEntries(effectKinds.map((k) => [k, z.number().min(0).max(1).default(0)])) as Record<EffectKind, z.ZodDefault<z.ZodNumber>>)
  .strict();
/** Render-time effects (quality and aesthetic faults), severity in [0, 1]. */
export type Effects = Record<EffectKind, number>;

/** Schema of a scene: everything needed to render it deterministically. */
export const sceneSchema = z.object({
  modality: z.enum(['image', 'video']),
  background: backgroundSchema,
  objects: z.array(sceneObjectSchema).max(12),
  effects: effectsSchema.default(() => noEffects()),
  /** Number of frames (1 for images, at least 8 for video). */
  frames: z.number().int().min(1).max(64),
  /** Seed of the stochastic parts of rendering (texture, noise, clutter, jitter). */
  seed: z.number().int().min(0).max(4294967295),
});
/** A serializable, validated scene. */
export type Scene = z.output<typeof sceneSchema>;
/** Input type of {@link sceneSchema}. */
export type SceneInput = z.input<typeof sceneSchema>;

/** Effects with every severity at 0. */
export function noEffects(): Effects {
  return Object.fromEntries(effectKinds.map((k) => [k, 0])) as Effects;
}

/** Per-frame displacement of each speed, as a fraction of the image side. */
export const speedStep = { slow: 0.016, fast: 0.032 } as const;

/**
 * Position of an object at a frame (before jitter), as fractions of the image; `x`, `y` of the object are its
 * position in the middle of the clip for linear motion. Linear motion moves at a constant speed; a bounce rises and falls twice over the clip; an orbit circles the image centre. A frozen effect holds the
 * position from an early frame on.
 */
export function objectPositionAt(object: SceneObject, frame: number, frames: number, frozen = 0): { x: number; y: number } {
  const stopAt = frozen > 0 ? Math.round((1 - frozen) * (frames - 1) * 0.5) : Infinity;
  const t = Math.min(frame, stopAt);
  // Linear paths are centred on the object's position, so (x, y) is where it is in the middle of the clip.
  const centred = t - (frames - 1) / 2;
  const step = speedStep[object.speed];
  switch (object.motion) {
    case 'still':
      return { x: object.x, y: object.y };
    case 'left':
      return { x: object.x - step * centred, y: object.y };
    case 'right':
      return { x: object.x + step * centred, y: object.y };
    case 'up':
      return { x: object.x, y: object.y - step * centred };
    case 'down':
      return { x: object.x, y: object.y + step * centred };
    case 'bounce': {
      const period = Math.max(2, (frames - 1) / 2);
      const phase = (t % period) / period;
      const height = step * 5 * Math.sin(Math.PI * phase);
      return { x: object.x, y: object.y - height };
    }
    case 'orbit': {
      const cx = 0.5;
      const cy = 0.5;
      const dx = object.x - cx;
      const dy = object.y - cy;
      const radius = Math.max(0.12, Math.hypot(dx, dy));
      const start = Math.atan2(dy, dx);
      // Angular speed does not depend on the radius, so every orbit visibly turns (about 2 or 3.5 radians a clip).
      const angle = start + (object.speed === 'fast' ? 0.5 : 0.3) * centred;
      return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
    }
  }
}
