/**
 * Turns a mask into coloured RGBA pixels: filled interior at the chosen opacity, an opaque
 * outline, and for model proposals a hatched interior with a dashed outline so they read as
 * "not yet accepted" at a glance. Pure (no DOM), so it is unit-testable and reusable for
 * dirty rectangles: it only reads the pixels around `rect`.
 */
import type { Rect } from "../geometry";
import type { Mask } from "../mask";

export interface TintStyle {
  rgb: [number, number, number];
  /** Interior alpha 0..255 (0 = outline-only view). */
  fillAlpha: number;
  proposal: boolean;
  /** Outline thickness in image pixels. */
  outline: number;
  /** Period of hatch stripes and outline dashes, in image pixels. */
  period: number;
}

/**
 * Writes RGBA for the image pixels of `rect` into `out` (rect.w * rect.h * 4).
 * Outline = foreground pixels within `outline` (Chebyshev) of background, computed with two
 * running-window passes so the cost is O(area), independent of the thickness.
 */
export function tintRect(mask: Mask, rect: Rect, style: TintStyle, out: Uint8ClampedArray): void {
  const t = style.outline;
  const ex = rect.x - t;
  const ey = rect.y - t;
  const ew = rect.w + 2 * t;
  const eh = rect.h + 2 * t;
  const on = mask.read({ x: ex, y: ey, w: ew, h: eh });
  // Horizontal erosion: hok = all of [x-t, x+t] on (windows clipped at the edge of the buffer,
  // which only affects pixels outside `rect`).
  const hok = new Uint8Array(ew * eh);
  const win = 2 * t + 1;
  for (let y = 0; y < eh; y++) {
    const row = y * ew;
    let count = 0;
    for (let x = 0; x < Math.min(t, ew); x++) count += on[row + x];
    for (let x = 0; x < ew; x++) {
      const add = x + t;
      const drop = x - t - 1;
      if (add < ew) count += on[row + add];
      if (drop >= 0) count -= on[row + drop];
      hok[row + x] = count === win ? 1 : 0;
    }
  }
  const [r, g, b] = style.rgb;
  const period = Math.max(2, style.period);
  const half = period >> 1;
  const colCount = new Int32Array(ew);
  for (let y = 0; y < Math.min(t, eh); y++) for (let x = 0; x < ew; x++) colCount[x] += hok[y * ew + x];
  for (let y = 0; y < eh; y++) {
    const add = y + t;
    const drop = y - t - 1;
    if (add < eh) for (let x = 0; x < ew; x++) colCount[x] += hok[add * ew + x];
    if (drop >= 0) for (let x = 0; x < ew; x++) colCount[x] -= hok[drop * ew + x];
    if (y < t || y >= t + rect.h) continue;
    const iy = ey + y;
    let o = (y - t) * rect.w * 4;
    for (let x = t; x < t + rect.w; x++, o += 4) {
      const i = y * ew + x;
      if (!on[i]) {
        out[o + 3] = 0;
        continue;
      }
      const interior = colCount[x] === win;
      const d = (ex + x + iy) % (2 * period);
      let a: number;
      if (interior) {
        a = style.proposal ? ((ex + x + iy) % period < half ? Math.max(style.fillAlpha, 110) : 0) : style.fillAlpha;
      } else {
        a = style.proposal ? (d < period ? 255 : 40) : 255;
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = a;
    }
  }
}

export function parseColor(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) return [255, 0, 255];
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/** Instances of one class get nearby shades so neighbours stay tellable apart. */
export function shade(rgb: [number, number, number], key: number): [number, number, number] {
  const k = (((key * 37) % 5) - 2) * 0.12;
  const f = (c: number): number => Math.round(k >= 0 ? c + (255 - c) * k : c * (1 + k));
  return [f(rgb[0]), f(rgb[1]), f(rgb[2])];
}

/**
 * Tint at a coarser level: one output pixel per f x f block of the mask region (sampled at the
 * block centre), outline one output pixel thick. Zoomed out to fit a 4000x3000 image the view
 * shows about a quarter of the pixels in each direction, so tinting at f = 4 does 1/16 of the
 * work and looks the same; it is what makes opening 100 instances fast.
 * `lrect` is in level pixels relative to the region's origin; `out` is lrect.w * lrect.h * 4.
 */
export function tintLevelRect(mask: Mask, f: number, lrect: Rect, style: TintStyle, out: Uint8ClampedArray): void {
  const reg = mask.region;
  const lw = Math.ceil(reg.w / f);
  const lh = Math.ceil(reg.h / f);
  const half = f >> 1;
  // The samples of lrect and a one-pixel border around it (0 outside the level), in one buffer,
  // so the loop below reads neighbours by index (a closure call per read was most of the open).
  const pw = lrect.w + 2;
  const ph = lrect.h + 2;
  const p = new Uint8Array(pw * ph);
  // A mask not decoded yet is sampled from its runs (the same pixels, Mask.levelSample).
  const level = mask.levelSample(f);
  const data = level ?? mask.data;
  const x0 = Math.max(0, lrect.x - 1);
  const x1 = Math.min(lw, lrect.x + lrect.w + 1);
  for (let ly = Math.max(0, lrect.y - 1); ly < Math.min(lh, lrect.y + lrect.h + 1); ly++) {
    const row = (ly - lrect.y + 1) * pw - lrect.x + 1;
    if (level) {
      const src = ly * lw;
      for (let lx = x0; lx < x1; lx++) p[row + lx] = level[src + lx];
    } else {
      const src = Math.min(reg.h - 1, ly * f + half) * reg.w;
      for (let lx = x0; lx < x1; lx++) p[row + lx] = data[src + Math.min(reg.w - 1, lx * f + half)];
    }
  }
  const [r, g, b] = style.rgb;
  const period = Math.max(2, Math.round(style.period / f));
  const hatch = period >> 1;
  const fill = style.fillAlpha;
  const hatchAlpha = Math.max(fill, 110);
  let o = 0;
  for (let y = 0; y < lrect.h; y++) {
    let i = (y + 1) * pw + 1;
    const ly = lrect.y + y;
    for (let x = 0; x < lrect.w; x++, i++, o += 4) {
      if (!p[i]) {
        out[o + 3] = 0;
        continue;
      }
      const lx = lrect.x + x;
      const edge = !p[i - 1] || !p[i + 1] || !p[i - pw] || !p[i + pw];
      let a: number;
      if (!edge) a = style.proposal ? ((lx + ly) % period < hatch ? hatchAlpha : 0) : fill;
      else a = style.proposal ? ((lx + ly) % (2 * period) < period ? 255 : 40) : 255;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = a;
    }
  }
}
