import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { BridgeError } from '../errors.js';
import type { ApiKeyRecord, KeyScope, RunStore } from '../store/run-store.js';
import { LoginThrottle } from './login-throttle.js';

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
    private readonly store: Pick<RunStore, 'listApiKeys'>,
    envKeys: { key: string; projects: string[]; readOnly: boolean }[],
    private readonly throttle = new LoginThrottle(0),
  ) {
    this.envKeys = new Map(envKeys.map((k, i) => [hashKey(k.key), { keyId: `env:${i}`, projects: k.projects, readOnly: k.readOnly }]));
  }

  async load(): Promise<void> {
    // the time before the read: a key revoked before it is refused from now on, whatever the read takes
    const readAt = Date.now();
    const keys = await this.store.listApiKeys();
    this.anyStored = keys.length > 0;
    this.storeKeys = new Map(
      keys.filter((k) => k.revoked_at === null).map((k) => [k.hash, { keyId: k.id, projects: k.projects, readOnly: k.scope === 'read' }]),
    );
    this.loadedAt = readAt;
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

  /**
   * The key's principal, or undefined for an unknown or revoked key. With the caller's address, too
   * many failures from it throw 429 rate_limited before the key is even compared.
   */
  async authenticate(presented: string, address?: string): Promise<Principal | undefined> {
    const wait = address === undefined ? 0 : this.throttle.waitSeconds(address);
    if (wait > 0)
      throw new BridgeError('rate_limited', `too many failed API-key attempts from this address; retry in ${wait} s`, undefined, wait);
    await this.fresh();
    const digest = Buffer.from(hashKey(presented), 'hex');
    let found: Principal | undefined;
    // every stored digest is compared in constant time; no early exit reveals which one matched
    for (const keys of [this.envKeys, this.storeKeys]) {
      for (const [hash, principal] of keys) {
        if (timingSafeEqual(digest, Buffer.from(hash, 'hex'))) found = principal;
      }
    }
    if (!found && address !== undefined) this.throttle.failed(address);
    return found;
  }
}

export async function createStoredKey(
  store: Pick<RunStore, 'putApiKey'>,
  projects: string[],
  label: string | null,
  scope: KeyScope = 'write',
): Promise<{ id: string; key: string }> {
  const key = generateKey();
  const rec: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), projects, created_at: Date.now(), revoked_at: null, label, scope };
  await store.putApiKey(rec);
  return { id: rec.id, key };
}
