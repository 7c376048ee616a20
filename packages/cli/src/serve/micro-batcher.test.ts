import { describe, expect, it } from 'vitest';
import { MicroBatcher, MicroBatcherError } from './micro-batcher';
import { deferred } from './test-helpers';

const double = async (items: number[]) => items.map((x) => x * 2);

describe('MicroBatcher', () => {
  it('starts a batch as soon as maxBatch items wait, and the rest after the window', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>({ run: double, maxBatch: 3, windowMs: 30, maxQueue: 100, onBatch: (n) => sizes.push(n) });
    const outputs = await Promise.all([1, 2, 3, 4, 5].map((x) => batcher.submit(x)));
    expect(outputs).toEqual([2, 4, 6, 8, 10]);
    expect(sizes).toEqual([3, 2]);
    expect(batcher.stats).toMatchObject({ batches: 2, items: 5, largestBatch: 3, queued: 0, running: 0 });
  });

  it('gathers items that arrive while a batch runs into the next batch (concurrency 1)', async () => {
    const gate = deferred();
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>({
      run: async (items) => {
        sizes.push(items.length);
        if (sizes.length === 1) await gate.promise;
        return items;
      },
      maxBatch: 10,
      windowMs: 0,
      maxQueue: 100,
    });
    const first = batcher.submit(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const later = [1, 2, 3, 4].map((x) => batcher.submit(x));
    expect(batcher.stats).toMatchObject({ running: 1, queued: 4 });
    gate.resolve();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4]);
    expect(sizes).toEqual([1, 4]);
  });

  it('refuses beyond maxQueue, drops cancelled items, and fails a whole batch on a throw or a wrong count', async () => {
    const gate = deferred();
    const batcher = new MicroBatcher<number, number>({
      run: async (items) => {
        await gate.promise;
        if (items.includes(99)) throw new Error('boom');
        return items.includes(98) ? [] : items;
      },
      maxBatch: 1,
      windowMs: 0,
      maxQueue: 2,
    });
    const running = batcher.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const controller = new AbortController();
    const cancelled = batcher.submit(2, controller.signal);
    const queued = batcher.submit(99);
    await expect(batcher.submit(3)).rejects.toMatchObject({ code: 'queue_full' });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' });
    const wrongCount = batcher.submit(98);
    gate.resolve();
    expect(await running).toBe(1);
    await expect(queued).rejects.toMatchObject({ code: 'run_failed', message: 'boom' });
    await expect(wrongCount).rejects.toMatchObject({ code: 'run_failed', message: 'the judge returned 0 results for 1 requests' });
  });

  it('close() runs everything queued at once, then refuses new items', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>({ run: async (items) => (sizes.push(items.length), items), maxBatch: 2, windowMs: 60_000, maxQueue: 10 });
    const pending = [1, 2, 3].map((x) => batcher.submit(x));
    const started = Date.now();
    await batcher.close();
    expect(Date.now() - started).toBeLessThan(30_000); // did not wait for the 60 s window
    expect(await Promise.all(pending)).toEqual([1, 2, 3]);
    expect(sizes).toEqual([2, 1]);
    const refused = batcher.submit(4);
    await expect(refused).rejects.toBeInstanceOf(MicroBatcherError);
    await expect(refused).rejects.toMatchObject({ code: 'closed' });
  });

  it('abort() rejects queued items and aborts the running batch signal', async () => {
    let seen: AbortSignal | undefined;
    const gate = deferred();
    const batcher = new MicroBatcher<number, number>({
      run: async (items, signal) => {
        seen = signal;
        await gate.promise;
        return items;
      },
      maxBatch: 1,
      windowMs: 0,
      maxQueue: 10,
    });
    const running = batcher.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const queued = batcher.submit(2);
    batcher.abort();
    await expect(queued).rejects.toMatchObject({ code: 'closed' });
    expect(seen?.aborted).toBe(true);
    gate.resolve();
    expect(await running).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new MicroBatcher({ run: double, maxBatch: 0, windowMs: 0, maxQueue: 1 })).toThrow(/maxBatch/);
    expect(() => new MicroBatcher({ run: double, maxBatch: 1, windowMs: -1, maxQueue: 1 })).toThrow(/windowMs/);
    expect(() => new MicroBatcher({ run: double, maxBatch: 1, windowMs: 0, maxQueue: 0 })).toThrow(/maxQueue/);
  });
});
