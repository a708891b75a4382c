/** Select: click an annotation to select it (topmost visible wins); click empty space to clear. */
import { BaseTool, type ToolPointer } from "./tool";

export class SelectTool extends BaseTool {
  readonly name = "select" as const;
  readonly cursor = "default";

  pointerDown(p: ToolPointer): void {
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    const items = this.ctx.doc.list();
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].visible && items[i].mask.get(x, y)) {
        this.ctx.doc.select(items[i].key);
        return;
      }
    }
    this.ctx.doc.select(null);
  }
}
