/**
 * Draws the editor in three stacked canvases so each kind of change repaints only its layer:
 *  - image: the photo (downscaled copies for low zoom), redrawn on zoom/pan only;
 *  - masks: one cached tint per annotation (a canvas, or an ImageBitmap from a tint worker),
 *    composited; while stroking only the dirty rectangle is re-tinted and re-composited; the
 *    void region's hatch (void-layer.ts) is cached the same way and drawn above them, since void
 *    overrides any class;
 *  - ui: cursors, the polygon being drawn, the selection frame (cheap, redrawn on pointer moves).
 * All drawing happens in one requestAnimationFrame callback; events only mark things dirty.
 * Whole tints of masks still held as their server RLE (the open, a zoom level change, a restyle)
 * are made by tint workers (tint-pool.ts) while the old tint stays on screen; what a person
 * edits is tinted here, a dirty rectangle at a time.
 */
import type { AnnotationItem, EditorDocument } from "../document";
import { type Rect, EMPTY_RECT, inflate, intersect, isEmpty, union } from "../geometry";
import type { Mask } from "../mask";
import type { Viewport } from "../viewport";
import { yieldToMain } from "../yield";
import { hatchVoidLevel } from "../void-layer";
import { type TintStyle, parseColor, shade, tintLevelRect, tintRect } from "./tint";
import type { TintRequest } from "./tint-job";
import { TintPool } from "./tint-pool";
import { type LevelsMaker, buildPhotoLevels } from "./photo-levels";
import type { TintBatch, TintPlace } from "./tint-worker";

type Surface = HTMLCanvasElement;

/** Main-thread time a frame may spend on whole re-tints before it leaves the rest to the next frames. */
const TINT_BUDGET_MS = 6;

/** Tint pixels (at its level) under which a decoded mask is re-tinted here, not in a worker (~1 ms). */
const SMALL_TINT = 65_536;

interface TintCache {
  /** A worker's tint stays an ImageBitmap until a stroke needs to draw into it (ownCanvas). */
  canvas: Surface | ImageBitmap;
  /** The mask and its rev when tinted: a kept tint of another level is reused only for these. */
  mask: Mask;
  rev: number;
  region: Rect;
  styleKey: string;
  /** Level: one canvas pixel per f x f image pixels (1 = full resolution). */
  f: number;
}

export interface RenderOptions {
  opacity: number; // 0..1
  outlineOnly: boolean;
}

interface VoidTint {
  canvas: Surface;
  region: Rect;
  mask: Mask;
  f: number;
}

/** A whole tint on its way from a worker, and what the mask was when asked (an answer for a
 * mask that changed since is dropped). */
interface InFlight {
  seq: number;
  f: number;
  styleKey: string;
  mask: Mask;
  rev: number;
  counts: string | null;
  region: Rect;
}

export interface RendererOptions {
  /** Tint workers (the default where the browser has them); false tints everything here. */
  tintWorkers?: boolean;
}

export type UiPainter = (ctx: CanvasRenderingContext2D, view: Viewport) => void;

export class Renderer {
  readonly imageCanvas: HTMLCanvasElement;
  readonly maskCanvas: HTMLCanvasElement;
  readonly uiCanvas: HTMLCanvasElement;
  options: RenderOptions = { opacity: 0.5, outlineOnly: false };
  /** Work time of recent frames (ms), for the benchmark and the debug handle. */
  readonly frameTimes: number[] = [];
  private image: CanvasImageSource | null = null;
  private readonly levels: Array<{ scale: number; source: ImageBitmap }> = [];
  private readonly tints = new Map<number, TintCache>();
  /** Each annotation's tint of the level shown before (see replaceTint). */
  private readonly spare = new Map<number, TintCache>();
  private pendingTint = new Map<number, Rect>(); // EMPTY_RECT = whole annotation
  /** The void region's hatch over its mask's region, at level f like the annotations' tints. */
  private voidTint: VoidTint | null = null;
  private voidPending: Rect | null = EMPTY_RECT; // null: nothing; EMPTY_RECT: all of it
  private maskDirty: Rect = EMPTY_RECT;
  private maskFull = true;
  private imageDirty = true;
  private uiDirty = true;
  private frameRequested = false;
  /** Layers with nothing drawn since their last resize or clear: a frame leaves them alone (a
   * cleared canvas is still a changed one that Chromium copies for the compositor, ~2-3 ms of the
   * main thread each in software, for nothing in the frames before the photo and tints are in). */
  private readonly blank = { image: true, masks: true, ui: true };
  private dpr = 1;
  private readonly outline: number;
  private readonly period: number;
  uiPainter: UiPainter = () => {};
  /** While a tool gesture runs the selection frame is not recomputed (it would scan the mask). */
  gestureActive = false;
  private preparing = false;
  private pool: TintPool | null = null;
  private readonly inflight = new Map<number, InFlight>();
  private seq = 0;
  private idleWaiters: Array<() => void> = [];
  /** Whole tints made by workers so far (the bench and the browser tests read it). */
  workerTints = 0;

  constructor(
    private readonly host: HTMLElement,
    private readonly doc: EditorDocument,
    private readonly view: Viewport,
    rendererOptions: RendererOptions = {},
  ) {
    const make = (cls: string): HTMLCanvasElement => {
      const c = document.createElement("canvas");
      c.className = `lbl-layer ${cls}`;
      host.appendChild(c);
      return c;
    };
    this.imageCanvas = make("lbl-layer-image");
    this.maskCanvas = make("lbl-layer-masks");
    this.uiCanvas = make("lbl-layer-ui");
    const longSide = Math.max(doc.width, doc.height);
    // Outline and hatch sizes in image pixels, chosen so they stay visible at fit-to-window.
    this.outline = Math.max(1, Math.round(longSide / 1500));
    this.period = Math.max(6, Math.round(longSide / 250));
    doc.events.on("changed", (change) => {
      if (change.kind === "pixels") this.invalidateAnnotation(change.key, change.rect);
      else if (change.kind === "annotations") this.invalidateMasks();
      else if (change.kind === "void") this.invalidateVoid(change.rect);
      else this.invalidateUi();
    });
    view.events.on("changed", () => this.invalidateView());
    if (rendererOptions.tintWorkers !== false) {
      this.pool = TintPool.create((batch) => this.onTintBatch(batch), () => this.onPoolFailed());
    }
  }

  /** Number of tint workers (0: everything is tinted on the main thread). */
  get tintWorkerCount(): number {
    return this.pool?.size ?? 0;
  }

  /**
   * Asks a worker for the whole tint of `key` at level f: from its RLE while the mask is only
   * that, else from a copy of its pixels (a whole re-tint of a large edited mask at 1:1 took
   * ~0.5 s here). False when it must be tinted here (no workers). `out` collects the requests.
   */
  private tintByWorker(key: number, f: number, out: TintRequest[]): boolean {
    if (!this.pool) return false;
    const item = this.doc.get(key);
    if (!item) return false;
    const mask = item.mask;
    const counts = mask.pendingCounts;
    // A small decoded mask is quicker here than a round trip, and shows in this frame.
    if (counts === null && (mask.region.w * mask.region.h) / (f * f) < SMALL_TINT) return false;
    const style = this.styleFor(item);
    const styleKey = JSON.stringify(style);
    const on = this.inflight.get(key);
    if (on && on.f === f && on.styleKey === styleKey && on.mask === mask && on.rev === mask.rev && on.counts === counts) return true; // already on its way
    const seq = ++this.seq;
    const region = counts === null ? { ...mask.region } : EMPTY_RECT;
    this.inflight.set(key, { seq, f, styleKey, mask, rev: mask.rev, counts, region });
    const base = { key, seq, width: this.doc.width, height: this.doc.height, f, style };
    out.push(counts !== null ? { ...base, counts } : { ...base, counts: "", crop: { region, data: mask.data.slice() } });
    return true;
  }

  private onTintBatch(batch: TintBatch): void {
    const t0 = performance.now();
    let blank: Surface | null = null;
    for (const place of batch.places) this.takeTint(place, place.bitmap ?? (blank ??= document.createElement("canvas")));
    this.batchMs += performance.now() - t0;
    this.maskFull = true;
    this.request();
    this.settle();
  }

  /** Main-thread time spent taking in worker tints so far (ms; for profiling by hand). */
  batchMs = 0;

  private takeTint(place: TintPlace, canvas: Surface | ImageBitmap): void {
    const want = this.inflight.get(place.key);
    if (!want || want.seq !== place.seq) {
      place.bitmap?.close(); // superseded (a newer request, an edit, a zoom)
      return;
    }
    this.inflight.delete(place.key);
    const item = this.doc.get(place.key);
    const m = item?.mask;
    const same = m !== undefined && m === want.mask && m.rev === want.rev && m.pendingCounts === want.counts &&
      (want.counts !== null || (m.region.x === want.region.x && m.region.y === want.region.y && m.region.w === want.region.w && m.region.h === want.region.h));
    if (!item || !same || JSON.stringify(this.styleFor(item)) !== want.styleKey) {
      place.bitmap?.close();
      if (item) this.pendingTint.set(item.key, EMPTY_RECT);
      return;
    }
    if (want.counts !== null) item.mask.adoptRegion(want.counts, place.region);
    this.replaceTint(place.key, { canvas, region: { ...place.region }, styleKey: want.styleKey, f: place.f, mask: want.mask, rev: want.rev });
    this.workerTints++;
  }

  /** A worker failed (its script refused, say): tint everything here from now on. */
  private onPoolFailed(): void {
    this.pool?.close();
    this.pool = null;
    for (const key of this.inflight.keys()) this.pendingTint.set(key, EMPTY_RECT);
    this.inflight.clear();
    this.maskFull = true;
    this.request();
    this.settle();
  }

  private settle(): void {
    if (this.inflight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no worker tint is on its way. */
  private workersIdle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once every tint the view needs is made and drawn (the browser tests wait on it). */
  async settled(): Promise<void> {
    const frame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));
    for (;;) {
      await frame();
      await frame();
      if (this.inflight.size === 0 && this.pendingTint.size === 0 && !this.frameRequested && !this.preparing) return;
    }
  }

  /** True when `key` needs a whole tint at level f that nobody is making yet. */
  private needsTint(key: number, f: number): boolean {
    return !this.pendingTint.has(key) && this.inflight.get(key)?.f !== f;
  }

  setImage(image: CanvasImageSource): void {
    this.image = image;
    this.imageDirty = true;
    this.request();
  }

  /** Downscaled copies make drawing a zoomed-out 12 MP photo cheap: its half and quarter copies,
   * made from its bytes after the first paint, off the main thread (photo-levels.ts); frames use
   * each once it is in. */
  async buildLevels(photo: Blob, width: number, height: number): Promise<void> {
    this.levelsMadeBy = await buildPhotoLevels(photo, width, height, (scale, source) => {
      this.levels.push({ scale, source });
      this.levels.sort((a, b) => b.scale - a.scale); // largest first: drawImageLayer keeps the last that fits
      this.imageDirty = true;
      this.request();
    });
  }

  /** Where the photo levels were made ("worker" where the browser has workers; null until done), and how many. */
  levelsMadeBy: LevelsMaker | null = null;
  get levelCount(): number {
    return this.levels.length;
  }

  resize(): void {
    const w = this.host.clientWidth;
    const h = this.host.clientHeight;
    this.dpr = window.devicePixelRatio || 1;
    this.view.resize(w, h);
    for (const c of [this.imageCanvas, this.maskCanvas, this.uiCanvas]) {
      c.width = Math.round(w * this.dpr);
      c.height = Math.round(h * this.dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    this.blank.image = this.blank.masks = this.blank.ui = true; // a canvas's new size clears it
    this.invalidateView();
  }

  invalidateView(): void {
    this.imageDirty = true;
    this.maskFull = true;
    this.uiDirty = true;
    this.request();
  }

  invalidateMasks(): void {
    this.maskFull = true;
    this.uiDirty = true;
    this.request();
  }

  /** Re-tint every annotation (opacity, outline view). */
  restyle(): void {
    for (const item of this.doc.list()) this.pendingTint.set(item.key, EMPTY_RECT);
    this.invalidateMasks();
  }

  invalidateAnnotation(key: number, rect: Rect): void {
    const prev = this.pendingTint.get(key);
    if (isEmpty(rect) || (prev !== undefined && isEmpty(prev))) {
      this.pendingTint.set(key, EMPTY_RECT);
      this.maskFull = true;
    } else {
      this.pendingTint.set(key, prev ? union(prev, rect) : rect);
      this.maskDirty = union(this.maskDirty, inflate(rect, this.outline + 9));
    }
    this.uiDirty = true;
    this.request();
  }

  invalidateUi(): void {
    this.uiDirty = true;
    this.request();
  }

  /** Void pixels changed in `rect` (EMPTY_RECT: all of them, e.g. a new document). */
  invalidateVoid(rect: Rect): void {
    if (isEmpty(rect) || (this.voidPending !== null && isEmpty(this.voidPending))) {
      this.voidPending = EMPTY_RECT;
      this.maskFull = true;
    } else {
      this.voidPending = this.voidPending ? union(this.voidPending, rect) : rect;
      this.maskDirty = union(this.maskDirty, inflate(rect, 2));
    }
    this.request();
  }

  private applyVoidTint(): void {
    const pending = this.voidPending;
    if (pending === null) return;
    this.voidPending = null;
    const mask = this.doc.voidLayer.mask;
    const region = mask.region;
    if (isEmpty(region)) {
      this.voidTint = null;
      return;
    }
    const f = this.desiredLevel();
    const old = this.voidTint !== null && this.voidTint.mask === mask && this.voidTint.f === f ? this.voidTint : null;
    const sameRegion = old !== null && old.region.x === region.x && old.region.y === region.y && old.region.w === region.w && old.region.h === region.h;
    if (old && sameRegion && !isEmpty(pending)) {
      this.hatchInto(old, intersect(pending, region));
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.ceil(region.w / f));
    canvas.height = Math.max(1, Math.ceil(region.h / f));
    const cache: VoidTint = { canvas, region: { ...region }, mask, f };
    if (old && f === 1 && !isEmpty(pending)) {
      // The region grew during a stroke: keep the old hatch (pixels outside it are all clear).
      canvas.getContext("2d")?.drawImage(old.canvas, old.region.x - region.x, old.region.y - region.y);
      this.hatchInto(cache, intersect(pending, region));
    } else {
      this.hatchInto(cache, region);
    }
    this.voidTint = cache;
  }

  /** Hatches the level pixels that show image rect `rect` (inside the cache's region). */
  private hatchInto(cache: VoidTint, rect: Rect): void {
    if (isEmpty(rect)) return;
    const ctx = cache.canvas.getContext("2d");
    if (!ctx) return;
    const f = cache.f;
    const x0 = Math.max(0, Math.floor((rect.x - cache.region.x) / f));
    const y0 = Math.max(0, Math.floor((rect.y - cache.region.y) / f));
    const x1 = Math.min(cache.canvas.width, Math.ceil((rect.x + rect.w - cache.region.x) / f));
    const y1 = Math.min(cache.canvas.height, Math.ceil((rect.y + rect.h - cache.region.y) / f));
    if (x1 <= x0 || y1 <= y0) return;
    const img = ctx.createImageData(x1 - x0, y1 - y0);
    hatchVoidLevel(cache.mask, f, { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, this.period, img.data);
    ctx.putImageData(img, x0, y0);
  }

  private request(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.frame();
    });
  }

  /**
   * Tints every annotation: masks still RLE in the tint workers, the rest here in slices of
   * `sliceMs` with the main thread given back between them (opening 1,000 masks is many short
   * tasks, never one long one). Resolves when every tint is in. Without workers frames wait
   * until it is done (the caller paints the first frame); with them frames go on, the photo
   * first and each batch of tints as it comes.
   */
  async prepare(sliceMs = 12): Promise<void> {
    this.preparing = this.pool === null;
    try {
      const f = this.desiredLevel();
      // Masks still RLE go to the workers at once; the rest (and everything, without workers)
      // are tinted here meanwhile. A second pass picks up whatever a failed worker left.
      const requests: TintRequest[] = [];
      for (const item of this.doc.list()) if (!this.tints.has(item.key)) this.tintByWorker(item.key, f, requests);
      this.pool?.send(requests);
      for (let pass = 0; pass < 2; pass++) {
        let slice = performance.now();
        for (const item of this.doc.list()) {
          if (this.tints.has(item.key) || this.inflight.has(item.key)) continue;
          if (performance.now() - slice > sliceMs) {
            await yieldToMain();
            slice = performance.now();
          }
          if (this.doc.get(item.key)) this.tintOne(item.key, EMPTY_RECT, f);
        }
        if (pass === 0) this.applyVoidTint();
        await this.workersIdle();
      }
    } finally {
      this.preparing = false;
    }
  }

  /** Draws whatever is dirty now (also called directly to paint the first frame synchronously). */
  frame(): void {
    if (this.preparing) return; // prepare() (on the main thread) ends by letting the caller paint the first frame
    const t0 = performance.now();
    if (this.imageDirty) this.drawImageLayer();
    this.applyTints();
    this.applyVoidTint();
    // Taken before drawing: drawMasks asks for another full redraw when it drew an old tint
    // (one still to be re-made), and that request must survive this frame.
    const full = this.maskFull;
    const dirty = this.maskDirty;
    this.maskFull = false;
    this.maskDirty = EMPTY_RECT;
    if (full) this.drawMasks(null);
    else if (!isEmpty(dirty)) this.drawMasks(dirty);
    if (this.uiDirty) this.drawUi();
    this.frameTimes.push(performance.now() - t0);
    if (this.frameTimes.length > 600) this.frameTimes.splice(0, this.frameTimes.length - 600);
  }

  private drawImageLayer(): void {
    this.imageDirty = false;
    const ctx = this.imageCanvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!this.blank.image) ctx.clearRect(0, 0, this.imageCanvas.width, this.imageCanvas.height);
    this.blank.image = true;
    if (!this.image) return;
    this.blank.image = false;
    const s = this.view.scale * this.dpr;
    let source: CanvasImageSource = this.image;
    let levelScale = 1;
    for (const level of this.levels) {
      if (this.view.scale <= level.scale) {
        source = level.source;
        levelScale = level.scale;
      }
    }
    ctx.imageSmoothingEnabled = this.view.scale < 2;
    ctx.imageSmoothingQuality = "low";
    const k = s / levelScale;
    ctx.setTransform(k, 0, 0, k, this.view.offsetX * this.dpr, this.view.offsetY * this.dpr);
    ctx.drawImage(source, 0, 0);
  }

  private styleFor(item: AnnotationItem): TintStyle {
    const cls = this.doc.labelClass(item.labelClass);
    const base = parseColor(cls?.color ?? "#ff00ff");
    return {
      rgb: cls?.kind === "instance" ? shade(base, item.key) : base,
      fillAlpha: this.options.outlineOnly ? 0 : Math.round(this.options.opacity * 255),
      proposal: item.isProposal,
      outline: this.outline,
      period: this.period,
    };
  }

  /** Tint level for the current zoom: coarser when zoomed out (see tintLevelRect). */
  private desiredLevel(): number {
    const sc = this.view.scale;
    return sc >= 0.8 ? 1 : sc >= 0.4 ? 2 : 4;
  }

  /**
   * Re-tints what changed, pixel updates (the stroke being drawn) first; whole re-tints (a zoom
   * level change, a restyle) stop after `TINT_BUDGET_MS` and go on in the next frames (the old
   * tint is drawn meanwhile), so no single frame pays for all of a 1,000-mask document.
   */
  private applyTints(): void {
    if (this.pendingTint.size === 0) return;
    const pending = this.pendingTint;
    this.pendingTint = new Map();
    const f = this.desiredLevel();
    const t0 = performance.now();
    const whole: number[] = [];
    const requests: TintRequest[] = [];
    for (const [key, rect] of pending) {
      if (!isEmpty(rect)) this.tintOne(key, rect, f);
      else if (!this.reuseSpare(key, f) && !this.tintByWorker(key, f, requests)) whole.push(key);
    }
    this.pool?.send(requests);
    for (let i = 0; i < whole.length; i++) {
      if (i > 0 && performance.now() - t0 > TINT_BUDGET_MS) {
        for (let j = i; j < whole.length; j++) this.pendingTint.set(whole[j], EMPTY_RECT);
        this.maskFull = true;
        this.request();
        return;
      }
      this.tintOne(whole[i], EMPTY_RECT, f);
    }
  }

  /** Puts a new tint in place; the one it replaces is kept when it is of another level (so a
   * zoom back to it shows at once, without re-tinting 1,000 masks). */
  private replaceTint(key: number, cache: TintCache): void {
    const old = this.tints.get(key);
    if (old && old.f !== cache.f) this.spare.set(key, old);
    this.tints.set(key, cache);
  }

  /** Swaps in the kept tint of `key` when it is of level f and its mask and style did not change. */
  private reuseSpare(key: number, f: number): boolean {
    const kept = this.spare.get(key);
    const item = this.doc.get(key);
    if (!kept || !item || kept.f !== f) return false;
    const m = item.mask;
    const r = m.region;
    if (kept.mask !== m || kept.rev !== m.rev || kept.styleKey !== JSON.stringify(this.styleFor(item)) ||
        kept.region.x !== r.x || kept.region.y !== r.y || kept.region.w !== r.w || kept.region.h !== r.h) {
      this.spare.delete(key);
      return false;
    }
    if (this.inflight.delete(key)) this.settle();
    this.spare.delete(key);
    this.replaceTint(key, kept);
    return true;
  }

  private tintOne(key: number, rect: Rect, f: number): void {
    if (this.inflight.delete(key)) this.settle(); // tinted here now: a worker's answer would be stale
    const item = this.doc.get(key);
    if (!item) {
      this.tints.delete(key);
      this.spare.delete(key);
      return;
    }
    const style = this.styleFor(item);
    const styleKey = JSON.stringify(style);
    const region = item.mask.region;
    const old = this.tints.get(key);
    const sameRegion =
      old !== undefined && old.region.x === region.x && old.region.y === region.y &&
      old.region.w === region.w && old.region.h === region.h;
    const partial = !isEmpty(rect) && old !== undefined && old.styleKey === styleKey && old.f === f;
    if (partial && sameRegion) {
      this.tintInto(old, item, intersect(inflate(rect, style.outline + 1), region), style);
      old.rev = item.mask.rev;
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.ceil(region.w / f));
    canvas.height = Math.max(1, Math.ceil(region.h / f));
    const cache: TintCache = { canvas, region: { ...region }, styleKey, f, mask: item.mask, rev: item.mask.rev };
    this.replaceTint(key, cache);
    // The mask grew during a stroke: keep the old pixels, tint only what changed. At a coarser
    // level this needs both origins on the same sampling grid (Mask.ensure aligns them).
    const aligned = old !== undefined && (old.region.x - region.x) % f === 0 && (old.region.y - region.y) % f === 0;
    if (partial && old && aligned) {
      const ctx = canvas.getContext("2d");
      const ow = Math.max(1, Math.ceil(old.region.w / f));
      const oh = Math.max(1, Math.ceil(old.region.h / f));
      ctx?.drawImage(old.canvas, 0, 0, ow, oh, (old.region.x - region.x) / f, (old.region.y - region.y) / f, ow, oh);
      const r = inflate(rect, style.outline + 1);
      // Pixels along the old region's border need their outline (and, at a level, their clamped
      // samples) recomputed too.
      const border = inflate(old.region, style.outline + 1);
      const t = f === 1 ? 2 * style.outline + 2 : 3 * f + 2 * style.outline + 2;
      this.tintInto(cache, item, intersect(r, region), style);
      for (const edge of [
        { x: border.x - t, y: border.y - t, w: border.w + 2 * t, h: 2 * t },
        { x: border.x - t, y: border.y + border.h - t, w: border.w + 2 * t, h: 2 * t },
        { x: border.x - t, y: border.y - t, w: 2 * t, h: border.h + 2 * t },
        { x: border.x + border.w - t, y: border.y - t, w: 2 * t, h: border.h + 2 * t },
      ]) this.tintInto(cache, item, intersect(edge, region), style);
    } else {
      this.tintInto(cache, item, region, style);
    }
  }

  /** The cache's tint as a canvas one can draw into (a worker's ImageBitmap is copied once). */
  private ownCanvas(cache: TintCache): Surface {
    const c = cache.canvas;
    if (!("close" in c)) return c;
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.ceil(cache.region.w / cache.f));
    canvas.height = Math.max(1, Math.ceil(cache.region.h / cache.f));
    canvas.getContext("2d")?.drawImage(c, 0, 0);
    c.close();
    cache.canvas = canvas;
    return canvas;
  }

  private tintInto(cache: TintCache, item: AnnotationItem, rect: Rect, style: TintStyle): void {
    if (isEmpty(rect)) return;
    const ctx = this.ownCanvas(cache).getContext("2d");
    if (!ctx) return;
    const f = cache.f;
    if (f === 1) {
      const img = ctx.createImageData(rect.w, rect.h);
      tintRect(item.mask, rect, style, img.data);
      ctx.putImageData(img, rect.x - cache.region.x, rect.y - cache.region.y);
      return;
    }
    const lw = cache.canvas.width;
    const lh = cache.canvas.height;
    const x0 = Math.max(0, Math.floor((rect.x - cache.region.x) / f) - 1);
    const y0 = Math.max(0, Math.floor((rect.y - cache.region.y) / f) - 1);
    const x1 = Math.min(lw, Math.ceil((rect.x + rect.w - cache.region.x) / f) + 1);
    const y1 = Math.min(lh, Math.ceil((rect.y + rect.h - cache.region.y) / f) + 1);
    if (x1 <= x0 || y1 <= y0) return;
    const lrect = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    const img = ctx.createImageData(lrect.w, lrect.h);
    tintLevelRect(item.mask, f, lrect, style, img.data);
    ctx.putImageData(img, x0, y0);
  }

  /** Composites the tinted annotations; `clip` (image px) limits the work to a dirty rectangle. */
  private drawMasks(clip: Rect | null): void {
    const ctx = this.maskCanvas.getContext("2d");
    if (!ctx) return;
    const d = this.dpr;
    const s = this.view.scale * d;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    let area: Rect | null = null;
    if (clip) {
      const sr = this.view.rectToScreen(clip);
      const x0 = Math.floor(sr.x * d) - 1;
      const y0 = Math.floor(sr.y * d) - 1;
      const x1 = Math.ceil((sr.x + sr.w) * d) + 1;
      const y1 = Math.ceil((sr.y + sr.h) * d) + 1;
      ctx.save();
      ctx.beginPath();
      ctx.rect(x0, y0, x1 - x0, y1 - y0);
      ctx.clip();
      if (!this.blank.masks) ctx.clearRect(x0, y0, x1 - x0, y1 - y0);
      // Image area that the cleared screen rectangle shows.
      area = {
        x: Math.floor((x0 / d - this.view.offsetX) / this.view.scale) - 1,
        y: Math.floor((y0 / d - this.view.offsetY) / this.view.scale) - 1,
        w: Math.ceil((x1 - x0) / d / this.view.scale) + 3,
        h: Math.ceil((y1 - y0) / d / this.view.scale) + 3,
      };
    } else {
      if (!this.blank.masks) ctx.clearRect(0, 0, this.maskCanvas.width, this.maskCanvas.height);
      this.blank.masks = true;
      const tl = this.view.toImage(0, 0);
      area = {
        x: Math.floor(tl.x) - 1,
        y: Math.floor(tl.y) - 1,
        w: Math.ceil(this.view.screenW / this.view.scale) + 3,
        h: Math.ceil(this.view.screenH / this.view.scale) + 3,
      };
    }
    ctx.setTransform(s, 0, 0, s, this.view.offsetX * d, this.view.offsetY * d);
    ctx.imageSmoothingEnabled = false;
    const f = this.desiredLevel();
    for (const item of this.doc.list()) {
      if (!item.visible) continue;
      const cache = this.tints.get(item.key);
      if (!cache) {
        if (this.needsTint(item.key, f)) this.pendingTint.set(item.key, EMPTY_RECT);
        continue;
      }
      // Draw only the part of the cached canvas that is on screen / in the dirty rectangle.
      const part = intersect(cache.region, area);
      if (isEmpty(part)) continue;
      // Zoom changed level: draw the old tint now, re-tint at the right level next frame.
      if (cache.f !== f && this.needsTint(item.key, f)) this.pendingTint.set(item.key, EMPTY_RECT);
      const k = cache.f;
      this.blank.masks = false;
      ctx.drawImage(
        cache.canvas,
        (part.x - cache.region.x) / k, (part.y - cache.region.y) / k, part.w / k, part.h / k,
        part.x, part.y, part.w, part.h,
      );
    }
    const v = this.voidTint;
    if (v && this.doc.voidLayer.visible && v.mask === this.doc.voidLayer.mask) {
      const part = intersect(v.region, area);
      if (!isEmpty(part)) {
        const k = v.f;
        this.blank.masks = false;
        ctx.drawImage(v.canvas, (part.x - v.region.x) / k, (part.y - v.region.y) / k, part.w / k, part.h / k, part.x, part.y, part.w, part.h);
      }
      // Zoom changed level: draw the old hatch now, hatch at the right level next frame.
      if (v.f !== f && this.voidPending === null) {
        this.voidPending = EMPTY_RECT;
        this.maskFull = true;
        this.request();
      }
    }
    if (clip) ctx.restore();
    if (this.pendingTint.size > 0) {
      // Annotations without a tint (yet, or at the wrong level): tint them and repaint.
      this.maskFull = true;
      this.request();
    }
  }

  private drawUi(): void {
    this.uiDirty = false;
    const ctx = this.uiCanvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!this.blank.ui) ctx.clearRect(0, 0, this.uiCanvas.width, this.uiCanvas.height);
    this.blank.ui = false; // what the tool paints is not known here
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const sel = this.doc.selected;
    if (sel && sel.visible && !this.gestureActive) {
      const b = sel.mask.tightBoundsCached();
      if (!isEmpty(b)) {
        const r = this.view.rectToScreen(b);
        ctx.save();
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = "#ffffff";
        ctx.strokeRect(Math.round(r.x) - 2.5, Math.round(r.y) - 2.5, Math.round(r.w) + 5, Math.round(r.h) + 5);
        ctx.lineDashOffset = 5;
        ctx.strokeStyle = "#111111";
        ctx.strokeRect(Math.round(r.x) - 2.5, Math.round(r.y) - 2.5, Math.round(r.w) + 5, Math.round(r.h) + 5);
        ctx.restore();
      }
    }
    this.uiPainter(ctx, this.view);
  }
}
