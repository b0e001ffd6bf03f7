import type { Logger } from 'pino';

/** A set of listeners where one throwing listener never breaks the agent or the other listeners. */
export class Listeners<T> {
  readonly #set = new Set<(value: T) => void>();
  readonly #log: Logger;
  readonly #name: string;

  constructor(name: string, log: Logger) {
    this.#name = name;
    this.#log = log;
  }

  /** Adds a listener; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  emit(value: T): void {
    for (const l of this.#set) {
      try {
        l(value);
      } catch (err) {
        this.#log.error({ err: (err as Error).message, listener: this.#name }, 'listener threw');
      }
    }
  }
}
