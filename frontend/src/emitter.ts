/** A tiny typed event emitter: event names and payloads are checked, never strings-and-any. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly handlers: { [K in keyof Events]?: Array<(payload: Events[K]) => void> } = {};

  on<K extends keyof Events>(name: K, fn: (payload: Events[K]) => void): () => void {
    const list = (this.handlers[name] ??= []);
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const fn of this.handlers[name] ?? []) fn(payload);
  }
}
