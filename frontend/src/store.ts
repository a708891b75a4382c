/** A typed value that says when it changed: the editor's own state (tool, class, brush, image). */
import { Emitter } from "./emitter";

export class Store<T extends object> {
  readonly events = new Emitter<{ changed: Readonly<T> }>();

  constructor(private current: T) {}

  get value(): Readonly<T> {
    return this.current;
  }

  update(patch: Partial<T>): void {
    this.current = { ...this.current, ...patch };
    this.events.emit("changed", this.current);
  }
}
