/**
 * One brush stroke on one mask, shared by the brush, the eraser and the void tool: paints
 * capsules between pointer samples straight into the mask (so the stroke shows at once), keeps a
 * copy of the mask from before the stroke, and at the end gives the before/after pixels of the
 * rectangle it touched, or puts them back when the stroke is abandoned.
 */
import { type Point, type Rect, EMPTY_RECT, isEmpty, union } from "../geometry";
import type { Mask } from "../mask";
import { paintCapsule } from "../raster";

export class Stroke {
  private readonly before: Mask;
  /** Every pixel the stroke touched so far. */
  dirty: Rect = EMPTY_RECT;

  constructor(readonly mask: Mask) {
    this.before = mask.clone();
  }

  /** Paints (value 1) or clears (0) the capsule a-b; returns the touched rect (maybe empty). */
  paint(a: Point, b: Point, radius: number, value: 0 | 1): Rect {
    const rect = paintCapsule(this.mask, a, b, radius, value);
    if (!isEmpty(rect)) this.dirty = union(this.dirty, rect);
    return rect;
  }

  /** The stroke's pixels before and after, or null when it changed nothing. */
  result(): { rect: Rect; before: Uint8Array; after: Uint8Array } | null {
    if (isEmpty(this.dirty)) return null;
    const before = this.before.read(this.dirty);
    const after = this.mask.read(this.dirty);
    return bytesEqual(before, after) ? null : { rect: this.dirty, before, after };
  }

  /** Puts the pixels back as they were before the stroke; returns the rect to repaint. */
  revert(): Rect {
    if (!isEmpty(this.dirty)) this.mask.write(this.dirty, this.before.read(this.dirty));
    return this.dirty;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
