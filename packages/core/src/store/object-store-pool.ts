import type { ObjectStore } from './object-store.js';
import { openObjectStore, type OpenObjectStoreOptions } from './open-object-store.js';

/**
 * One open store per URL for a long-running process (worker, dashboard): jobs name their
 * store by URL, and an S3 client is worth reusing across them.
 */
export class ObjectStorePool {
  readonly #stores = new Map<string, ObjectStore>();

  constructor(private readonly options: OpenObjectStoreOptions = {}) {}

  get(url: string): ObjectStore {
    let store = this.#stores.get(url);
    if (!store) {
      store = openObjectStore(url, this.options);
      this.#stores.set(url, store);
    }
    return store;
  }

  urls(): string[] {
    return [...this.#stores.keys()];
  }

  async closeAll(): Promise<void> {
    const stores = [...this.#stores.values()];
    this.#stores.clear();
    await Promise.all(stores.map((s) => s.close()));
  }
}
