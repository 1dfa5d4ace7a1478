import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutTimelessEntries } from '../src/runs/trace-entries.js';

describe('trace entries without times: laid out back to back, ending at the report, never before the run', () => {
  const runStart = 1_000_000;
  it('in order, the last ending at the report time', () => {
    const slots = layoutTimelessEntries([{ duration_ms: 300 }, { duration_ms: 200 }, {}], runStart, runStart + 10_000);
    assert.deepEqual(slots, [
      { start: runStart + 9_500, end: runStart + 9_800, clamped: false },
      { start: runStart + 9_800, end: runStart + 10_000, clamped: false },
      { start: runStart + 10_000, end: runStart + 10_000, clamped: false },
    ]);
  });
  it('cut at the run start when they add up to more than the run so far', () => {
    const slots = layoutTimelessEntries(
      [{ duration_ms: 5_000 }, { duration_ms: 2_000 }, { duration_ms: 1_000 }],
      runStart,
      runStart + 1_500,
    );
    assert.deepEqual(slots, [
      { start: runStart, end: runStart, clamped: true },
      { start: runStart, end: runStart + 500, clamped: true },
      { start: runStart + 500, end: runStart + 1_500, clamped: false },
    ]);
  });
  it('entries with their own times take no slot', () => {
    const slots = layoutTimelessEntries([{ started_at: 5_000_000, duration_ms: 10 }, { duration_ms: 100 }], runStart, runStart + 1_000);
    assert.deepEqual(slots, [undefined, { start: runStart + 900, end: runStart + 1_000, clamped: false }]);
  });
});
