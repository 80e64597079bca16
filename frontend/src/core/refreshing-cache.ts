/**
 * A cache that serves a stale entry while it reloads it in the background, so the request that
 * finds its entry past `freshMs` does not wait for the load (a metadata round trip of several
 * milliseconds). Only a missing entry, one older than `maxStaleMs`, or an explicit refresh (after
 * a routing failure) waits for a load. Pure apart from the injected `load` and clock.
 */

export interface RefreshingCacheOptions {
  /** An entry younger than this is served as it is. */
  freshMs: number;
  /** An entry older than this is not served: the caller waits for a load. */
  maxStaleMs: number;
  now?: () => number;
  /** Whether a failed load means the thing is gone (the entry is dropped); else it is served until `maxStaleMs`. */
  forgetOnError?: (error: unknown) => boolean;
}

interface Entry<V> {
  value: V;
  at: number;
  /** The load that produced it, so an older load finishing late cannot replace a newer value. */
  generation: number;
}

export class RefreshingCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Loads in flight that callers may share (background refreshes and first loads). */
  private readonly shared = new Map<string, Promise<V>>();
  private generation = 0;
  /** Loads started before the last delete store nothing: they may have read what was deleted. */
  private floor = 0;
  private readonly now: () => number;

  constructor(private readonly load: (key: string) => Promise<V>, private readonly options: RefreshingCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The value for `key`; `refresh` waits for a load started now, whatever is cached. */
  async get(key: string, refresh = false): Promise<V> {
    if (refresh) return this.loadNow(key);
    const entry = this.entries.get(key);
    if (entry) {
      const age = this.now() - entry.at;
      if (age < this.options.freshMs) return entry.value;
      if (age < this.options.maxStaleMs) {
        // A failed background load has already dropped the entry if the thing is gone.
        if (!this.shared.has(key)) this.share(key).catch(() => {});
        return entry.value;
      }
    }
    return this.shared.get(key) ?? this.share(key);
  }

  /** Stores a value known to be current (a write the caller just made). */
  set(key: string, value: V): void {
    this.entries.set(key, { value, at: this.now(), generation: ++this.generation });
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.shared.delete(key);
    this.floor = ++this.generation;
  }

  private share(key: string): Promise<V> {
    const promise = this.loadNow(key).finally(() => {
      if (this.shared.get(key) === promise) this.shared.delete(key);
    });
    this.shared.set(key, promise);
    return promise;
  }

  private async loadNow(key: string): Promise<V> {
    const generation = ++this.generation;
    try {
      const value = await this.load(key);
      const current = this.entries.get(key);
      if (generation > this.floor && (!current || current.generation < generation)) this.entries.set(key, { value, at: this.now(), generation });
      return value;
    } catch (error) {
      const current = this.entries.get(key);
      if (current && current.generation < generation && this.options.forgetOnError?.(error)) this.entries.delete(key);
      throw error;
    }
  }
}
