import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignCategoryIds, categoryName, keyCategoriesById, matchCategory, predefinedCategories, selfGeneratedCategoryId } from './index';

describe('matchCategory', () => {
  const image: [string, 'A' | 'B' | 'C' | null][] = [
    ['Semantic Alignment & Accuracy', 'A'],
    ['A. Semantic Alignment & Accuracy', 'A'],
    ['semantic alignment', 'A'],
    ['Category A', 'A'],
    ['category b', 'B'],
    ['(C) Aesthetics', 'C'],
    ['**B. Image Quality and Realism**', 'B'],
    ['image quality', 'B'],
    ['Image Quality & Realism', 'B'],
    ['Visual quality', 'B'],
    ['Realism', 'B'],
    ['Aesthetics & Artistry', 'C'],
    ['aesthetic appeal', 'C'],
    ['Prompt adherence', 'A'],
    ['SEMANTIC ACCURACY', 'A'],
    ['A) Semantic alignment and accuracy', 'A'],
    ['Category A: Semantic Alignment', 'A'],
    ['C. Image Quality', 'B'],
    ['Mood & Atmosphere', null],
    ['D. Emotional Tone', null],
    ['Storytelling', null],
    ['D', null],
    ['', null],
    ['Motion Physics', null],
    ['Artistic Quality', 'C'],
    ['Visual Appeal', 'C'],
    ['Text-Image Alignment', 'A'],
    ['Prompt Fidelity', 'A'],
    ['Physical Plausibility', 'B'],
    ['Composition', 'C'],
    ['Emotional Impact', null],
  ];
  it.each(image)('image: %s → %s', (spelling, id) => {
    expect(matchCategory(spelling, 'image')).toBe(id);
  });
  const video: [string, 'A' | 'B' | 'C' | null][] = [
    ['Semantic Alignment & Accuracy', 'A'],
    ['Video Quality & Dynamic Realism', 'B'],
    ['video quality', 'B'],
    ['Temporal consistency and realism', 'B'],
    ['Narrative, Aesthetics & Cinematography', 'C'],
    ['cinematography', 'C'],
    ['Image Quality & Realism', 'B'],
    ['Motion Physics', null],
    ['Category C', 'C'],
    ['Temporal Coherence', 'B'],
    ['Motion Quality', 'B'],
    ['Storytelling', 'C'],
    ['Emotional Impact', null],
  ];
  it.each(video)('video: %s → %s', (spelling, id) => {
    expect(matchCategory(spelling, 'video')).toBe(id);
  });
  it('matches every canonical name to its own id in both modalities', () => {
    for (const modality of ['image', 'video'] as const) {
      for (const definition of predefinedCategories[modality]) {
        expect(matchCategory(definition.name, modality)).toBe(definition.id);
        expect(matchCategory(definition.name.toUpperCase(), modality)).toBe(definition.id);
        expect(matchCategory(`${definition.id}. ${definition.name}`, modality)).toBe(definition.id);
      }
    }
  });
  it('never throws and returns an id or null on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.constantFrom('image' as const, 'video' as const), (s, m) => {
        const r = matchCategory(s, m);
        expect(r === null || r === 'A' || r === 'B' || r === 'C').toBe(true);
      }),
    );
  });
});

describe('category ids', () => {
  it('numbers self-generated categories from D', () => {
    expect([0, 1, 22, 23, 24].map(selfGeneratedCategoryId)).toEqual(['D', 'E', 'Z', 'AA', 'AB']);
  });
  it('assigns registry ids regardless of order and spelling, fresh ids to the rest', () => {
    expect(assignCategoryIds(['image quality', 'A. semantic alignment', 'Mood', 'Aesthetics'], 'image')).toEqual(['B', 'A', 'D', 'C']);
    expect(assignCategoryIds(['Semantic', 'semantic alignment', 'Mood'], 'image')).toEqual(['A', 'D', 'E']);
  });
  it('keys two spellings of the same category under one id (the published reward splits them)', () => {
    const first = keyCategoriesById([{ name: 'Semantic Alignment & Accuracy' }, { name: categoryName('image', 'B') }], 'image');
    const second = keyCategoriesById([{ name: 'A. semantic alignment and accuracy' }, { name: 'Image quality' }], 'image');
    expect(Object.keys(first)).toEqual(Object.keys(second));
    expect(Object.keys(first)).toEqual(['A', 'B']);
  });
  it('gives unique ids for any list of names', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('Semantic alignment', 'Image Quality', 'Aesthetics', 'D. Mood')), { maxLength: 30 }), (names) => {
        const ids = assignCategoryIds(names, 'image');
        expect(new Set(ids).size).toBe(names.length);
      }),
    );
  });
});
