/**
 * The renderer's way to the tint workers (tint-worker.ts): hands out requests round-robin and
 * calls back with each answer. `TintPool.create` answers null where workers or ImageBitmaps are
 * missing (Vitest's Node, old browsers), and `onError` reports a worker that failed (its script
 * refused, say): either way the renderer tints on the main thread as before.
 */
import type { TintRequest } from "./tint-job";
import type { TintBatch } from "./tint-worker";

export class TintPool {
  private next = 0;

  private constructor(
    private readonly workers: Worker[],
    onBatch: (batch: TintBatch) => void,
    onError: () => void,
  ) {
    for (const w of workers) {
      w.onmessage = (e: MessageEvent<TintBatch>) => onBatch(e.data);
      w.onerror = () => onError();
    }
  }

  /**
   * One worker per spare core, at most 3 (the main thread keeps one; the photo decodes on another
   * thread meanwhile).
   */
  static create(onBatch: (batch: TintBatch) => void, onError: () => void, size?: number): TintPool | null {
    if (typeof Worker !== "function" || typeof createImageBitmap !== "function" || typeof ImageData !== "function") return null;
    const n = size ?? Math.max(1, Math.min(3, (navigator.hardwareConcurrency || 2) - 1));
    try {
      const workers = Array.from({ length: n }, () => new Worker(new URL("./tint-worker.ts", import.meta.url), { type: "module" }));
      return new TintPool(workers, onBatch, onError);
    } catch {
      return null; // e.g. a CSP without worker-src for our origin: tint here instead
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends `requests` spread over the workers in contiguous runs (each answers in order). */
  send(requests: TintRequest[]): void {
    if (requests.length === 0) return;
    const n = this.workers.length;
    const per = Math.ceil(requests.length / n);
    for (let i = 0; i < n && i * per < requests.length; i++) {
      const part = requests.slice(i * per, (i + 1) * per);
      // Decoded pixels travel as transferred copies (no second copy in postMessage).
      this.workers[(this.next + i) % n].postMessage(part, part.flatMap((r) => (r.crop ? [r.crop.data.buffer] : [])));
    }
    this.next = (this.next + 1) % n;
  }

  close(): void {
    for (const w of this.workers) w.terminate();
  }
}
