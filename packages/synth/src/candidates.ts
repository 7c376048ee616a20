import { z } from 'zod';
import { Rng } from './random';
import type { PromptSpec, Subject } from './prompt';
import { noEffects } from './scene';
import type { Scene, SceneObject } from './scene';
import { backgroundKinds, backgroundTones, colours, faultKinds, motions, neighbourColours, neighbourShapes, shapes, sizeRadius, sizes, videoOnlyFaults } from './vocabulary';
import type { Colour, FaultKind, Shape, Size, Speed } from './vocabulary';

/** The fault categories. */
export const faultCategories = ['semantic', 'quality', 'aesthetic'] as const;
/** A fault category. */
export type FaultCategory = (typeof faultCategories)[number];

/** Schema of one fault applied to a candidate. */
export const faultSchema = z.object({
  kind: z.enum([...faultKinds.semantic, ...faultKinds.quality, ...faultKinds.aesthetic] as [FaultKind, ...FaultKind[]]),
  category: z.enum(faultCategories),
  /** Severity in (0, 1]: how large the fault is. */
  severity: z.number().min(0).max(1),
});
/** A fault applied to a candidate. */
export type Fault = z.output<typeof faultSchema>;

/** Free style choices of a candidate (not faults: contexts like or dislike them). */
export interface CandidateStyle {
  readonly tone: Scene['background']['tone'];
  readonly kind: Scene['background']['kind'];
  /** Size of each subject the prompt leaves free. */
  readonly sizes: readonly Size[];
  /** Motion of each subject the prompt leaves free (video). */
  readonly motions: readonly SceneObject['motion'][];
  readonly speed: Speed;
}

/** Draw a candidate style. */
export function sampleStyle(spec: PromptSpec, rng: Rng): CandidateStyle {
  return {
    tone: rng.pick(backgroundTones),
    kind: rng.pick(backgroundKinds),
    sizes: spec.subjects.map((s) => s.size ?? rng.pick(sizes)),
    motions: spec.subjects.map((s) => s.motion ?? (spec.modality === 'video' && rng.chance(0.5) ? rng.pick(motions) : 'still')),
    speed: rng.chance(0.5) ? 'slow' : 'fast',
  };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const ROWS = [0.5, 0.17, 0.83];

/**
 * The correct scene for a prompt with a style: subjects laid out in columns (rows for above/below) so the asked
 * relation holds, the composition roughly centred.
 */
export function referenceScene(spec: PromptSpec, style: CandidateStyle, seed: number): Scene {
  const rng = new Rng(seed);
  const objects: SceneObject[] = [];
  const vertical = spec.relation === 'above' || spec.relation === 'below';
  const firstFirst = spec.relation === undefined ? rng.chance(0.5) : spec.relation === 'left of' || spec.relation === 'above';
  const lanes = spec.subjects.length === 1 ? [0.5] : firstFirst ? [0.27, 0.73] : [0.73, 0.27];
  spec.subjects.forEach((subject, i) => {
    const lane = lanes[i] as number;
    for (let k = 0; k < subject.count; k++) {
      let across: number;
      let along: number;
      if (spec.subjects.length === 1) {
        // A single subject spreads along a row.
        across = subject.count === 1 ? 0.5 : subject.count === 2 ? [0.32, 0.68][k]! : [0.17, 0.5, 0.83][k]!;
        along = subject.count === 3 ? [0.45, 0.55, 0.45][k]! : 0.5;
      } else {
        // Three in a lane zigzag so neighbours never touch.
        across = lane + (subject.count === 3 ? [0, -0.06, 0.06][k]! : 0);
        along = subject.count === 2 ? [0.32, 0.68][k]! : ROWS[k]!;
      }
      const jx = rng.uniform(-0.02, 0.02);
      const jy = rng.uniform(-0.02, 0.02);
      const x = vertical ? along + jx : across + jx;
      const y = vertical ? across + jy : along + jy;
      objects.push(makeObject(subject, style, i, x, y, rng));
    }
  });
  return {
    modality: spec.modality,
    background: { kind: style.kind, tone: style.tone },
    objects,
    effects: noEffects(),
    frames: spec.modality === 'video' ? 8 : 1,
    seed: rng.int(0, 0x7fffffff),
  };
}

function makeObject(subject: Subject, style: CandidateStyle, index: number, x: number, y: number, rng: Rng): SceneObject {
  const size = style.sizes[index] ?? 'medium';
  const r = sizeRadius[size];
  return {
    shape: subject.shape,
    colour: subject.colour,
    size,
    x: clamp(x, r, 1 - r),
    y: clamp(y, r, 1 - r),
    rotation: rng.uniform(-0.15, 0.15),
    motion: style.motions[index] ?? 'still',
    speed: style.speed,
  };
}

function cloneScene(scene: Scene): Scene {
  return { ...scene, background: { ...scene.background }, objects: scene.objects.map((o) => ({ ...o })), effects: { ...scene.effects } };
}

function farColour(from: Colour, avoid: readonly Colour[], rng: Rng): Colour {
  const near = neighbourColours(from);
  const options = colours.filter((c) => c !== from && !near.includes(c) && !avoid.includes(c));
  return rng.pick(options.length > 0 ? options : colours.filter((c) => c !== from));
}

function farShape(from: Shape, avoid: readonly Shape[], rng: Rng): Shape {
  const near = neighbourShapes(from);
  const options = shapes.filter((s) => s !== from && !near.includes(s) && !avoid.includes(s));
  return rng.pick(options.length > 0 ? options : shapes.filter((s) => s !== from));
}

function subjectIndices(scene: Scene, subject: Subject): number[] {
  const out: number[] = [];
  scene.objects.forEach((o, i) => {
    if (o.colour === subject.colour && o.shape === subject.shape) out.push(i);
  });
  return out;
}

function freeSpot(scene: Scene, size: Size, rng: Rng): { x: number; y: number } {
  const r = sizeRadius[size];
  let best = { x: 0.5, y: 0.5 };
  let bestGap = -1;
  for (let attempt = 0; attempt < 24; attempt++) {
    const x = rng.uniform(r, 1 - r);
    const y = rng.uniform(r, 1 - r);
    let gap = Infinity;
    for (const o of scene.objects) gap = Math.min(gap, Math.hypot(o.x - x, o.y - y) - sizeRadius[o.size] - r);
    if (gap > bestGap) {
      bestGap = gap;
      best = { x, y };
    }
    if (gap > 0.05) break;
  }
  return best;
}

/** Which faults can apply to this prompt and modality. */
export function applicableFaults(spec: PromptSpec, category: FaultCategory): FaultKind[] {
  const kinds = faultKinds[category] as readonly FaultKind[];
  return kinds.filter((k) => {
    if (spec.modality === 'image' && videoOnlyFaults.includes(k)) return false;
    if (k === 'relation' && spec.relation === undefined) return false;
    if (k === 'missing' && spec.subjects.length < 2) return false;
    if (k === 'size' && spec.subjects.every((s) => s.size === undefined)) return false;
    if (k === 'motion' && spec.subjects.every((s) => s.motion === undefined)) return false;
    return true;
  });
}

/** The category of a fault kind. */
export function categoryOfFault(kind: FaultKind): FaultCategory {
  if ((faultKinds.semantic as readonly string[]).includes(kind)) return 'semantic';
  if ((faultKinds.quality as readonly string[]).includes(kind)) return 'quality';
  return 'aesthetic';
}

/**
 * Apply one fault of a given severity to a scene (a new scene is returned). Semantic faults change the objects
 * (a larger severity: a count off by two, a far colour or shape, every object affected); quality and aesthetic faults
 * set render effects or move the composition.
 */
export function applyFault(scene: Scene, spec: PromptSpec, kind: FaultKind, severity: number, rng: Rng): Scene {
  const out = cloneScene(scene);
  const s = clamp(severity, 0, 1);
  const subjectIndex = rng.int(0, spec.subjects.length - 1);
  const subject = spec.subjects[subjectIndex] as Subject;
  const members = subjectIndices(out, subject);
  const otherColours = spec.subjects.map((x) => x.colour);
  const otherShapes = spec.subjects.map((x) => x.shape);
  switch (kind) {
    case 'count': {
      const diff = s < 0.6 ? 1 : 2;
      const canRemove = members.length - diff >= 1;
      if (canRemove && rng.chance(0.5)) {
        const remove = new Set(rng.shuffle(members).slice(0, diff));
        out.objects = out.objects.filter((_, i) => !remove.has(i));
      } else {
        const template = out.objects[members[0] ?? -1];
        for (let k = 0; k < diff; k++) {
          const size = template?.size ?? 'medium';
          const spot = freeSpot(out, size, rng);
          out.objects.push({ ...(template ?? { shape: subject.shape, colour: subject.colour, size, rotation: 0, motion: 'still', speed: 'slow' }), ...spot });
        }
      }
      break;
    }
    case 'colour': {
      const targets = s < 0.5 ? members.slice(0, 1) : members;
      const colour = s < 0.5 ? rng.pick(neighbourColours(subject.colour).filter((c) => !otherColours.includes(c)).concat(farColour(subject.colour, otherColours, rng)).slice(0, 2)) : farColour(subject.colour, otherColours, rng);
      for (const i of targets) (out.objects[i] as SceneObject).colour = colour;
      break;
    }
    case 'shape': {
      const targets = s < 0.5 ? members.slice(0, 1) : members;
      const near = neighbourShapes(subject.shape).filter((x) => !otherShapes.includes(x));
      const shape = s < 0.5 && near.length > 0 ? rng.pick(near) : farShape(subject.shape, otherShapes, rng);
      for (const i of targets) (out.objects[i] as SceneObject).shape = shape;
      break;
    }
    case 'size': {
      const sized = spec.subjects.findIndex((x) => x.size !== undefined);
      const target = spec.subjects[sized] as Subject;
      const wrong = sizes.filter((z) => z !== target.size);
      const size = s < 0.5 ? (wrong.find((z) => Math.abs(sizes.indexOf(z) - sizes.indexOf(target.size as Size)) === 1) as Size) : (wrong.find((z) => Math.abs(sizes.indexOf(z) - sizes.indexOf(target.size as Size)) === 2) ?? (wrong[0] as Size));
      for (const i of subjectIndices(out, target)) (out.objects[i] as SceneObject).size = size;
      break;
    }
    case 'relation': {
      const horizontal = spec.relation === 'left of' || spec.relation === 'right of';
      const first = subjectIndices(out, spec.subjects[0] as Subject);
      const second = subjectIndices(out, spec.subjects[1] as Subject);
      if (s < 0.5) {
        // Mild: the subjects end up level (one row each, both centred on the axis the relation is about).
        const place = (indices: number[], lane: number) =>
          indices.forEach((i, k) => {
            const o = out.objects[i] as SceneObject;
            const r = sizeRadius[o.size];
            const along = clamp(0.5 + (k - (indices.length - 1) / 2) * 0.31, r, 1 - r);
            if (horizontal) {
              o.x = along;
              o.y = clamp(lane, r, 1 - r);
            } else {
              o.y = along;
              o.x = clamp(lane, r, 1 - r);
            }
          });
        place(first, 0.27);
        place(second, 0.73);
      } else {
        // Severe: the subjects swap sides.
        for (const o of out.objects) {
          if (horizontal) o.x = clamp(1 - o.x, 0, 1);
          else o.y = clamp(1 - o.y, 0, 1);
        }
      }
      break;
    }
    case 'missing': {
      out.objects = out.objects.filter((_, i) => !members.includes(i));
      break;
    }
    case 'extra': {
      const n = s < 0.6 ? 1 : 2;
      for (let k = 0; k < n; k++) {
        const colour = rng.pick(colours.filter((c) => !otherColours.includes(c)));
        const shape = rng.pick(shapes.filter((x) => !otherShapes.includes(x)));
        const size = rng.pick(sizes);
        out.objects.push({ shape, colour, size, ...freeSpot(out, size, rng), rotation: 0, motion: out.objects[0]?.motion ?? 'still', speed: out.objects[0]?.speed ?? 'slow' });
      }
      break;
    }
    case 'motion': {
      const moving = spec.subjects.findIndex((x) => x.motion !== undefined);
      const target = spec.subjects[moving] as Subject;
      const opposite: Record<string, SceneObject['motion']> = { left: 'right', right: 'left', up: 'down', down: 'up', bounce: 'orbit', orbit: 'bounce', still: 'left' };
      const motion = s < 0.5 ? 'still' : (opposite[target.motion as string] as SceneObject['motion']);
      for (const i of subjectIndices(out, target)) (out.objects[i] as SceneObject).motion = motion;
      break;
    }
    case 'identity': {
      const target = out.objects[members[0] ?? 0];
      if (target !== undefined) target.becomes = s < 0.5 ? rng.pick(neighbourColours(target.colour)) : farColour(target.colour, [], rng);
      break;
    }
    case 'balance': {
      const wanted = 0.18 + 0.22 * s;
      // Shift the whole composition rigidly, as far as the frame allows (objects never pile up at an edge), in a
      // direction with room to move.
      const room = (angle: number) => {
        const dx = Math.cos(angle);
        const dy = Math.sin(angle);
        let allowed = wanted;
        for (const o of out.objects) {
          const r = sizeRadius[o.size];
          if (dx > 1e-9) allowed = Math.min(allowed, (1 - r - o.x) / dx);
          if (dx < -1e-9) allowed = Math.min(allowed, (r - o.x) / dx);
          if (dy > 1e-9) allowed = Math.min(allowed, (1 - r - o.y) / dy);
          if (dy < -1e-9) allowed = Math.min(allowed, (r - o.y) / dy);
        }
        return Math.max(0, allowed);
      };
      const angles = Array.from({ length: 8 }, (_, i) => (i * Math.PI) / 4);
      const best = Math.max(...angles.map(room));
      const angle = rng.pick(angles.filter((a) => room(a) >= 0.8 * best));
      const shift = room(angle);
      for (const o of out.objects) {
        o.x = clamp(o.x + Math.cos(angle) * shift, 0, 1);
        o.y = clamp(o.y + Math.sin(angle) * shift, 0, 1);
      }
      break;
    }
    default:
      out.effects[kind] = Math.max(out.effects[kind], s);
  }
  return out;
}

/** A candidate: its scene and the faults it was built with. */
export interface Candidate {
  readonly scene: Scene;
  readonly faults: readonly Fault[];
}

/** Build a candidate with given faults: the reference scene for the style, then each fault applied in turn (no-ops are dropped). */
export function buildCandidate(spec: PromptSpec, style: CandidateStyle, faults: readonly { kind: FaultKind; severity: number }[], seed: number): Candidate {
  const rng = new Rng(seed);
  let scene = referenceScene(spec, style, rng.int(0, 0x7fffffff));
  const applied: Fault[] = [];
  for (const f of faults) {
    const next = applyFault(scene, spec, f.kind, f.severity, rng.fork(f.kind));
    // A fault that changes nothing (e.g. recolouring a subject another fault removed) is not recorded.
    if (JSON.stringify(next) === JSON.stringify(scene)) continue;
    scene = next;
    applied.push({ kind: f.kind, category: categoryOfFault(f.kind), severity: f.severity });
  }
  return { scene, faults: applied };
}

function drawFault(spec: PromptSpec, category: FaultCategory, rng: Rng): { kind: FaultKind; severity: number } | undefined {
  const kinds = applicableFaults(spec, category);
  if (kinds.length === 0) return undefined;
  return { kind: rng.pick(kinds), severity: Math.round(rng.uniform(0.15, 1) * 100) / 100 };
}

/** Draw the faults of the two candidates of a pair: trade-offs across categories, same-category contrasts, one-sided faults. */
export function samplePairFaults(spec: PromptSpec, rng: Rng): [{ kind: FaultKind; severity: number }[], { kind: FaultKind; severity: number }[]] {
  const a: { kind: FaultKind; severity: number }[] = [];
  const b: { kind: FaultKind; severity: number }[] = [];
  const push = (list: typeof a, category: FaultCategory) => {
    const f = drawFault(spec, category, rng);
    if (f !== undefined && !list.some((x) => x.kind === f.kind)) list.push(f);
  };
  const r = rng.next();
  if (r < 0.45) {
    const [x, y] = rng.shuffle(faultCategories) as [FaultCategory, FaultCategory];
    push(a, x);
    push(b, y);
  } else if (r < 0.7) {
    const c = rng.pick(faultCategories);
    push(a, c);
    push(b, c);
  } else if (r < 0.85) {
    push(rng.chance(0.5) ? a : b, rng.pick(faultCategories));
  } else {
    for (const list of [a, b]) {
      const n = rng.int(0, 2);
      for (let k = 0; k < n; k++) push(list, rng.pick(faultCategories));
    }
  }
  return [a, b];
}
