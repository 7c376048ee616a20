import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures and refuses attempts during the cool-down', () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: clock.now });
    for (let i = 0; i < 2; i++) breaker.tryAcquire()!.failure();
    expect(breaker.state).toBe('closed');
    breaker.tryAcquire()!.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.advance(400);
    expect(breaker.retryInMs).toBe(600);
    expect(breaker.tryAcquire()).toBeUndefined();
  });
  it('a success resets the count of consecutive failures', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 10, now: fakeClock().now });
    breaker.tryAcquire()!.failure();
    breaker.tryAcquire()!.success();
    breaker.tryAcquire()!.failure();
    expect(breaker.state).toBe('closed');
  });
  it('lets exactly one probe through when half-open; its success closes, its failure re-opens', () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: clock.now });
    breaker.tryAcquire()!.failure();
    clock.advance(100);
    expect(breaker.state).toBe('half-open');
    const probe = breaker.tryAcquire()!;
    expect(probe.probe).toBe(true);
    expect(breaker.tryAcquire()).toBeUndefined(); // a second caller during the probe is refused
    probe.failure();
    expect(breaker.state).toBe('open');
    clock.advance(99);
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.advance(1);
    const second = breaker.tryAcquire()!;
    second.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()?.probe).toBe(false);
  });
  it('a released probe lets the next caller probe again; releases do not count as failures', () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 50, now: clock.now });
    for (let i = 0; i < 5; i++) {
      const permit = breaker.tryAcquire()!;
      permit.release();
      permit.failure(); // a permit settles once: this is ignored
    }
    expect(breaker.state).toBe('closed');
    breaker.tryAcquire()!.failure();
    clock.advance(50);
    breaker.tryAcquire()!.release();
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });
  it('rejects bad settings', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, cooldownMs: -1 })).toThrow(RangeError);
  });
});
