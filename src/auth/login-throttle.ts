/**
 * Failed API-key attempts per client address: past `limit` failures within a minute, the address
 * is answered 429 until that minute is over, whatever key it sends, so guessing keys costs a
 * minute per `limit` guesses. Other addresses are not affected, and successful calls never count.
 */
export class LoginThrottle {
  static readonly WINDOW_MS = 60_000;
  private windows = new Map<string, { from: number; failures: number }>();

  /** limit 0 turns the throttle off */
  constructor(private readonly limit: number) {}

  /** Seconds the address must wait, or 0 when it may try a key. */
  waitSeconds(address: string, now = Date.now()): number {
    const w = this.windows.get(address);
    if (!w || this.limit <= 0) return 0;
    const left = w.from + LoginThrottle.WINDOW_MS - now;
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  failed(address: string, now = Date.now()): void {
    if (this.limit <= 0) return;
    let w = this.windows.get(address);
    if (!w || now - w.from >= LoginThrottle.WINDOW_MS) {
      if (this.windows.size >= 100_000) this.forgetExpired(now);
      this.windows.set(address, (w = { from: now, failures: 0 }));
    }
    w.failures += 1;
  }

  private forgetExpired(now: number): void {
    for (const [address, w] of this.windows) if (now - w.from >= LoginThrottle.WINDOW_MS) this.windows.delete(address);
    // a flood from more addresses than this: start over rather than grow without bound
    if (this.windows.size >= 100_000) this.windows.clear();
  }
}
