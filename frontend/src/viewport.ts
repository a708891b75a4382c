/**
 * Screen <-> image transform: screen = image * scale + offset (CSS pixels). Zoom, pan, fit, 1:1.
 * Every move emits `changed`, which the renderer and the zoom readout follow.
 */
import { Emitter } from "./emitter";
import type { Point, Rect } from "./geometry";

export class Viewport {
  readonly events = new Emitter<{ changed: null }>();
  scale = 1;
  offsetX = 0;
  offsetY = 0;
  screenW = 1;
  screenH = 1;

  constructor(
    readonly imageW: number,
    readonly imageH: number,
  ) {}

  resize(w: number, h: number): void {
    this.screenW = Math.max(1, w);
    this.screenH = Math.max(1, h);
  }

  toImage(sx: number, sy: number): Point {
    return { x: (sx - this.offsetX) / this.scale, y: (sy - this.offsetY) / this.scale };
  }

  toScreen(ix: number, iy: number): Point {
    return { x: ix * this.scale + this.offsetX, y: iy * this.scale + this.offsetY };
  }

  /** Image rect -> screen rect (CSS px, not rounded). */
  rectToScreen(r: Rect): Rect {
    return { x: r.x * this.scale + this.offsetX, y: r.y * this.scale + this.offsetY, w: r.w * this.scale, h: r.h * this.scale };
  }

  fit(margin = 16): void {
    const s = Math.min((this.screenW - 2 * margin) / this.imageW, (this.screenH - 2 * margin) / this.imageH);
    this.scale = Math.max(0.01, s);
    this.center();
  }

  /** 1:1 around the screen centre, keeping the image point under it; offsets are whole pixels. */
  actualSize(): void {
    const c = this.toImage(this.screenW / 2, this.screenH / 2);
    this.scale = 1;
    this.offsetX = Math.round(this.screenW / 2 - c.x);
    this.offsetY = Math.round(this.screenH / 2 - c.y);
    this.changed();
  }

  center(): void {
    this.offsetX = Math.round((this.screenW - this.imageW * this.scale) / 2);
    this.offsetY = Math.round((this.screenH - this.imageH * this.scale) / 2);
    this.changed();
  }

  /** Zooms by `factor` keeping the image point under (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const p = this.toImage(sx, sy);
    this.scale = Math.min(32, Math.max(0.02, this.scale * factor));
    this.offsetX = sx - p.x * this.scale;
    this.offsetY = sy - p.y * this.scale;
    this.changed();
  }

  pan(dx: number, dy: number): void {
    this.offsetX += dx;
    this.offsetY += dy;
    this.changed();
  }

  private changed(): void {
    this.events.emit("changed", null);
  }
}
