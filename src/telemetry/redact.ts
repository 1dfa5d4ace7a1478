/**
 * Secret redaction for every text that leaves the bridge (and is stored): summaries,
 * prompt previews, errors, context and meta values and keys.
 */
const hasDigit = (s: string) => /\d/.test(s);

/**
 * kind, pattern and, for shapes that prose can take too, a test the whole match must pass. A rejected
 * match is skipped whole, so the scan stays linear even on hostile input like "sk-sk-sk-…".
 */
const RULES: [kind: string, pattern: RegExp, accept?: (match: string) => boolean][] = [
  ['private_key', /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g],
  // starts only where a base64url run starts (not after "-" as \b would): "eyJ-eyJ-eyJ-…" would
  // otherwise rescan the rest of the run from every "eyJ", quadratic in its length
  ['jwt', /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g],
  // a token with a digit, or a long one: "the bearer of this letter" stays readable
  [
    'bearer',
    /\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
    (m) => {
      const token = m.split(/\s+/)[1];
      return hasDigit(token) || token.length >= 20;
    },
  ],
  ['url_password', /(?<=[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+(?=@)/gi],
  // OpenAI/Anthropic-style keys: a digit and a random run of 10+, so "sk-learn-preprocessing-pipeline" is kept
  ['api_key', /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{20,}/g, (m) => hasDigit(m) && /[A-Za-z0-9]{10}/.test(m)],
  ['api_key', /\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g],
  ['api_key', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g],
  ['api_key', /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g],
  ['api_key', /\bgithub_pat_[A-Za-z0-9_]{40,}\b/g],
  ['api_key', /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, hasDigit],
  ['api_key', /\bAIza[0-9A-Za-z_-]{35}\b/g],
];

/** Quick pre-check: most texts contain none of these markers and skip the regexes entirely. */
const MARKERS = /BEGIN|eyJ|earer|:\/\/|[spr]k[-_]|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza/i;

/** An optional text redacted, or null when absent (a run's summaries). */
export function redactOptional(text: string | undefined): string | null {
  return text === undefined ? null : redactText(text);
}

export function redactText(text: string): string {
  if (!MARKERS.test(text)) return text;
  let out = text;
  for (const [kind, re, accept] of RULES) out = out.replace(re, (m) => (!accept || accept(m) ? `[REDACTED:${kind}]` : m));
  return out;
}

/**
 * Redacts every string inside a JSON value, object keys included (a secret used as a key is still
 * a secret). Copy on write: a value with nothing to redact comes back as it is, so the usual call
 * builds no copies.
 */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = redactValue(value[i] as unknown);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return (out ?? value) as T;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    let entries: [string, unknown][] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = redactText(keys[i]);
      const v = redactValue(obj[keys[i]]);
      if (v !== obj[keys[i]] || k !== keys[i]) (entries ??= Object.entries(obj))[i] = [k, v];
    }
    // fromEntries defines own properties: a "__proto__" key stays data and never becomes a prototype
    return (entries ? Object.fromEntries(entries) : value) as T;
  }
  return value;
}
