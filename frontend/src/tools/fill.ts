/** Fill: click inside a closed outline of the target annotation to fill the hole it encloses. */
import type { Change } from "../document";
import { enclosedRegion } from "../raster";
import { BaseTool, type ToolPointer, acceptOnEdit } from "./tool";

export class FillTool extends BaseTool {
  readonly name = "fill" as const;
  readonly cursor = "cell";

  pointerDown(p: ToolPointer): void {
    const t = this.ctx.resolveTarget(false);
    if (!t) {
      this.ctx.notify("Fill needs an annotation to fill: select one or pick a class that has a mask.", "error");
      return;
    }
    const region = enclosedRegion(t.item.mask, { x: p.x, y: p.y });
    if (!region) {
      this.ctx.notify("Click inside a closed outline of the selected annotation.", "error");
      return;
    }
    const before = t.item.mask.read(region.rect);
    const after = before.slice();
    for (let i = 0; i < after.length; i++) after[i] |= region.pixels[i];
    const changes: Change[] = [{ kind: "pixels", key: t.item.key, rect: region.rect, before, after }];
    const accept = acceptOnEdit(t.item);
    if (accept) changes.push(accept);
    this.ctx.history.commit({ label: "fill", changes });
  }
}
