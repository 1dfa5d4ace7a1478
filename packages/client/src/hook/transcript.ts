import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** One assistant message's usage, in the bridge's fields (cache parts inside input_tokens). */
export interface MessageUsage {
  id: string;
  model: string;
  timestamp?: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

interface TranscriptLine {
  type?: string;
  timestamp?: string;
  message?: { id?: string; model?: string; usage?: Record<string, unknown> };
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

/**
 * Assistant messages found in the transcript (JSONL) from byte `offset` on, one per message id:
 * Claude Code writes a message once per content block, repeating its id and usage, so the
 * largest figure per field wins. Returns the offset after the last complete line.
 */
export function readAssistantMessages(path: string, offset: number): { messages: MessageUsage[]; offset: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { messages: [], offset };
  }
  try {
    const size = fstatSync(fd).size;
    const from = size < offset ? 0 : offset; // a shorter file is a new transcript: read it whole
    const buffer = Buffer.alloc(size - from);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    const end = buffer.lastIndexOf(0x0a, read - 1) + 1; // a line still being written waits for the next call
    const byId = new Map<string, MessageUsage>();
    for (const raw of buffer.subarray(0, end).toString('utf8').split('\n')) {
      if (!raw.trim()) continue;
      let line: TranscriptLine;
      try {
        line = JSON.parse(raw) as TranscriptLine;
      } catch {
        continue;
      }
      const m = line.message;
      if (line.type !== 'assistant' || !m?.id || !m.usage || !m.model || m.model === '<synthetic>') continue;
      const input = count(m.usage.input_tokens);
      const cacheRead = count(m.usage.cache_read_input_tokens);
      const cacheWrite = count(m.usage.cache_creation_input_tokens);
      // Anthropic counts cache reads and writes outside input_tokens; the bridge (like the GenAI conventions) inside
      const next: MessageUsage = {
        id: m.id,
        model: m.model,
        timestamp: line.timestamp,
        input_tokens: input + cacheRead + cacheWrite,
        output_tokens: count(m.usage.output_tokens),
        cache_read_input_tokens: cacheRead,
        cache_creation_input_tokens: cacheWrite,
      };
      const seen = byId.get(m.id);
      byId.set(
        m.id,
        seen
          ? {
              ...seen,
              timestamp: next.timestamp ?? seen.timestamp,
              input_tokens: Math.max(seen.input_tokens, next.input_tokens),
              output_tokens: Math.max(seen.output_tokens, next.output_tokens),
              cache_read_input_tokens: Math.max(seen.cache_read_input_tokens, next.cache_read_input_tokens),
              cache_creation_input_tokens: Math.max(seen.cache_creation_input_tokens, next.cache_creation_input_tokens),
            }
          : next,
      );
    }
    return { messages: [...byId.values()], offset: from + end };
  } finally {
    closeSync(fd);
  }
}
