/** Listeners keyed by function name; a throwing listener never stops the others. */
export class Listeners<T> {
  readonly #byKey = new Map<string, Set<(value: T) => void>>();

  add(key: string, listener: (value: T) => void): () => void {
    let set = this.#byKey.get(key);
    if (!set) this.#byKey.set(key, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#byKey.get(key) === set) this.#byKey.delete(key);
    };
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  emit(key: string, value: T): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const listener of set) {
      try { listener(value); } catch { /* a listener's fault is its own */ }
    }
  }

  clear(): void {
    this.#byKey.clear();
  }
}
