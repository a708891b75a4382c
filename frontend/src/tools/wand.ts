/**
 * Magic wand: click to add the pixels of similar colour connected to the click (Shift: every such
 * pixel in the image) to the target annotation; Alt-click removes them. Tolerance from the side
 * panel's slider. Runs in the page on the decoded photo; one history entry per click.
 */
import type { Change } from "../document";
import { intersect, isEmpty } from "../geometry";
import { colourRegion } from "../wand";
import { BaseTool, type ToolPointer, acceptOnEdit } from "./tool";

export class WandTool extends BaseTool {
  readonly name = "wand" as const;
  readonly cursor = "crosshair";
  /** Milliseconds the last click took (region + mask update), for the browser test and the benchmark. */
  lastMs = 0;

  pointerDown(p: ToolPointer): void {
    const t0 = performance.now();
    const pixels = this.ctx.imagePixels();
    if (!pixels) {
      this.ctx.notify("The image is still loading.", "error");
      return;
    }
    const remove = p.alt;
    const t = this.ctx.resolveTarget(!remove);
    if (!t) {
      this.ctx.notify(remove ? "Select the annotation to remove pixels from." : "Pick a class first (keys 1-9).", "error");
      return;
    }
    const region = colourRegion(pixels, p.x, p.y, this.ctx.wandTolerance(), !p.shift);
    if (!region) return;
    const item = t.item;
    const rect = remove ? intersect(region.rect, item.mask.region) : region.rect;
    if (isEmpty(rect)) return;
    const before = item.mask.read(rect);
    const after = before.slice();
    for (let y = 0; y < rect.h; y++) {
      for (let x = 0; x < rect.w; x++) {
        const inRegion = region.pixels[(rect.y - region.rect.y + y) * region.rect.w + (rect.x - region.rect.x + x)];
        if (inRegion) after[y * rect.w + x] = remove ? 0 : 1;
      }
    }
    const changes: Change[] = [];
    if (t.created) changes.push({ kind: "add", item });
    changes.push({ kind: "pixels", key: item.key, rect, before, after });
    const accept = acceptOnEdit(item);
    if (accept) changes.push(accept);
    // Removed to nothing: the annotation goes away in the same undo step.
    const emptied = remove && item.mask.area() - count(before) + count(after) === 0;
    if (emptied) changes.push({ kind: "remove", item });
    this.ctx.history.commit({ label: "wand", changes });
    if (!emptied) this.ctx.doc.select(item.key);
    this.lastMs = performance.now() - t0;
  }
}

function count(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) n += bits[i];
  return n;
}
