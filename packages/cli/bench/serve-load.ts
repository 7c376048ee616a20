/**
 * Load test of `flex serve` (createJudgeServer, what the command runs), bounded and on loopback:
 * 200 concurrent judge requests from the official `openai` client to a server in a child process (so client and
 * server do not share an event loop), beside the same 200 pairs judged in-process in batches.
 *
 * Checks: none lost (every request gets exactly one answer), none duplicated (every answer's id is unique and
 * its assessment names its own request's prompt), and how often the served assessment equals the in-process
 * one. Figures: throughput, latency percentiles, batch sizes. The last line is one JSON object.
 *
 *   npm run bench -w @flex/cli            (FLEX_SERVE_BENCH_REQUESTS, FLEX_SERVE_BENCH_PRESET, FLEX_SERVE_BENCH_MAX_BATCH)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OpenAI } from 'openai';
import { parseAssessment, renderJudgeTemplate, type Judge, type JudgeRequest, type PairwiseAssessment, type RgbImage } from '@flex/criteria';
import { buildJudgeTokenizer, FlexJudgeModel, initBackend, pngDataUrl } from '@flex/model';
import { createJudgeServer } from '../src/serve/index';

const requestsCount = Number(process.env['FLEX_SERVE_BENCH_REQUESTS'] ?? 200);
const preset = (process.env['FLEX_SERVE_BENCH_PRESET'] ?? 'small') as 'tiny' | 'small' | 'base';
const maxBatch = Number(process.env['FLEX_SERVE_BENCH_MAX_BATCH'] ?? 32);
const batchWindowMs = 10;
const modelName = 'flex-bench';
// An untrained judge rambles: short fields, no intent or evidence lines and no extra category keep its assessments
// near the length of a trained one's. (Constrained decoding closes every assessment within each request's own budget.)
const grammar = { maxFieldLength: 12, maxExtraCategories: 0, maxCriteria: 3, intent: 'forbidden', evidence: 'forbidden' } as const;

function benchModel(): FlexJudgeModel {
  const tokenizer = buildJudgeTokenizer({
    prompts: ['a red circle left of a blue square', 'three green triangles above a yellow star', 'a small purple ring'],
    texts: ['red blue green yellow purple circle square triangle star ring left right above below small large sharp blurry'],
    vocabSize: 256,
    minCount: 1,
  });
  return FlexJudgeModel.create({ preset, tokenizer, seed: 11 });
}

function benchJudge(model: FlexJudgeModel): Judge {
  return { name: model.name, judge: (requests, options) => model.judge(requests, { ...options, grammar, batchSize: maxBatch }) };
}

function image(seed: number, size = 32): RgbImage {
  const data = new Float32Array(size * size * 3);
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state >>> 24) / 255; // bytes: the PNG round trip is exact
  }
  return { width: size, height: size, data };
}

function pairs(): JudgeRequest[] {
  const shapes = ['circle', 'square', 'triangle', 'star', 'ring'];
  const colours = ['red', 'blue', 'green', 'yellow', 'purple'];
  return Array.from({ length: requestsCount }, (_, i) => ({
    id: `r${i}`,
    prompt: `a ${colours[i % 5]} ${shapes[Math.floor(i / 5) % 5]} left of a ${colours[(i + 2) % 5]} ${shapes[(i + 1) % 5]}, request ${i}`,
    modality: 'image' as const,
    a: image(i * 2),
    b: image(i * 2 + 1),
  }));
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

async function serverMain(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  const model = benchModel();
  const judge = benchJudge(model);
  await judge.judge(pairs().slice(0, 2)); // warm-up: the first call compiles kernels
  const sizes: number[] = [];
  const server = await createJudgeServer({
    judge,
    modelName,
    port: 0,
    maxBatch,
    batchWindowMs,
    maxQueue: 4096,
    countTokens: (text) => model.tokenizer.encode(text).length,
    logger: (entry) => {
      if (entry.event === 'batch') sizes.push(Number(/\d+/.exec(entry.message)?.[0]));
    },
  });
  const cpu = process.cpuUsage();
  process.stdout.write(`LISTENING ${server.port}\n`);
  process.once('SIGTERM', () => {
    void server.close().then(() => {
      const used = process.cpuUsage(cpu);
      process.stdout.write(`STATS ${JSON.stringify({ ...server.stats, sizes, cpuSeconds: (used.user + used.system) / 1e6 })}\n`);
      process.exit(0);
    });
  });
}

async function main(): Promise<void> {
  const requests = pairs();
  // The client's work that is not the server's: encoding the PNGs and rendering the templates, done up front.
  const bodies = requests.map((r) => {
    const template = renderJudgeTemplate({ mode: 'pairwise', modality: 'image', prompt: r.prompt, media: [pngDataUrl(r.a as RgbImage), pngDataUrl(r.b as RgbImage)] });
    return { model: modelName, temperature: 0, max_tokens: 4096, messages: template.messages } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
  });

  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const stats = new Promise<Record<string, unknown>>((resolve) => {
    lines.on('line', (line) => {
      if (line.startsWith('STATS ')) resolve(JSON.parse(line.slice(6)));
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) resolve(Number(line.slice(10)));
    });
    child.once('exit', (code) => reject(new Error(`the server exited early (${code})`)));
  });
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'EMPTY', maxRetries: 0, timeout: 600_000 });

  // Served: every request at once.
  const latencies: number[] = [];
  const started = performance.now();
  const answers = await Promise.all(
    bodies.map(async (body, i) => {
      const t0 = performance.now();
      try {
        const completion = await client.chat.completions.create(body);
        latencies[i] = performance.now() - t0;
        return { ok: true as const, completion };
      } catch (error) {
        latencies[i] = performance.now() - t0;
        const status = error instanceof OpenAI.APIError ? error.status : undefined;
        return { ok: false as const, status, error: String(error) };
      }
    }),
  );
  const servedSeconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  const server = await stats as Record<string, number> & { sizes: number[] };

  // In-process: the same pairs, the same judge, in batches of maxBatch.
  await initBackend({ backend: 'wasm' });
  const model = benchModel();
  const judge = benchJudge(model);
  await judge.judge(requests.slice(0, 2));
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  const local = await judge.judge(requests);
  const localSeconds = (performance.now() - t1) / 1000;
  const localCpu = process.cpuUsage(cpu);
  const localCpuSeconds = (localCpu.user + localCpu.system) / 1e6;

  const ids = new Set<string>();
  let answered = 0;
  let succeeded = 0;
  let parsed = 0;
  let matched = 0;
  let sameAsInProcess = 0;
  let sameWinner = 0;
  let sameText = 0;
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  answers.forEach((answer, i) => {
    if (!answer.ok) {
      // An HTTP error status is an answer; only a request with no response at all is lost.
      if (answer.status !== undefined) answered++;
      statuses[String(answer.status ?? 'none')] = (statuses[String(answer.status ?? 'none')] ?? 0) + 1;
      failures.push(answer.error);
      return;
    }
    answered++;
    succeeded++;
    statuses['200'] = (statuses['200'] ?? 0) + 1;
    ids.add(answer.completion.id);
    const content = answer.completion.choices[0]?.message.content ?? '';
    // The same text as the judge wrote in-process for request i (assessment JSON, or the raw text of a failure).
    const reference = local[i]!;
    const expected = reference.ok ? JSON.stringify(reference.assessment) : reference.error.raw;
    if (content === expected) sameText++;
    const read = parseAssessment(content, { mode: 'pairwise', modality: 'image' });
    if (!read.ok) return;
    parsed++;
    // The echo of the prompt (the server decodes with its request's prompt): this answer belongs to request i.
    if (read.value.prompt === requests[i]!.prompt) matched++;
    if (reference.ok) {
      if (JSON.stringify(read.value) === JSON.stringify(reference.assessment as PairwiseAssessment)) sameAsInProcess++;
      if (read.value.winner === reference.assessment.winner) sameWinner++;
    }
  });
  const localOk = local.filter((r) => r.ok).length;
  const sorted = [...latencies].sort((a, b) => a - b);
  const figures = {
    requests: requestsCount,
    preset,
    max_batch: maxBatch,
    batch_window_ms: batchWindowMs,
    answered,
    ok_200: succeeded,
    statuses,
    lost: requestsCount - answered,
    duplicated: succeeded - ids.size,
    parsed,
    matched_to_request: matched,
    same_text_as_in_process: sameText,
    same_as_in_process: sameAsInProcess,
    same_winner_as_in_process: sameWinner,
    served_seconds: round(servedSeconds),
    served_requests_per_s: round(requestsCount / servedSeconds),
    latency_ms_p50: round(quantile(sorted, 0.5), 0),
    latency_ms_p95: round(quantile(sorted, 0.95), 0),
    latency_ms_p99: round(quantile(sorted, 0.99), 0),
    latency_ms_max: round(sorted[sorted.length - 1] as number, 0),
    server_batches: server['batches'],
    server_mean_batch: round(requestsCount / (server['batches'] as number)),
    server_largest_batch: server['largestBatch'],
    server_batch_sizes: server.sizes.join(' '),
    in_process_ok: localOk,
    in_process_seconds: round(localSeconds),
    in_process_pairs_per_s: round(requestsCount / localSeconds),
    served_over_in_process_throughput: round(localSeconds / servedSeconds, 3),
    // CPU seconds: robust on a shared machine, where wall times of runs made one after the other are not.
    server_cpu_seconds: round(server['cpuSeconds'] as number),
    in_process_cpu_seconds: round(localCpuSeconds),
    server_cpu_over_in_process: round((server['cpuSeconds'] as number) / localCpuSeconds, 3),
  };
  if (failures.length > 0) console.log(`failures (first 3): ${failures.slice(0, 3).join(' | ')}`);
  console.log(
    `served: ${answered}/${requestsCount} answered (${JSON.stringify(statuses)}), ${figures.duplicated} duplicated, ${matched} matched to their request, ${parsed} parsed; ` +
      `${figures.served_requests_per_s} req/s, p50 ${figures.latency_ms_p50} ms, p95 ${figures.latency_ms_p95} ms, p99 ${figures.latency_ms_p99} ms; ` +
      `${figures.server_batches} batches (mean ${figures.server_mean_batch}, largest ${figures.server_largest_batch})`,
  );
  console.log(`in-process: ${figures.in_process_pairs_per_s} pairs/s in batches of ${maxBatch}; served/in-process throughput ${figures.served_over_in_process_throughput} (wall), CPU ${figures.server_cpu_seconds} s served vs ${figures.in_process_cpu_seconds} s in-process; same text ${sameText}/${succeeded}, same assessment ${sameAsInProcess}/${parsed}, same winner ${sameWinner}/${parsed}`);
  console.log(JSON.stringify(figures));
  model.dispose();
  if (figures.lost > 0 || figures.duplicated > 0 || matched !== parsed || succeeded !== requestsCount) process.exitCode = 1;
}

const run = process.argv.includes('--server') ? serverMain : main;
run().catch((error: unknown) => {
  console.error(`serve-load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
