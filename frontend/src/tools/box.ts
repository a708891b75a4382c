/**
 * Box-to-mask assist: drag a box, the server's model answers with a mask for it.
 * idle -> dragging -> waiting -> commit; switching tools while waiting drops the answer.
 */
import { ApiError } from "../api";
import type { Change } from "../document";
import { type Point, type Rect, normalizeBox } from "../geometry";
import { Mask } from "../mask";
import type { CommandId } from "../keymap";
import type { Viewport } from "../viewport";
import { BaseTool, type ToolPointer } from "./tool";

type BoxState =
  | { kind: "idle" }
  | { kind: "dragging"; start: Point; end: Point }
  | { kind: "waiting"; box: Rect; token: number };

export class BoxAssistTool extends BaseTool {
  readonly name = "box" as const;
  readonly cursor = "crosshair";
  private state: BoxState = { kind: "idle" };
  private token = 0;

  pointerDown(p: ToolPointer): void {
    if (this.state.kind !== "idle") return;
    this.state = { kind: "dragging", start: { x: p.x, y: p.y }, end: { x: p.x, y: p.y } };
  }

  override pointerMove(p: ToolPointer): void {
    if (this.state.kind === "dragging") {
      this.state.end = { x: p.x, y: p.y };
      this.ctx.redrawUi();
    }
  }

  override pointerUp(p: ToolPointer): void {
    if (this.state.kind !== "dragging") return;
    const b = normalizeBox(this.state.start, { x: p.x, y: p.y });
    const box: Rect = { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
    const cls = this.ctx.currentClass();
    if (box.w < 2 || box.h < 2 || !cls) {
      this.state = { kind: "idle" };
      this.ctx.redrawUi();
      if (!cls) this.ctx.notify("Pick a class first (keys 1-9).", "error");
      return;
    }
    const token = ++this.token;
    this.state = { kind: "waiting", box, token };
    this.ctx.redrawUi();
    this.ctx.notify("Asking the model for a mask…");
    this.ctx.api
      .assist(this.ctx.imageId, [box.x, box.y, box.w, box.h], cls.id)
      .then((res) => {
        if (this.state.kind !== "waiting" || this.state.token !== token) return;
        this.state = { kind: "idle" };
        this.ctx.redrawUi();
        this.apply(Mask.fromRle(res.mask), cls.id);
        this.ctx.notify(`Mask from the model in ${Math.round(res.latency_ms)} ms.`);
      })
      .catch((err: unknown) => {
        if (this.state.kind !== "waiting" || this.state.token !== token) return;
        this.state = { kind: "idle" };
        this.ctx.redrawUi();
        this.ctx.notify(err instanceof ApiError ? err.message : String(err), "error");
      });
  }

  private apply(mask: Mask, classId: number): void {
    const doc = this.ctx.doc;
    const cls = doc.labelClass(classId);
    const layer = cls?.kind === "semantic" ? doc.semanticLayer(classId) : null;
    if (layer) {
      const rect = mask.region;
      const before = layer.mask.read(rect);
      const after = before.slice();
      for (let i = 0; i < after.length; i++) after[i] |= mask.data[i];
      const changes: Change[] = [{ kind: "pixels", key: layer.key, rect, before, after }];
      this.ctx.history.commit({ label: "assist", changes });
      doc.select(layer.key);
      return;
    }
    const item = doc.createItem(classId);
    item.mask = mask;
    this.ctx.history.commit({ label: "assist", changes: [{ kind: "add", item }] });
    doc.select(item.key);
  }

  override command(id: CommandId): boolean {
    if (id === "escape" && this.state.kind !== "idle") {
      this.cancel();
      this.ctx.redrawUi();
      return true;
    }
    return false;
  }

  override cancel(): void {
    this.state = { kind: "idle" };
  }

  override drawUi(g: CanvasRenderingContext2D, view: Viewport): void {
    let box: Rect | null = null;
    if (this.state.kind === "dragging") box = normalizeBox(this.state.start, this.state.end);
    if (this.state.kind === "waiting") box = this.state.box;
    if (!box) return;
    const r = view.rectToScreen(box);
    g.save();
    g.setLineDash(this.state.kind === "waiting" ? [4, 4] : []);
    g.strokeStyle = "#4dabf7";
    g.lineWidth = 2;
    g.strokeRect(r.x, r.y, r.w, r.h);
    g.restore();
  }
}
