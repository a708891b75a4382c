/**
 * The image's void (ignore) region: pixels no class claims and training and evaluation skip
 * (VOC's 255). One Mask like an annotation's, held by the document, with what the server holds of
 * it so a save sends `void` only when it changed (`null` once erased to nothing). Also owns how it
 * looks: a neutral grey/white hatch at 45° the other way from the model-proposal hatch (tint.ts).
 */
import { type Rect, isEmpty } from "./geometry";
import { Mask } from "./mask";
import { type CocoRle, stringToCounts } from "./rle";

export class VoidLayer {
  mask: Mask;
  visible = true;
  /** Bumped on every change; a save compares it with the revision it sent. */
  rev = 0;
  /** The counts the server holds (null: no void region there). */
  private savedCounts: string | null;
  private savedRev = 0;
  /** What the last payload sent, until the server's answer comes. */
  private sending: { rev: number; counts: string | null } | null = null;
  private counted: { rev: number; pixels: number } | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    rle: CocoRle | null = null,
  ) {
    if (rle) {
      const [h, w] = rle.size;
      if (h !== height || w !== width) throw new Error(`the void region is ${h}x${w} on a ${height}x${width} image`);
      this.mask = Mask.fromRle(rle);
      this.savedCounts = rle.counts;
      // Counted from the runs (odd ones are void), not by scanning the decoded pixels.
      const runs = stringToCounts(rle.counts);
      let pixels = 0;
      for (let i = 1; i < runs.length; i += 2) pixels += runs[i];
      this.counted = { rev: this.mask.rev, pixels };
    } else {
      this.mask = new Mask(width, height);
      this.savedCounts = null;
    }
  }

  /** The document's `void` field as the API takes it: RLE, or null when no pixel is void. */
  toRle(): CocoRle | null {
    return this.mask.isBlank() ? null : this.mask.toRle();
  }

  /** Pixels in the void region (counted once per change). */
  pixelCount(): number {
    if (!this.counted || this.counted.rev !== this.mask.rev) this.counted = { rev: this.mask.rev, pixels: this.mask.area() };
    return this.counted.pixels;
  }

  /**
   * Keeps the count without rescanning the image: `before` and `after` are the pixels one change
   * (a stroke, an undo) replaced, `since` the mask's rev when the change began.
   */
  recount(before: Uint8Array, after: Uint8Array, since: number): void {
    if (!this.counted || this.counted.rev !== since) return;
    let delta = 0;
    for (let i = 0; i < after.length; i++) delta += after[i] - before[i];
    this.counted = { rev: this.mask.rev, pixels: this.counted.pixels + delta };
  }

  /** Records pixels changed (painted live or by undo/redo). */
  touched(): void {
    this.rev++;
    this.mask.rev++;
  }

  /**
   * What a save must send for `void`: `undefined` when the server already holds these pixels
   * (the field is left out and the server keeps its region), else the RLE or null.
   */
  payload(): CocoRle | null | undefined {
    this.sending = null;
    if (this.rev === this.savedRev) return undefined;
    const rle = this.toRle();
    const counts = rle?.counts ?? null;
    // Painted and erased back to what the server holds: nothing to send.
    if (counts === this.savedCounts) {
      this.savedRev = this.rev;
      return undefined;
    }
    this.sending = { rev: this.rev, counts };
    return rle;
  }

  /** The server took the last payload: what it sent is now what the server holds. */
  acceptSaved(): void {
    if (!this.sending) return;
    this.savedCounts = this.sending.counts;
    if (this.rev === this.sending.rev) this.savedRev = this.rev;
    this.sending = null;
  }

  /** True when the pixels differ from what the server was last known to hold. */
  get changed(): boolean {
    return this.rev !== this.savedRev;
  }
}

/** Hatch colours: light and dark grey stripes, semi-opaque, so the photo shows through a little. */
const LIGHT: readonly [number, number, number, number] = [235, 235, 235, 200];
const DARK: readonly [number, number, number, number] = [70, 70, 70, 200];

/**
 * Writes RGBA for the image pixels of `rect` into `out` (rect.w * rect.h * 4): void pixels get
 * diagonal stripes running top-left to bottom-right (the proposal hatch runs the other way),
 * alternating light and dark every `period / 2` image pixels; other pixels are transparent.
 */
export function hatchVoidRect(mask: Mask, rect: Rect, period: number, out: Uint8ClampedArray): void {
  hatchVoidLevel(mask, 1, { x: rect.x - mask.region.x, y: rect.y - mask.region.y, w: rect.w, h: rect.h }, period, out);
}

/**
 * The hatch at a coarser level, as tint.ts's tintLevelRect does for annotations: one output pixel
 * per f x f block of the mask's region (sampled at the block centre), so a zoomed-out view of a
 * 12-Mpixel void region costs 1/16 of the work at f = 4. `lrect` is in level pixels relative to
 * the region's origin; `out` is lrect.w * lrect.h * 4. Stripes stay `period` image pixels wide.
 */
export function hatchVoidLevel(mask: Mask, f: number, lrect: Rect, period: number, out: Uint8ClampedArray): void {
  if (isEmpty(lrect)) return;
  const reg = mask.region;
  const data = mask.data;
  const half = f >> 1;
  const p = Math.max(2, Math.round(period / f));
  const stripe = p >> 1;
  // Level pixel (lx, ly) shows image pixel (reg.x + lx * f + half, ...): the stripe index uses it.
  const ox = Math.round((reg.x + half) / f);
  const oy = Math.round((reg.y + half) / f);
  let o = 0;
  for (let ly = lrect.y; ly < lrect.y + lrect.h; ly++) {
    const y = Math.min(reg.h - 1, ly * f + half);
    const inside = ly >= 0 && y >= 0 && ly * f < reg.h;
    for (let lx = lrect.x; lx < lrect.x + lrect.w; lx++, o += 4) {
      const x = Math.min(reg.w - 1, lx * f + half);
      if (!inside || lx < 0 || lx * f >= reg.w || !data[y * reg.w + x]) {
        out[o + 3] = 0;
        continue;
      }
      const d = ((((ox + lx) - (oy + ly)) % p) + p) % p;
      const c = d < stripe ? LIGHT : DARK;
      out[o] = c[0];
      out[o + 1] = c[1];
      out[o + 2] = c[2];
      out[o + 3] = c[3];
    }
  }
}
