import { calcPrice, findProvider, type Usage } from '@pydantic/genai-prices';
import type { TokenUsage } from '../tools/schemas.js';
import { roundCost, type CostCalculator, type PriceResult } from './totals.js';

/** genai-prices provider ids → `gen_ai.provider.name` well-known values (an open enum: others pass through). */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'gcp.gen_ai',
  aws: 'aws.bedrock',
  azure: 'azure.ai.openai',
  mistral: 'mistral_ai',
  'x-ai': 'x_ai',
  deepseek: 'deepseek',
  groq: 'groq',
  cohere: 'cohere',
  perplexity: 'perplexity',
};

/** The token counts this bridge knows, as the library's usage shape. */
export type PricedTokens = Pick<
  TokenUsage,
  'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens' | 'reasoning_output_tokens'
>;

/**
 * token_usage → genai-prices `Usage`.
 *
 * The library (like the GenAI semantic conventions for `gen_ai.usage.input_tokens`) counts cache reads and
 * cache writes *inside* `input_tokens` and reasoning *inside* `output_tokens`; the parts only re-price a share
 * of the total. The bridge takes the same reading. Anthropic's API reports `input_tokens` *without* its
 * `cache_read_input_tokens` / `cache_creation_input_tokens`, though: when the cache parts exceed
 * `input_tokens` that reading is impossible, so the parts are added to it instead (likewise reasoning
 * tokens above `output_tokens`). Below that, an Anthropic-style report is priced as if its cache tokens
 * were part of the input: under-priced by at most their share, never rejected.
 */
export function toLibraryUsage(u: PricedTokens): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const reasoning = u.reasoning_output_tokens ?? 0;
  let input = u.input_tokens ?? 0;
  let output = u.output_tokens ?? 0;
  if (cacheRead + cacheWrite > input) input += cacheRead + cacheWrite;
  if (reasoning > output) output += reasoning;
  const usage: Usage = { input_tokens: input, output_tokens: output };
  if (cacheRead) usage.cache_read_tokens = cacheRead;
  if (cacheWrite) usage.cache_write_tokens = cacheWrite;
  if (reasoning) usage.output_reasoning_tokens = reasoning;
  return usage;
}

/** `provider/model` or `provider:model` naming a provider the library knows → its id and the bare model. */
function splitProvider(model: string): { providerId: string; model: string } | undefined {
  const m = /^([A-Za-z0-9_.-]+)[/:](.+)$/.exec(model);
  if (!m) return undefined;
  const provider = findProvider({ providerId: m[1] });
  return provider ? { providerId: provider.id, model: m[2] } : undefined;
}

/**
 * Prices token usage with `@pydantic/genai-prices`' bundled data. The library only fetches newer prices
 * when `updatePrices` is set up; the bridge never calls it, so pricing never touches the network and a
 * figure only changes with the package version.
 */
export class GenAiPricesCalculator implements CostCalculator {
  constructor(private readonly at: () => Date = () => new Date()) {}

  price(model: string, usage: PricedTokens): PriceResult | undefined {
    const libUsage = toLibraryUsage(usage);
    const split = splitProvider(model);
    const result = this.calc(libUsage, model) ?? (split ? this.calc(libUsage, split.model, split.providerId) : null);
    if (!result || !Number.isFinite(result.total_price) || result.total_price < 0) return undefined;
    const parts = Number.isFinite(result.input_price) && Number.isFinite(result.output_price);
    return {
      cost_usd: roundCost(result.total_price),
      provider: PROVIDER_NAMES[result.provider.id] ?? result.provider.id,
      ...(parts ? { prompt: roundCost(result.input_price), completion: roundCost(result.output_price) } : {}),
    };
  }

  /** The provider the pricing data gives a model (`gen_ai.provider.name` value), also without usage to price. */
  providerOf(model: string): string | undefined {
    const id = splitProvider(model)?.providerId ?? findProvider({ modelId: model })?.id;
    return id ? (PROVIDER_NAMES[id] ?? id) : undefined;
  }

  private calc(usage: Usage, model: string, providerId?: string) {
    try {
      return calcPrice(usage, model, { timestamp: this.at(), ...(providerId ? { providerId } : {}) });
    } catch {
      // the library throws on usage it cannot decompose; such a batch's cost is simply unknown
      return null;
    }
  }
}
