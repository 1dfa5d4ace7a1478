import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { OutboxRelay } from '../../src/export/outbox-relay.js';
import type { ExportResult } from '../../src/telemetry/attributes.js';
import type { RowExporter, RowExportOutcome } from '../../src/export/row-exporter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { OutboxRow } from '../../src/store/run-store.js';
import { FakeClock, outboxSpan as span, RecordingLog } from './fakes.js';

// OutboxRelay in-process: a memory store, a fake exporter answering what each test scripts, a
// clock moved by hand. Each tick() is one relay pass.

/** Answers each export with what `answer` says for that batch, and keeps every batch it saw. */
class ScriptedExporter implements RowExporter {
  readonly batches: string[][] = [];
  constructor(private readonly answer: (names: string[]) => RowExportOutcome) {}
  async export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    const names = rows.map((r) => r.span.name);
    this.batches.push(names);
    return this.answer(names);
  }
  async shutdown(): Promise<void> {}
}

let store: MemoryStore;
let clock: FakeClock;
let log: RecordingLog;
let results: [ExportResult, number][];

function relayWith(exporter: RowExporter, batchSize = 10, intervalMs = 1_000): OutboxRelay {
  return new OutboxRelay({
    store,
    exporter,
    log,
    intervalMs,
    batchSize,
    leaseMs: 30_000,
    maxAgeMs: 7 * 86_400_000,
    maxBackoffMs: 60_000,
    onExported: (result, count) => void results.push([result, count]),
    now: clock.now,
  });
}

async function enqueue(...names: string[]): Promise<void> {
  await store.transact('run', (tx) =>
    tx.enqueue(
      names.map((n) => span(n)),
      clock.time,
    ),
  );
}

beforeEach(async () => {
  store = new MemoryStore();
  await store.init();
  clock = new FakeClock();
  log = new RecordingLog();
  results = [];
});

describe('OutboxRelay', () => {
  it('acks a batch the collector accepted: outbox empty, counted as success', async () => {
    await enqueue('a', 'b', 'c');
    const exporter = new ScriptedExporter(() => ({ ok: true }));
    const relay = relayWith(exporter);
    await relay.tick();
    assert.deepEqual(exporter.batches, [['a', 'b', 'c']]);
    assert.deepEqual(results, [['success', 3]]);
    assert.deepEqual(await store.outboxStats(clock.time), { depth: 0, oldestAgeMs: null });
    assert.equal(relay.delivered, 3);
    assert.equal(relay.depth, 0);
  });

  it('413 splits the batch in halves until the collector takes it; one span still too large is dead-lettered', async () => {
    await enqueue('a', 'b', 'c', 'd', 'huge');
    const exporter = new ScriptedExporter((names) =>
      names.length > 2 || names.includes('huge') ? { ok: false, status: 413, message: 'Payload Too Large' } : { ok: true },
    );
    await relayWith(exporter).tick();
    assert.deepEqual(exporter.batches, [['a', 'b', 'c', 'd', 'huge'], ['a', 'b', 'c'], ['a', 'b'], ['c'], ['d', 'huge'], ['d'], ['huge']]);
    assert.deepEqual(results, [
      ['success', 2],
      ['success', 1],
      ['success', 1],
      ['dead_letter', 1],
    ]);
    const dead = await store.listDeadLetters(10);
    assert.deepEqual(
      dead.map((d) => [d.span.name, d.reason]),
      [['huge', 'HTTP 413: span too large for the collector: Payload Too Large']],
    );
    assert.equal((await store.outboxStats(clock.time)).depth, 0);
  });

  it('400 dead-letters the whole batch with the reason and logs it once', async () => {
    await enqueue('a', 'b');
    await relayWith(new ScriptedExporter(() => ({ ok: false, status: 400, message: 'invalid span id' }))).tick();
    const dead = await store.listDeadLetters(10);
    assert.deepEqual(dead.map((d) => [d.span.name, d.reason]).sort(), [
      ['a', 'HTTP 400: invalid span id'],
      ['b', 'HTTP 400: invalid span id'],
    ]);
    assert.deepEqual(results, [['dead_letter', 2]]);
    assert.equal((await store.outboxStats(clock.time)).depth, 0);
    assert.equal(log.lines.filter((l) => l.msg === 'batch dead-lettered').length, 1);
  });

  it('503 keeps the rows and retries them only after the backoff, then acks', async () => {
    await enqueue('a', 'b');
    let down = true;
    const exporter = new ScriptedExporter(() => (down ? { ok: false, status: 503, message: 'Service Unavailable' } : { ok: true }));
    const relay = relayWith(exporter);
    await relay.tick();
    assert.deepEqual(results, [['retry', 2]]);
    assert.equal(relay.depth, 2);
    assert.equal(await store.countDeadLetters(), 0);

    // first retry: backoff min(60 s, 1 s × 2^1) = 2 s, with jitter between half and all of it
    down = false;
    clock.advance(999);
    await relay.tick();
    assert.equal(exporter.batches.length, 1, 'not claimed again before the shortest backoff');
    clock.advance(1_002);
    await relay.tick();
    assert.equal(exporter.batches.length, 2);
    assert.deepEqual(results, [
      ['retry', 2],
      ['success', 2],
    ]);
    assert.equal((await store.outboxStats(clock.time)).depth, 0);
  });

  it('429 and an error without a status are retried, not dead-lettered', async () => {
    await enqueue('a');
    const answers: RowExportOutcome[] = [
      { ok: false, status: 429, message: 'Too Many Requests' },
      { ok: false, message: 'connect ECONNREFUSED 127.0.0.1:4318' },
      { ok: true },
    ];
    const relay = relayWith(new ScriptedExporter(() => answers.shift()!));
    for (let i = 0; i < 3; i++) {
      await relay.tick();
      clock.advance(60_001);
    }
    assert.deepEqual(results, [
      ['retry', 1],
      ['retry', 1],
      ['success', 1],
    ]);
    assert.equal(await store.countDeadLetters(), 0);
  });

  it('a partial success acks the batch, keeps copies as dead letters with the reason and counts the rejected spans', async () => {
    await enqueue('a', 'b', 'c');
    const relay = relayWith(new ScriptedExporter(() => ({ ok: true, partial: { rejected: 1, message: 'span b: bad attribute' } })));
    await relay.tick();
    assert.deepEqual(results, [
      ['partial_rejected', 1],
      ['success', 2],
    ]);
    assert.equal((await store.outboxStats(clock.time)).depth, 0);
    const dead = await store.listDeadLetters(10);
    assert.deepEqual(dead.map((d) => d.span.name).sort(), ['a', 'b', 'c']);
    assert.equal(dead[0].reason, 'partial success: collector rejected 1 of 3 spans: span b: bad attribute');
  });

  it('rows older than the max age expire undelivered and are counted', async () => {
    await enqueue('old');
    const exporter = new ScriptedExporter(() => ({ ok: false, status: 503, message: 'down' }));
    const relay = relayWith(exporter);
    await relay.tick();
    clock.advance(7 * 86_400_000 + 1);
    await relay.tick();
    assert.deepEqual(results, [
      ['retry', 1],
      ['expired', 1],
    ]);
    assert.equal((await store.outboxStats(clock.time)).depth, 0);
    assert.equal(exporter.batches.length, 1);
  });

  it('drains in batches of batchSize within one pass', async () => {
    await enqueue('a', 'b', 'c', 'd', 'e');
    const exporter = new ScriptedExporter(() => ({ ok: true }));
    await relayWith(exporter, 2).tick();
    assert.deepEqual(exporter.batches, [['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('keeps two batches out at once, never the same row twice, and stops claiming after a batch to retry', async () => {
    await enqueue('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    let out = 0;
    let mostOut = 0;
    const release: (() => void)[] = [];
    const exporter: RowExporter & { batches: string[][] } = {
      batches: [],
      async export(rows) {
        const names = rows.map((r) => r.span.name);
        this.batches.push(names);
        mostOut = Math.max(mostOut, ++out);
        await new Promise<void>((resolve) => release.push(resolve));
        out--;
        // the second batch fails: the collector is overloaded
        return names.includes('c') ? { ok: false, status: 503, message: 'overloaded' } : { ok: true };
      },
      async shutdown() {},
    };
    const pass = relayWith(exporter, 2).tick();
    for (let i = 0; i < 20 && (release.length > 0 || exporter.batches.length < 3); i++) {
      await new Promise((resolve) => setImmediate(resolve));
      release.shift()?.();
    }
    await pass;
    assert.equal(mostOut, 2, 'two batches out at once, no more');
    assert.deepEqual(exporter.batches.slice(0, 2), [
      ['a', 'b'],
      ['c', 'd'],
    ]);
    const sent = exporter.batches.flat();
    assert.equal(new Set(sent).size, sent.length, 'no row claimed twice');
    assert.ok(exporter.batches.length <= 3, `claiming stops after the failed batch: ${JSON.stringify(exporter.batches)}`);
    // acked: a, b (and the third batch, if it went out before the failure was known); c, d wait for their retry
    const left = new Set((await store.claimOutbox('check', 10, 1, clock.time + 3_600_000)).map((r) => r.span.name));
    assert.ok(left.has('c') && left.has('d') && !left.has('a') && !left.has('b'), [...left].join(','));
    assert.equal(left.size, 8 - 2 - (exporter.batches.length === 3 ? 2 : 0));
  });

  it('starts a pass as soon as four full batches are committed, not before, nor after a failed pass', async () => {
    let answer: RowExportOutcome = { ok: true };
    const exporter = new ScriptedExporter(() => answer);
    const relay = relayWith(exporter, 2, 3_600_000); // batches of 2; the interval never comes in this test
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    const commit = async (...names: string[]) => {
      await enqueue(...names);
      relay.noteCommitted(names.length);
      await settle();
    };
    await enqueue('w1', 'w2', 'w3'); // spans waiting from before the start
    relay.start();
    try {
      await settle();
      assert.deepEqual(exporter.batches, [['w1', 'w2'], ['w3']], 'the pass at start drains every waiting span, batch after batch');
      exporter.batches.length = 0;
      await commit('a', 'b', 'c', 'd', 'e', 'f', 'g');
      assert.deepEqual(exporter.batches, [], 'seven spans, not four batches of two: they wait for the interval');
      await commit('h');
      assert.deepEqual(
        exporter.batches,
        [
          ['a', 'b'],
          ['c', 'd'],
          ['e', 'f'],
          ['g', 'h'],
        ],
        'four full batches go out at once',
      );

      answer = { ok: false, status: 503, message: 'overloaded' };
      await commit('i', 'j', 'k', 'l', 'm', 'n', 'o', 'p');
      const afterFailure = exporter.batches.length;
      assert.ok(afterFailure === 5 || afterFailure === 6, `the next pass starts, and stops at the failed batch: ${afterFailure}`);
      answer = { ok: true };
      await commit('q', 'r', 's', 't', 'u', 'v', 'w', 'x');
      assert.equal(exporter.batches.length, afterFailure, 'after a failed pass the relay waits for the interval');
    } finally {
      await relay.stop();
    }
  });
});
