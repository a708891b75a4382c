/**
 * Tool geometry on bitmaps: brush capsules, polygon scan conversion, enclosed-region fill.
 *
 * Rule shared by every shape: a pixel belongs to a shape when its centre (x + 0.5, y + 0.5)
 * does. That makes results predictable and lets tests compute expected masks independently.
 */
import { type Point, type Rect, EMPTY_RECT, intersect, isEmpty, outerRect, polygonRect } from "./geometry";
import type { Mask } from "./mask";

/** Pixels whose centre is within `radius` of segment a-b, clipped to the image. */
export function capsuleRect(a: Point, b: Point, radius: number, imageW: number, imageH: number): Rect {
  const r = outerRect(Math.min(a.x, b.x) - radius - 0.5, Math.min(a.y, b.y) - radius - 0.5,
    Math.max(a.x, b.x) + radius + 0.5, Math.max(a.y, b.y) + radius + 0.5);
  return intersect(r, { x: 0, y: 0, w: imageW, h: imageH });
}

/** Sets (value 1) or clears (value 0) the capsule a-b of the given radius. Returns the touched rect. */
export function paintCapsule(mask: Mask, a: Point, b: Point, radius: number, value: 0 | 1): Rect {
  const rect = capsuleRect(a, b, radius, mask.imageWidth, mask.imageHeight);
  if (isEmpty(rect)) return EMPTY_RECT;
  if (value === 1) mask.ensure(rect);
  const reg = mask.region;
  const target = value === 1 ? rect : intersect(rect, reg);
  if (isEmpty(target)) return EMPTY_RECT;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const r2 = radius * radius;
  const data = mask.data;
  for (let y = target.y; y < target.y + target.h; y++) {
    const py = y + 0.5;
    const row = (y - reg.y) * reg.w - reg.x;
    for (let x = target.x; x < target.x + target.w; x++) {
      const px = x + 0.5;
      let t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - (a.x + t * dx);
      const ey = py - (a.y + t * dy);
      if (ex * ex + ey * ey <= r2) data[row + x] = value;
    }
  }
  return target;
}

/** Even-odd scan conversion at pixel centres. Returns the touched rect. */
export function fillPolygon(mask: Mask, points: readonly Point[], value: 0 | 1): Rect {
  if (points.length < 3) return EMPTY_RECT;
  const rect = polygonRect(points, mask.imageRect);
  if (isEmpty(rect)) return EMPTY_RECT;
  if (value === 1) mask.ensure(rect);
  const reg = mask.region;
  const xs: number[] = [];
  const n = points.length;
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    const py = y + 0.5;
    xs.length = 0;
    for (let i = 0; i < n; i++) {
      const p = points[i];
      const q = points[(i + 1) % n];
      // Half-open rule on y so a vertex shared by two edges is counted once.
      if ((p.y <= py && q.y > py) || (q.y <= py && p.y > py)) {
        xs.push(p.x + ((py - p.y) / (q.y - p.y)) * (q.x - p.x));
      }
    }
    xs.sort((u, v) => u - v);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel x is inside when xs[k] <= x + 0.5 < xs[k+1].
      const from = Math.max(rect.x, Math.ceil(xs[k] - 0.5));
      const to = Math.min(rect.x + rect.w, Math.ceil(xs[k + 1] - 0.5));
      if (y < reg.y || y >= reg.y + reg.h) continue;
      for (let x = Math.max(from, reg.x); x < Math.min(to, reg.x + reg.w); x++) {
        mask.data[(y - reg.y) * reg.w + (x - reg.x)] = value;
      }
    }
  }
  return rect;
}

export interface Region {
  rect: Rect;
  pixels: Uint8Array; // rect.w * rect.h, 1 where the region is
}

/**
 * The background region (4-connected) around `seed` that the mask encloses completely,
 * or null when the seed is on the mask or the region leaks out to the image border.
 * Works inside the mask's stored region only: anything outside it is background that
 * reaches the border, so touching the region's edge means "not closed".
 */
export function enclosedRegion(mask: Mask, seed: Point): Region | null {
  const reg = mask.region;
  const sx = Math.floor(seed.x) - reg.x;
  const sy = Math.floor(seed.y) - reg.y;
  if (sx < 0 || sy < 0 || sx >= reg.w || sy >= reg.h) return null;
  const w = reg.w;
  const h = reg.h;
  const data = mask.data;
  if (data[sy * w + sx]) return null;
  const seen = new Uint8Array(w * h);
  const stack: number[] = [sy * w + sx];
  seen[sy * w + sx] = 1;
  let minX = sx;
  let maxX = sx;
  let minY = sy;
  let maxY = sy;
  while (stack.length > 0) {
    const i = stack.pop() as number;
    const x = i % w;
    const y = (i - x) / w;
    if (x === 0 || y === 0 || x === w - 1 || y === h - 1) return null;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    const around = [i - 1, i + 1, i - w, i + w];
    for (const j of around) {
      if (!seen[j] && !data[j]) {
        seen[j] = 1;
        stack.push(j);
      }
    }
  }
  const rect = { x: reg.x + minX, y: reg.y + minY, w: maxX - minX + 1, h: maxY - minY + 1 };
  const pixels = new Uint8Array(rect.w * rect.h);
  for (let y = 0; y < rect.h; y++) {
    pixels.set(seen.subarray((minY + y) * w + minX, (minY + y) * w + minX + rect.w), y * rect.w);
  }
  return { rect, pixels };
}

/** Squared distance from p to segment a-b (vertex picking, polygon closing). */
export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
