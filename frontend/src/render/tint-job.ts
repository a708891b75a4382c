/**
 * One whole tint of one mask as a plain job: the request a tint worker is sent, and the pixels it
 * answers with. The main thread and the worker (tint-worker.ts) run the same `tintWhole`, so a
 * tint made off the main thread is the tint the renderer would have made itself, pixel for pixel.
 * Pure (no DOM).
 */
import { type Rect, isEmpty } from "../geometry";
import { Mask } from "../mask";
import { type TintStyle, tintLevelRect, tintRect } from "./tint";

/** A mask to tint at level `f` (1 = full resolution): its server RLE while it is still only that,
 * else a copy of its decoded pixels (an edited mask re-tinted after a zoom). */
export interface TintRequest {
  key: number;
  /** Ties an answer to its request: a newer request for the same key makes older answers stale. */
  seq: number;
  /** The RLE counts; "" when `crop` is given. */
  counts: string;
  crop?: { region: Rect; data: Uint8Array };
  width: number;
  height: number;
  f: number;
  style: TintStyle;
}

/** A finished tint: the mask's region (image pixels) and its RGBA at level f. */
export interface TintPixels {
  region: Rect;
  w: number;
  h: number;
  /** w * h * 4, straight (not premultiplied) alpha; empty when the mask is. */
  data: Uint8ClampedArray<ArrayBuffer>;
}

/** Size of the tint canvas of `region` at level `f`. */
export function levelSize(region: Rect, f: number): { w: number; h: number } {
  return { w: Math.max(1, Math.ceil(region.w / f)), h: Math.max(1, Math.ceil(region.h / f)) };
}

/** The whole tint of `mask` at level f: what the renderer puts into a fresh tint canvas. */
export function tintWhole(mask: Mask, f: number, style: TintStyle): TintPixels {
  const region = mask.region;
  const { w, h } = levelSize(region, f);
  if (isEmpty(region)) return { region: { ...region }, w, h, data: new Uint8ClampedArray(w * h * 4) };
  const data = new Uint8ClampedArray(w * h * 4);
  if (f === 1) tintRect(mask, region, style, data);
  else tintLevelRect(mask, f, { x: 0, y: 0, w, h }, style, data);
  return { region: { ...region }, w, h, data };
}

/** The worker's side of a request: decode nothing but what the level needs, tint it. */
export function runTintRequest(req: TintRequest): TintPixels {
  const mask = req.crop
    ? new Mask(req.width, req.height, req.crop.region, req.crop.data)
    : Mask.fromRle({ size: [req.height, req.width], counts: req.counts });
  return tintWhole(mask, req.f, req.style);
}
