import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreferenceBenchmark } from './benchmark';
import { writeReport } from './report';
import { failingJudge, firstSlotJudge, makePairs, perfectJudge } from './testing.test-helpers';

/**
 * Opens report.html in Debian's headless Chromium (driven by playwright-core) and fails on any console error,
 * page error, failed or external request, and on any image that is missing or does not decode.
 * Skips only when /usr/bin/chromium is absent (CI installs it: `apt-get install -y chromium`).
 */

const executablePath = '/usr/bin/chromium';
const present = existsSync(executablePath);
if (!present) console.warn(`[@flex/eval] skipping the browser test of report.html: ${executablePath} is absent (apt-get install -y chromium)`);
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface PageCheck {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  externalRequests: string[];
  images: { alt: string; complete: boolean; naturalWidth: number }[];
}

async function checkInBrowser(file: string): Promise<PageCheck> {
  const { chromium } = await import('playwright-core');
  const userDataDir = await mkdtemp(join(tmpdir(), 'flex-eval-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const result: PageCheck = { consoleErrors: [], pageErrors: [], failedRequests: [], externalRequests: [], images: [] };
    page.on('console', (message) => {
      if (message.type() === 'error') result.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => result.pageErrors.push(error.message));
    page.on('requestfailed', (request) => result.failedRequests.push(request.url().slice(0, 80)));
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith('data:') && !url.startsWith('file:')) result.externalRequests.push(url);
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    result.images = await page.$$eval('img', (elements) =>
      // The page's images (typed structurally: this package compiles without the DOM library).
      (elements as unknown as { alt: string; complete: boolean; naturalWidth: number }[]).map((img) => ({
        alt: img.alt,
        complete: img.complete,
        naturalWidth: img.naturalWidth,
      })),
    );
    return result;
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}

const title = present
  ? 'report.html opens in headless Chromium with no console error and every image decoded'
  : 'report.html in headless Chromium — SKIPPED: /usr/bin/chromium is absent (install: apt-get install -y chromium)';

describe('report.html in a browser', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flex-eval-browser-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!present)(title, { timeout: 120_000 }, async () => {
    const pairs = makePairs(30);
    const runs = [
      await runPreferenceBenchmark({ judge: perfectJudge(), pairs, benchmark: 'image', bootstrapSamples: 50, sampleCount: 2 }),
      await runPreferenceBenchmark({ judge: firstSlotJudge(), pairs, benchmark: 'image', bootstrapSamples: 50, sampleCount: 1 }),
      await runPreferenceBenchmark({ judge: failingJudge(), pairs, benchmark: 'image', bootstrapSamples: 0, sampleCount: 1 }),
      await runPreferenceBenchmark({ judge: perfectJudge(), pairs: makePairs(8, 2, 'video'), benchmark: 'video', bootstrapSamples: 0, sampleCount: 1 }),
    ];
    const curves = [{ title: 'SFT loss', series: [{ name: 'loss', points: [{ x: 0, y: 3 }, { x: 50, y: 1 }, { x: 100, y: 0.4 }] }] }];
    const { reportPath } = await writeReport({ runDir: join(dir, 'run'), results: { runs, seed: 0 }, curves });
    const check = await checkInBrowser(reportPath);
    expect(check.consoleErrors).toEqual([]);
    expect(check.pageErrors).toEqual([]);
    expect(check.failedRequests).toEqual([]);
    expect(check.externalRequests).toEqual([]);
    const expectedImages = ((await readFile(reportPath, 'utf8')).match(/<img /g) ?? []).length;
    expect(check.images.length).toBe(expectedImages);
    expect(check.images.length).toBeGreaterThan(10);
    expect(check.images.filter((image) => !image.complete || image.naturalWidth === 0)).toEqual([]);

    // The check itself can fail: a broken image and a console error are both caught.
    const broken = join(dir, 'broken.html');
    await writeFile(
      broken,
      '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><img alt="bad" src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>',
    );
    const bad = await checkInBrowser(broken);
    expect(bad.consoleErrors).toContain('boom');
    expect(bad.images).toEqual([{ alt: 'bad', complete: true, naturalWidth: 0 }]);
  });
});
