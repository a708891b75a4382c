/**
 * Magic wand: the pixels whose colour is within a tolerance of the clicked pixel's, either the
 * 4-connected region around it or (global) everywhere in the image. Rule, shared with the
 * benchmark's robot and the browser test: a pixel joins when max(|r - r0|, |g - g0|, |b - b0|) <=
 * tolerance, (r0, g0, b0) the clicked pixel's colour.
 */
import type { Region } from "./raster";

export interface Pixels {
  width: number;
  height: number;
  /** RGBA, row-major (ImageData's layout). */
  data: Uint8ClampedArray;
}

export function colourRegion(img: Pixels, seedX: number, seedY: number, tolerance: number, contiguous: boolean): Region | null {
  const { width: w, height: h, data } = img;
  const sx = Math.floor(seedX);
  const sy = Math.floor(seedY);
  if (sx < 0 || sy < 0 || sx >= w || sy >= h) return null;
  const s = (sy * w + sx) * 4;
  const r0 = data[s];
  const g0 = data[s + 1];
  const b0 = data[s + 2];
  const near = (i: number): boolean => {
    const o = i * 4;
    return Math.abs(data[o] - r0) <= tolerance && Math.abs(data[o + 1] - g0) <= tolerance && Math.abs(data[o + 2] - b0) <= tolerance;
  };
  const inside = new Uint8Array(w * h);
  let minX = sx;
  let maxX = sx;
  let minY = sy;
  let maxY = sy;
  if (contiguous) {
    // Scanline fill with an explicit stack of seeds: no recursion, each pixel tested at most a few times.
    const stack = new Int32Array(w * h + 1);
    let top = 0;
    stack[top++] = sy * w + sx;
    inside[sy * w + sx] = 1;
    while (top > 0) {
      const i = stack[--top];
      const x = i % w;
      const y = (i - x) / w;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      if (x > 0 && !inside[i - 1] && near(i - 1)) { inside[i - 1] = 1; stack[top++] = i - 1; }
      if (x < w - 1 && !inside[i + 1] && near(i + 1)) { inside[i + 1] = 1; stack[top++] = i + 1; }
      if (y > 0 && !inside[i - w] && near(i - w)) { inside[i - w] = 1; stack[top++] = i - w; }
      if (y < h - 1 && !inside[i + w] && near(i + w)) { inside[i + w] = 1; stack[top++] = i + w; }
    }
  } else {
    minX = w;
    minY = h;
    maxX = -1;
    maxY = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!near(i)) continue;
        inside[i] = 1;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  const rect = { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 };
  const pixels = new Uint8Array(rect.w * rect.h);
  for (let y = 0; y < rect.h; y++) pixels.set(inside.subarray((minY + y) * w + minX, (minY + y) * w + minX + rect.w), y * rect.w);
  return { rect, pixels };
}
