import type { Media, Modality } from './media';
import type { PairwiseAssessment, PointwiseAssessment } from './schemas';

/**
 * The `Judge` and `Teacher` interfaces: types only. Implementations live elsewhere (the local Flex model and
 * the scalar model in @flex/model, the remote OpenAI-compatible judge, the simulated teacher in @flex/synth).
 */

/** One pairwise request: a prompt and two candidates of the same modality. */
export interface JudgeRequest {
  /** Caller's id, echoed back for bookkeeping. */
  readonly id?: string;
  readonly prompt: string;
  readonly modality: Modality;
  /** Candidate A, shown first ("Image 1" / "Video 1"). */
  readonly a: Media;
  /** Candidate B, shown second ("Image 2" / "Video 2"). */
  readonly b: Media;
}

/** Codes of the expected ways a judge can fail on one request. */
export type JudgeErrorCode =
  | 'parse_error' // the output could not be read as an assessment
  | 'invalid_assessment' // it parsed but breaks the schema beyond repair
  | 'invalid_request' // the request itself is malformed (wrong shapes, NaN, mixed modalities)
  | 'timeout'
  | 'http_error'
  | 'rate_limited'
  | 'circuit_open'
  | 'aborted'
  | 'model_error';

/** An expected failure of one request, as a value. */
export interface JudgeError {
  readonly code: JudgeErrorCode;
  readonly message: string;
  /** The raw model output, when there was one. */
  readonly raw?: string;
}

/** A successful pairwise judgement. */
export interface JudgeSuccess {
  readonly ok: true;
  readonly assessment: PairwiseAssessment;
  /** Probability that candidate A (slot 1) wins overall, in [0, 1]. */
  readonly probabilityA: number;
  /** Per-category probability that A wins, keyed by category id (A, B, C, D…), when known. */
  readonly categoryProbabilityA?: Readonly<Record<string, number>>;
  /** The raw text the judge wrote, when it wrote text. */
  readonly raw?: string;
  /** Faults that were repaired while reading the output. */
  readonly warnings?: readonly { code: string; message: string; path?: string }[];
}

/** A failed pairwise judgement. */
export interface JudgeFailure {
  readonly ok: false;
  readonly error: JudgeError;
}

/** The result of one request: never a thrown exception for a bad output. */
export type JudgeResult = JudgeSuccess | JudgeFailure;

/** Options every judge call accepts. */
export interface JudgeCallOptions {
  /** Cancels outstanding work; results for unfinished requests become `aborted` failures. */
  readonly signal?: AbortSignal;
}

/** A pairwise judge: batch in, one result per request out, in order. */
export interface Judge {
  /** A short human-readable name ("flex-sft", "bradley-terry", "remote:gpt-4o"). */
  readonly name: string;
  judge(requests: readonly JudgeRequest[], options?: JudgeCallOptions): Promise<JudgeResult[]>;
}

/** One pointwise request: a prompt and one candidate. */
export interface PointwiseRequest {
  readonly id?: string;
  readonly prompt: string;
  readonly modality: Modality;
  readonly media: Media;
}

/** The result of one pointwise request. */
export type PointwiseResult =
  | { readonly ok: true; readonly assessment: PointwiseAssessment; readonly score: number; readonly raw?: string }
  | JudgeFailure;

/** A pointwise judge: scores each candidate alone on a 0–10 scale. */
export interface PointwiseJudge {
  readonly name: string;
  score(requests: readonly PointwiseRequest[], options?: JudgeCallOptions): Promise<PointwiseResult[]>;
}

/**
 * A teacher request: a judge request plus, optionally, the producer's own record of the pair (the simulated
 * teacher of @flex/synth perceives from it; a remote teacher ignores it).
 */
export interface TeacherRequest<TRecord = unknown> extends JudgeRequest {
  readonly record?: TRecord;
}

/** The stronger judge that distillation asks for reasoning traces. */
export interface Teacher<TRecord = unknown> {
  readonly name: string;
  assess(requests: readonly TeacherRequest<TRecord>[], options?: JudgeCallOptions): Promise<JudgeResult[]>;
}
