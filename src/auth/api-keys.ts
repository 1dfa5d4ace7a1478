import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, KeyScope, RunStore } from '../store/run-store.js';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return `oprb_${randomBytes(24).toString('base64url')}`;
}

export interface Principal {
  keyId: string;
  projects: readonly string[];
  /** reads runs and /metrics only; every tool call is refused */
  readOnly: boolean;
}

const RELOAD_MS = 2000;

/** API keys from BRIDGE_API_KEYS and the store, held only as SHA-256 hashes. */
export class KeyRing {
  private envKeys: Map<string, Principal>;
  private storeKeys = new Map<string, Principal>();
  /** any key record, revoked ones included: revoking the last key must close the bridge, not open it */
  private anyStored = false;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: RunStore,
    envKeys: { key: string; projects: string[]; readOnly: boolean }[],
  ) {
    this.envKeys = new Map(envKeys.map((k, i) => [hashKey(k.key), { keyId: `env:${i}`, projects: k.projects, readOnly: k.readOnly }]));
  }

  async load(): Promise<void> {
    const keys = await this.store.listApiKeys();
    this.anyStored = keys.length > 0;
    this.storeKeys = new Map(
      keys.filter((k) => k.revoked_at === null).map((k) => [k.hash, { keyId: k.id, projects: k.projects, readOnly: k.scope === 'read' }]),
    );
    this.loadedAt = Date.now();
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt < RELOAD_MS) return;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  /** True once any key exists (even if since revoked): from then on every call needs one. */
  async enabled(): Promise<boolean> {
    await this.fresh();
    return this.envKeys.size > 0 || this.anyStored;
  }

  async authenticate(presented: string): Promise<Principal | undefined> {
    await this.fresh();
    const digest = Buffer.from(hashKey(presented), 'hex');
    let found: Principal | undefined;
    // every stored digest is compared in constant time; no early exit reveals which one matched
    for (const keys of [this.envKeys, this.storeKeys]) {
      for (const [hash, principal] of keys) {
        if (timingSafeEqual(digest, Buffer.from(hash, 'hex'))) found = principal;
      }
    }
    return found;
  }
}

export async function createStoredKey(
  store: RunStore,
  projects: string[],
  label: string | null,
  scope: KeyScope = 'write',
): Promise<{ id: string; key: string }> {
  const key = generateKey();
  const rec: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), projects, created_at: Date.now(), revoked_at: null, label, scope };
  await store.putApiKey(rec);
  return { id: rec.id, key };
}
