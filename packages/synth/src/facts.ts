import type { Scene } from './scene';
import { neighbourColours } from './vocabulary';
import type { BackgroundKind, BackgroundTone, Colour, EffectKind, Motion, Shape, Size, Speed } from './vocabulary';

/**
 * Scene facts: what can be seen in a candidate, in the world's vocabulary. The oracle reads the exact facts of a
 * scene, the simulated teacher reads facts perceived with errors, and the pixel-level oracle reads facts recovered
 * from pixels — all three score them with the same functions, so no judge is favoured by construction.
 */
export interface FactObject {
  readonly shape: Shape;
  readonly colour: Colour;
  readonly size: Size;
  /** Centre in [0, 1] (the middle of the clip for video). */
  readonly x: number;
  readonly y: number;
  readonly motion: Motion;
  readonly speed: Speed;
  /** Identity change: the colour the object turns into mid-clip. */
  readonly becomes?: Colour;
}

/** The facts of one candidate. */
export interface SceneFacts {
  readonly modality: 'image' | 'video';
  readonly objects: readonly FactObject[];
  readonly background: { readonly kind: BackgroundKind; readonly tone: BackgroundTone };
  /** Severities in [0, 1] of render-time effects, plus `identity` (how far a colour changes mid-clip). */
  readonly effects: Readonly<Record<EffectKind | 'identity', number>>;
}

/** Severity of an identity change from one colour to another: 0.5 for a hue neighbour, 1 otherwise. */
export function identitySeverity(from: Colour, to: Colour | undefined): number {
  if (to === undefined || to === from) return 0;
  return neighbourColours(from).includes(to) ? 0.5 : 1;
}

/** The exact facts of a scene. */
export function sceneFacts(scene: Scene): SceneFacts {
  const video = scene.modality === 'video';
  let identity = 0;
  const objects: FactObject[] = scene.objects.map((o) => {
    const object: FactObject = {
      shape: o.shape,
      colour: o.colour,
      size: o.size,
      x: o.x,
      y: o.y,
      motion: video ? o.motion : 'still',
      speed: o.speed,
      ...(video && o.becomes !== undefined && o.becomes !== o.colour ? { becomes: o.becomes } : {}),
    };
    if (video) identity = Math.max(identity, identitySeverity(o.colour, o.becomes));
    return object;
  });
  const e = scene.effects;
  return {
    modality: scene.modality,
    objects,
    background: { kind: scene.background.kind, tone: scene.background.tone },
    effects: {
      ...e,
      flicker: video ? e.flicker : 0,
      jitter: video ? e.jitter : 0,
      frozen: video ? e.frozen : 0,
      identity,
    },
  };
}

/** Centroid of object positions weighted by area, and the distance of that centroid from the frame centre. */
export function composition(objects: readonly FactObject[]): { cx: number; cy: number; offset: number; spread: number } {
  if (objects.length === 0) return { cx: 0.5, cy: 0.5, offset: 0, spread: 0 };
  const weight = (o: FactObject) => (o.size === 'small' ? 0.6 : o.size === 'medium' ? 1 : 1.8);
  let w = 0;
  let cx = 0;
  let cy = 0;
  for (const o of objects) {
    const k = weight(o);
    w += k;
    cx += o.x * k;
    cy += o.y * k;
  }
  cx /= w;
  cy /= w;
  let variance = 0;
  for (const o of objects) variance += (o.x - cx) ** 2 + (o.y - cy) ** 2;
  const spread = Math.min(1, Math.sqrt(variance / objects.length) / 0.3);
  return { cx, cy, offset: Math.hypot(cx - 0.5, cy - 0.5), spread };
}

/** Imbalance in [0, 1]: how far the composition's weight sits from the centre (0 when within 0.15 of it). */
export function imbalanceOf(objects: readonly FactObject[]): number {
  const { offset } = composition(objects);
  return Math.max(0, Math.min(1, (offset - 0.15) / 0.2));
}

/** Horizontal and vertical position words of a point: "left", "top right", "center". */
export function positionWords(x: number, y: number): string {
  const h = x < 0.4 ? 'left' : x > 0.6 ? 'right' : '';
  const v = y < 0.4 ? 'top' : y > 0.6 ? 'bottom' : '';
  const words = [v, h].filter((w) => w !== '').join(' ');
  return words === '' ? 'center' : words;
}
