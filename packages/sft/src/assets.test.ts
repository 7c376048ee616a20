import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, loadCheckpoint } from '@flex/model';
import { baseImageCheckpoint } from './assets';
import { parseDescription } from './examples';
import { generateDescriptions } from './pretrain';
import { drawWorldPairs } from './world';

describe('the shipped base checkpoint', () => {
  it('loads as an evidence-first flex-judge and describes images in the description vocabulary', async () => {
    expect(existsSync(join(baseImageCheckpoint, 'config.json'))).toBe(true);
    await initBackend({ backend: 'wasm' });
    const { model } = await loadCheckpoint({ directory: baseImageCheckpoint, kind: 'flex-judge' });
    expect(model.layout).toBe('evidence-first');
    const pairs = drawWorldPairs({ seed: 5, split: 'test', count: 3 });
    const written = generateDescriptions(model, pairs.map((p) => p.a));
    for (const text of written) {
      const parsed = parseDescription(text);
      expect(parsed.groups.length).toBeGreaterThan(0);
      expect(parsed.background).toBeDefined();
    }
    model.dispose();
  });
});
