/**
 * One annotation's pixels: a bitmap cropped to a region of the image that grows on demand.
 *
 * Why lazy: a mask loaded from the server keeps its runs and decodes its bitmap on first use
 * (an edit, a full-resolution tint, a read); until then the renderer tints it from a sample
 * of the runs (levelSample) and a save sends its counts as they came. Opening 1,000 masks
 * decodes none of them.
 *
 * Why cropped: 100 instances on a 4000x3000 image would take 1.2 GB as full-size bitmaps, and
 * every operation (decode, tint, encode) would cost the image size instead of the object size.
 * The region only grows while editing (with slack, so a stroke does not reallocate per
 * segment); `tightBounds` gives the real extent when needed.
 */
import { type Rect, EMPTY_RECT, intersect, isEmpty, union } from "./geometry";
import { type CocoRle, countsBounds, countsToCrop, countsToLevel, countsToString, cropToCounts, stringToCounts } from "./rle";

/** Alignment of a grown region's origin (a multiple of every tint level). */
const ALIGN = 8;

export class Mask {
  private area_: Rect | null;
  private bitmap: Uint8Array | null;
  /** The counts string a loaded mask came with (and its runs once parsed), until its bitmap is decoded. */
  private pending: { counts: string; runs: Uint32Array | null } | null = null;
  private levels: { f: number; data: Uint8Array } | null = null;

  constructor(
    readonly imageWidth: number,
    readonly imageHeight: number,
    region: Rect = EMPTY_RECT,
    data?: Uint8Array,
  ) {
    this.area_ = region;
    this.bitmap = data ?? new Uint8Array(region.w * region.h);
  }

  /** A mask from the server: nothing parsed yet; its region from the runs and its bitmap when first needed. */
  static fromRle(rle: CocoRle): Mask {
    const [h, w] = rle.size;
    const mask = new Mask(w, h, EMPTY_RECT, new Uint8Array(0));
    mask.area_ = null;
    mask.bitmap = null;
    mask.pending = { counts: rle.counts, runs: null };
    return mask;
  }

  /** Region of the image covered by `data` (row-major, region.w * region.h). */
  get region(): Rect {
    if (this.area_ === null) this.area_ = countsBounds(this.imageHeight, this.imageWidth, this.runs());
    return this.area_;
  }

  set region(region: Rect) {
    this.area_ = region;
  }

  private runs(): Uint32Array {
    const pending = this.pending as { counts: string; runs: Uint32Array | null };
    pending.runs ??= stringToCounts(pending.counts);
    return pending.runs;
  }

  /** The pixels of `region`, row-major (decoded on first use). */
  get data(): Uint8Array {
    if (this.bitmap === null) this.decode();
    return this.bitmap as Uint8Array;
  }

  set data(data: Uint8Array) {
    this.bitmap = data;
    this.pending = null;
  }

  /** The counts string of a loaded mask not decoded yet (what a tint worker is sent), else null. */
  get pendingCounts(): string | null {
    return this.pending?.counts ?? null;
  }

  /** Takes the region a tint worker computed from the same counts (saves parsing them here). */
  adoptRegion(counts: string, region: Rect): void {
    if (this.area_ === null && this.pending?.counts === counts) this.area_ = { ...region };
  }

  /** False while a loaded mask still holds only its runs. */
  get decoded(): boolean {
    return this.bitmap !== null;
  }

  private decode(): void {
    const crop = countsToCrop(this.imageHeight, this.imageWidth, this.runs());
    this.region = { x: crop.x, y: crop.y, w: crop.w, h: crop.h };
    this.bitmap = crop.data;
    this.pending = null;
  }

  /**
   * The region sampled at one pixel per f x f block (what the coarse tint draws): from the runs
   * while the mask is not decoded, so a zoomed-out view never decodes it. Null once decoded
   * (the tint then samples `data` itself).
   */
  levelSample(f: number): Uint8Array | null {
    if (this.pending === null) return null;
    if (this.levels?.f !== f) this.levels = { f, data: countsToLevel(this.imageHeight, this.runs(), this.region, f) };
    return this.levels.data;
  }

  toRle(): CocoRle {
    if (this.pending !== null) return { size: [this.imageHeight, this.imageWidth], counts: this.pending.counts };
    const r = this.region;
    const counts = cropToCounts(this.imageHeight, this.imageWidth, r.x, r.y, r.w, r.h, this.data);
    return { size: [this.imageHeight, this.imageWidth], counts: countsToString(counts) };
  }

  get imageRect(): Rect {
    return { x: 0, y: 0, w: this.imageWidth, h: this.imageHeight };
  }

  clone(): Mask {
    return new Mask(this.imageWidth, this.imageHeight, { ...this.region }, this.data.slice());
  }

  get(x: number, y: number): number {
    const r = this.region;
    if (x < r.x || y < r.y || x >= r.x + r.w || y >= r.y + r.h) return 0;
    return this.data[(y - r.y) * r.w + (x - r.x)];
  }

  /** Makes sure `rect` (clipped to the image) is inside the stored region; grows with slack. */
  ensure(rect: Rect): void {
    const want = intersect(rect, this.imageRect);
    if (isEmpty(want)) return;
    const r = this.region;
    if (!isEmpty(r) && want.x >= r.x && want.y >= r.y && want.x + want.w <= r.x + r.w && want.y + want.h <= r.y + r.h) {
      return;
    }
    const grown = union(r, want);
    const slack = Math.max(32, Math.round(Math.max(grown.w, grown.h) / 4));
    const slacked = intersect(
      { x: grown.x - slack, y: grown.y - slack, w: grown.w + 2 * slack, h: grown.h + 2 * slack },
      this.imageRect,
    );
    // The origin on a multiple of 8: the renderer's level tints (one pixel per 2x2 or 4x4) then
    // sample the same image pixels before and after a growth and keep what they had.
    const ax = slacked.x - (slacked.x % ALIGN);
    const ay = slacked.y - (slacked.y % ALIGN);
    const next = { x: ax, y: ay, w: slacked.w + slacked.x - ax, h: slacked.h + slacked.y - ay };
    const data = new Uint8Array(next.w * next.h);
    for (let y = 0; y < r.h; y++) {
      data.set(this.data.subarray(y * r.w, (y + 1) * r.w), (r.y + y - next.y) * next.w + (r.x - next.x));
    }
    this.region = next;
    this.data = data;
  }

  /** Copy of the pixels of `rect` (zeros outside the stored region). */
  read(rect: Rect): Uint8Array {
    const out = new Uint8Array(rect.w * rect.h);
    const common = intersect(rect, this.region);
    const r = this.region;
    for (let y = common.y; y < common.y + common.h; y++) {
      const src = (y - r.y) * r.w + (common.x - r.x);
      out.set(this.data.subarray(src, src + common.w), (y - rect.y) * rect.w + (common.x - rect.x));
    }
    return out;
  }

  /** Writes `pixels` (rect.w * rect.h) into the mask, growing it when needed. */
  write(rect: Rect, pixels: Uint8Array): void {
    this.rev++;
    const clipped = intersect(rect, this.imageRect);
    if (isEmpty(clipped)) return;
    this.ensure(clipped);
    const r = this.region;
    for (let y = clipped.y; y < clipped.y + clipped.h; y++) {
      const src = (y - rect.y) * rect.w + (clipped.x - rect.x);
      this.data.set(pixels.subarray(src, src + clipped.w), (y - r.y) * r.w + (clipped.x - r.x));
    }
  }

  /** Tight bounds of the foreground, EMPTY_RECT when nothing is set. Rows are searched with the
   * typed array's own indexOf / lastIndexOf (a JavaScript loop over a 12-Mpixel semantic layer
   * was a 100+ ms task after each stroke). */
  tightBounds(): Rect {
    const data = this.data;
    const r = this.region;
    let minX = Infinity;
    let maxX = -1;
    let minY = Infinity;
    let maxY = -1;
    for (let y = 0; y < r.h; y++) {
      const row = data.subarray(y * r.w, (y + 1) * r.w);
      const first = row.indexOf(1);
      if (first < 0) continue;
      const last = row.lastIndexOf(1);
      if (y < minY) minY = y;
      maxY = y;
      if (first < minX) minX = first;
      if (last > maxX) maxX = last;
    }
    if (maxY < 0) return EMPTY_RECT;
    return { x: r.x + minX, y: r.y + minY, w: maxX - minX + 1, h: maxY - minY + 1 };
  }

  /** Bumped by whoever changes `data`; keys the cached bounds. */
  rev = 0;
  private bounds: { rev: number; rect: Rect } | null = null;

  tightBoundsCached(): Rect {
    if (!this.bounds || this.bounds.rev !== this.rev) this.bounds = { rev: this.rev, rect: this.tightBounds() };
    return this.bounds.rect;
  }

  area(): number {
    const data = this.data;
    let n = 0;
    for (let i = 0; i < data.length; i++) n += data[i];
    return n;
  }

  isBlank(): boolean {
    if (this.pending !== null) return this.region.w === 0;
    const data = this.data;
    for (let i = 0; i < data.length; i++) if (data[i]) return false;
    return true;
  }
}
