/**
 * A circuit breaker that stops hammering a dead server.
 *
 * closed → (N consecutive failures) → open → (cool-down elapsed) → half-open: exactly one probe is let
 * through; its success closes the circuit, its failure opens it again for another cool-down. While open (or
 * while the half-open probe is in flight) every other attempt is refused at once.
 */

/** The breaker's state. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Settings of a {@link CircuitBreaker}. */
export interface CircuitBreakerSettings {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before a probe is allowed, in milliseconds. */
  readonly cooldownMs: number;
  /** Monotonic clock in milliseconds; default `performance.now`. */
  readonly now?: () => number;
}

/** A permit to send one attempt; report its outcome exactly once. */
export interface CircuitPermit {
  /** True when this attempt is the half-open probe. */
  readonly probe: boolean;
  /** The server answered (any HTTP response that proves it is alive and sane). */
  success(): void;
  /** The server failed (timeout, dropped connection, 5xx, malformed body). */
  failure(): void;
  /** The attempt ended without telling anything about the server (aborted by the caller, rate limited). */
  release(): void;
}

/** Counts consecutive failures across every request of one remote judge. */
export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private consecutiveFailures = 0;
  private openedAt = 0;
  private stateValue: CircuitState = 'closed';
  private probeInFlight = false;

  constructor(settings: CircuitBreakerSettings) {
    if (!Number.isInteger(settings.failureThreshold) || settings.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be a positive integer, got ${settings.failureThreshold}`);
    }
    if (!(settings.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be >= 0, got ${settings.cooldownMs}`);
    this.failureThreshold = settings.failureThreshold;
    this.cooldownMs = settings.cooldownMs;
    this.now = settings.now ?? (() => performance.now());
  }

  /** The current state (an open circuit whose cool-down has elapsed reads as half-open). */
  get state(): CircuitState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.stateValue;
  }

  /** Milliseconds until a probe is allowed (0 unless open). */
  get retryInMs(): number {
    if (this.stateValue !== 'open') return 0;
    return Math.max(0, this.cooldownMs - (this.now() - this.openedAt));
  }

  /** Asks to send one attempt: a permit, or undefined when the circuit refuses it. */
  tryAcquire(): CircuitPermit | undefined {
    const state = this.state;
    if (state === 'closed') return this.permit(false);
    if (state === 'half-open' && !this.probeInFlight) {
      this.stateValue = 'half-open';
      this.probeInFlight = true;
      return this.permit(true);
    }
    return undefined;
  }

  private permit(probe: boolean): CircuitPermit {
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'release') => {
      if (settled) return;
      settled = true;
      if (probe) this.probeInFlight = false;
      if (outcome === 'success') {
        this.consecutiveFailures = 0;
        this.stateValue = 'closed';
      } else if (outcome === 'failure') {
        this.consecutiveFailures += 1;
        if (probe || this.consecutiveFailures >= this.failureThreshold) {
          this.stateValue = 'open';
          this.openedAt = this.now();
        }
      } else if (probe) {
        // A probe that told us nothing: let the next attempt probe again.
        this.stateValue = 'open';
        this.openedAt = this.now() - this.cooldownMs;
      }
    };
    return { probe, success: () => settle('success'), failure: () => settle('failure'), release: () => settle('release') };
  }
}
