/**
 * Secret redaction for every text that leaves the bridge (and is stored): summaries,
 * prompt previews, errors, context and meta values.
 */
const RULES: [kind: string, pattern: RegExp][] = [
  ['private_key', /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g],
  ['jwt', /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g],
  ['bearer', /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}/g],
  ['url_password', /(?<=[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+(?=@)/gi],
  ['api_key', /\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}/g],
  ['api_key', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g],
  ['api_key', /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g],
  ['api_key', /\bgithub_pat_[A-Za-z0-9_]{40,}\b/g],
  ['api_key', /\bxox[abposr]-[A-Za-z0-9-]{10,}/g],
  ['api_key', /\bAIza[0-9A-Za-z_-]{35}\b/g],
];

/** Quick pre-check: most texts contain none of these markers and skip the regexes entirely. */
const MARKERS = /BEGIN|eyJ|earer|:\/\/|sk-|pk-|rk-|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza/;

export function redactText(text: string): string {
  if (!MARKERS.test(text)) return text;
  let out = text;
  for (const [kind, re] of RULES) out = out.replace(re, `[REDACTED:${kind}]`);
  return out;
}

/** Redacts every string inside a JSON value (keys are kept). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v);
    return out as T;
  }
  return value;
}
