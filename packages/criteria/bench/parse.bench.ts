/**
 * Parser and codec throughput on 1 MB inputs. Prints one line per figure, then one JSON object (last line).
 * The reference is the platform's JSON.parse on the same JSON text, measured in the same run.
 * Run: npm run bench -w @flex/criteria
 */
import { createCompactGrammar, decodeCompact, encodeCompact, parseAssessment } from '../src/index';
import type { PairwiseAssessment } from '../src/index';

function median(run: () => void, repeats = 7): number {
  run(); // warm-up (JIT)
  const times: number[] = [];
  for (let k = 0; k < repeats; k++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const dims = (n: number, text: string) =>
  Array.from({ length: n }, (_, k) => ({ name: `Criterion ${k}`, reason_1: `${text} (1, ${k})`, reason_2: `${text} (2, ${k})`, score_1: k % 11, score_2: 10 - (k % 11) }));
const names = ['Semantic Alignment & Accuracy', 'Image Quality & Realism', 'Aesthetics & Artistry', 'Mood'];
// About 1 MB: 4 categories × 300 criteria × two ~400-character reasons.
const reason = 'The circles are red and sit above the square; edges are slightly soft, "quoted" | barred. '.repeat(4);
const assessment: PairwiseAssessment = {
  prompt: 'three red circles above a blue square',
  categories: names.map((name, c) => ({ name, dims: dims(300, reason), cat_reason: reason, cat_winner: c % 2 === 0 ? 'Image 1' : 'Image 2' })),
  reason,
  winner: 'Image 1',
};
const json = JSON.stringify(assessment, null, 2);
const answer = `Let me compare the two images.\n\`\`\`json\n${json}\n\`\`\`\nImage 1 wins.`;
const options = { modality: 'image' as const, prompt: assessment.prompt };

const jsonParseMs = median(() => JSON.parse(json));
const parseMs = median(() => {
  if (!parseAssessment(answer, options).ok) throw new Error('the bench answer must parse');
});
const broken = answer.replace(/"score_2": (\d+)\n/g, '"score_2": "$1",\n').replace(/\}\n```/, '\n```');
const brokenMs = median(() => parseAssessment(broken, options));
const pathological = ['{"a": "'.repeat(150_000), '"'.repeat(1_000_000), '{'.repeat(1_000_000), '```'.repeat(330_000), ` ${'{ "winner": "Image 1", '.repeat(45_000)}`, `{"categories": [${'{"name": "a", "dims": [], '.repeat(20_000)}`];
const pathologicalMs = Math.max(...pathological.map((text) => median(() => parseAssessment(text, options), 3)));
const compact = encodeCompact(assessment);
const encodeMs = median(() => encodeCompact(assessment));
const decodeMs = median(() => {
  if (!decodeCompact(compact, { prompt: assessment.prompt, modality: 'image', mode: 'pairwise' }).ok) throw new Error('the bench text must decode');
});
const grammarMs = median(() => {
  const grammar = createCompactGrammar({ mode: 'pairwise', modality: 'image', maxCriteria: 300, maxFieldLength: 2000, maxExtraCategories: 1 });
  for (const ch of compact) if (!grammar.feed(ch)) throw new Error('the bench text must follow the grammar');
}, 3);

const figures = {
  input_mb: Number((answer.length / 1e6).toFixed(3)),
  json_parse_ms: Number(jsonParseMs.toFixed(2)),
  parse_valid_ms: Number(parseMs.toFixed(2)),
  parse_vs_json_parse: Number((parseMs / jsonParseMs).toFixed(2)),
  parse_broken_ms: Number(brokenMs.toFixed(2)),
  parse_pathological_max_ms: Number(pathologicalMs.toFixed(2)),
  compact_encode_ms: Number(encodeMs.toFixed(2)),
  compact_decode_ms: Number(decodeMs.toFixed(2)),
  compact_vs_json_chars: Number((compact.length / json.length).toFixed(3)),
  grammar_feed_ns_per_char: Number(((grammarMs * 1e6) / compact.length).toFixed(1)),
};
for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(28)} ${value}`);
console.log(JSON.stringify(figures));
