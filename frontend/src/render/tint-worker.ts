/**
 * The tint worker: tints masks that are still RLE (tint-job.ts) off the main thread and answers
 * with one ImageBitmap per mask, in batches of ~8 ms of work, so opening 1,000 masks or
 * re-tinting them after a zoom leaves the main thread free for input and frames.
 * Why a bitmap per mask and not one atlas per batch: in Chromium's software canvas, drawing
 * parts of a large atlas made every full redraw of 1,000 tints 5-10x slower, and copying each
 * tint out of it into a canvas of its own cost the main thread ~0.12 ms a mask.
 */
import { type TintPixels, type TintRequest, runTintRequest } from "./tint-job";

/** One answered tint: the mask's region and its tint (null: the mask is empty). */
export interface TintPlace {
  key: number;
  seq: number;
  f: number;
  region: { x: number; y: number; w: number; h: number };
  bitmap: ImageBitmap | null;
}

/** One message back: the tints of ~8 ms of work. */
export interface TintBatch {
  places: TintPlace[];
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<TintRequest[]>) => void) | null;
  postMessage(message: TintBatch, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
const BATCH_MS = 8;

scope.onmessage = (event) => answer(event.data);

function answer(requests: TintRequest[]): void {
  let batch: Array<{ req: TintRequest; px: TintPixels }> = [];
  let started = performance.now();
  for (const req of requests) {
    const px = runTintRequest(req);
    batch.push({ req, px });
    if (performance.now() - started > BATCH_MS) {
      send(batch);
      batch = [];
      started = performance.now();
    }
  }
  send(batch);
}

function send(batch: Array<{ req: TintRequest; px: TintPixels }>): void {
  if (batch.length === 0) return;
  // createImageBitmap of an ImageData: ~0.1 ms a mask; an OffscreenCanvas' putImageData +
  // transferToImageBitmap cost ~0.5 ms a mask here.
  void Promise.all(batch.map(({ px }) => (px.region.w === 0 || px.region.h === 0 ? null : createImageBitmap(new ImageData(px.data, px.w, px.h)))))
    .then((bitmaps) => {
      const places: TintPlace[] = batch.map(({ req, px }, i) => ({ key: req.key, seq: req.seq, f: req.f, region: px.region, bitmap: bitmaps[i] }));
      scope.postMessage({ places }, bitmaps.filter((b): b is ImageBitmap => b !== null));
    });
}
