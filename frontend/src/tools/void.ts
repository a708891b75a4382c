/**
 * The void tool: paints the image's void (ignore) region with the brush's stroke (stroke.ts) and
 * size; Alt (or the right button) erases. Works on the document's void layer, never on an
 * annotation, and records one history entry per finished stroke.
 */
import type { Point } from "../geometry";
import { isEmpty } from "../geometry";
import type { Viewport } from "../viewport";
import { Stroke } from "./stroke";
import { BaseTool, type ToolPointer } from "./tool";

type VoidState = { kind: "idle" } | { kind: "drawing"; stroke: Stroke; last: Point; value: 0 | 1; since: number };

export class VoidTool extends BaseTool {
  readonly name = "void";
  readonly cursor = "none";
  override readonly rightButtonAlt = true;
  private state: VoidState = { kind: "idle" };
  private hover: ToolPointer | null = null;

  pointerDown(p: ToolPointer): void {
    if (this.state.kind !== "idle") return;
    const doc = this.ctx.doc;
    // Painting what one cannot see helps nobody: the layer shows again.
    doc.setVoidVisible(true);
    const mask = doc.voidLayer.mask;
    this.state = { kind: "drawing", stroke: new Stroke(mask), last: { x: p.x, y: p.y }, value: p.alt ? 0 : 1, since: mask.rev };
    this.hover = p;
    this.ctx.setGestureActive(true);
    this.paint({ x: p.x, y: p.y }, { x: p.x, y: p.y });
  }

  override pointerMove(p: ToolPointer): void {
    if (this.state.kind === "drawing") {
      const from = this.state.last;
      this.state.last = { x: p.x, y: p.y };
      this.paint(from, { x: p.x, y: p.y });
      this.hover = { ...p, alt: this.state.value === 0 };
    } else {
      this.hover = p;
    }
    this.ctx.redrawUi();
  }

  override pointerUp(p: ToolPointer): void {
    if (this.state.kind !== "drawing") return;
    this.paint(this.state.last, { x: p.x, y: p.y });
    const { stroke, value, since } = this.state;
    this.state = { kind: "idle" };
    this.ctx.setGestureActive(false);
    const result = stroke.result();
    if (result) this.ctx.doc.voidLayer.recount(result.before, result.after, since);
    if (result) this.ctx.history.record({ label: value === 1 ? "void" : "void erase", changes: [{ kind: "void", ...result }] });
  }

  private paint(a: Point, b: Point): void {
    if (this.state.kind !== "drawing") return;
    const rect = this.state.stroke.paint(a, b, this.ctx.brushRadius(), this.state.value);
    if (!isEmpty(rect)) this.ctx.doc.voidTouched(rect);
  }

  override cancel(): void {
    if (this.state.kind === "drawing") {
      const rect = this.state.stroke.revert();
      if (!isEmpty(rect)) this.ctx.doc.voidTouched(rect);
    }
    this.state = { kind: "idle" };
    this.hover = null;
    this.ctx.setGestureActive(false);
  }

  override drawUi(g: CanvasRenderingContext2D, view: Viewport): void {
    if (!this.hover) return;
    const r = Math.max(this.ctx.brushRadius() * view.scale, 1);
    g.save();
    g.beginPath();
    g.arc(this.hover.sx, this.hover.sy, r, 0, Math.PI * 2);
    g.lineWidth = 1.5;
    g.setLineDash([4, 3]);
    g.strokeStyle = this.hover.alt ? "#ff6b6b" : "#e0e0e0";
    g.stroke();
    g.setLineDash([]);
    g.beginPath();
    g.arc(this.hover.sx, this.hover.sy, r + 1.5, 0, Math.PI * 2);
    g.strokeStyle = "rgba(0,0,0,0.6)";
    g.lineWidth = 1;
    g.stroke();
    g.restore();
  }
}
