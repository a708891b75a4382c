/**
 * Brush and eraser: idle -> drawing -> commit. Each touched mask gets a Stroke (stroke.ts:
 * painted live, repainting only dirty rectangles), and on release one history entry records the
 * before/after pixels of each stroke's rectangle only.
 */
import type { AnnotationItem, Change } from "../document";
import { type Point, isEmpty } from "../geometry";
import type { Viewport } from "../viewport";
import { Stroke } from "./stroke";
import { BaseTool, type ToolContext, type ToolName, type ToolPointer, acceptOnEdit } from "./tool";

interface StrokeTarget {
  item: AnnotationItem;
  created: boolean;
  stroke: Stroke;
}

type BrushState =
  | { kind: "idle" }
  | { kind: "drawing"; targets: StrokeTarget[]; last: Point };

export class BrushTool extends BaseTool {
  readonly cursor = "none";
  private state: BrushState = { kind: "idle" };
  private hover: ToolPointer | null = null;

  constructor(
    ctx: ToolContext,
    readonly name: Extract<ToolName, "brush" | "eraser">,
  ) {
    super(ctx);
  }

  private get value(): 0 | 1 {
    return this.name === "brush" ? 1 : 0;
  }

  pointerDown(p: ToolPointer): void {
    if (this.state.kind !== "idle") return;
    const targets: StrokeTarget[] = [];
    if (this.value === 1) {
      const t = this.ctx.resolveTarget(true);
      if (!t) {
        this.ctx.notify("Pick a class first (keys 1-9).", "error");
        return;
      }
      if (t.created) this.ctx.doc.applyChange({ kind: "add", item: t.item }, "forward");
      targets.push({ item: t.item, created: t.created, stroke: new Stroke(t.item.mask) });
      this.ctx.doc.select(t.item.key);
    } else {
      // The eraser works on the selection, or on everything visible when nothing is selected.
      const sel = this.ctx.doc.selected;
      const items = sel ? [sel] : this.ctx.doc.list().filter((i) => i.visible);
      for (const item of items) targets.push({ item, created: false, stroke: new Stroke(item.mask) });
    }
    this.state = { kind: "drawing", targets, last: { x: p.x, y: p.y } };
    this.ctx.setGestureActive(true);
    this.paint({ x: p.x, y: p.y }, { x: p.x, y: p.y });
  }

  override pointerMove(p: ToolPointer): void {
    this.hover = p;
    if (this.state.kind === "drawing") {
      const from = this.state.last;
      this.state.last = { x: p.x, y: p.y };
      this.paint(from, { x: p.x, y: p.y });
    }
    this.ctx.redrawUi();
  }

  override pointerUp(p: ToolPointer): void {
    if (this.state.kind !== "drawing") return;
    this.paint(this.state.last, { x: p.x, y: p.y });
    this.commit();
  }

  private paint(a: Point, b: Point): void {
    if (this.state.kind !== "drawing") return;
    const r = this.ctx.brushRadius();
    for (const t of this.state.targets) {
      const rect = t.stroke.paint(a, b, r, this.value);
      if (!isEmpty(rect)) this.ctx.doc.touched(t.item, rect);
    }
  }

  private commit(): void {
    if (this.state.kind !== "drawing") return;
    const changes: Change[] = [];
    const after: Change[] = [];
    for (const t of this.state.targets) {
      const result = t.stroke.result();
      if (!result) {
        // A new annotation the stroke left empty (a tiny brush between pixel centres) goes away, unrecorded.
        if (t.created) this.ctx.doc.applyChange({ kind: "remove", item: t.item }, "forward");
        continue;
      }
      if (t.created) changes.push({ kind: "add", item: t.item });
      changes.push({ kind: "pixels", key: t.item.key, ...result });
      const accept = acceptOnEdit(t.item);
      if (accept) after.push(accept);
      // Erased to nothing: the annotation goes away in the same undo step.
      if (this.value === 0 && t.item.mask.isBlank()) after.push({ kind: "remove", item: t.item });
    }
    this.state = { kind: "idle" };
    this.ctx.setGestureActive(false);
    for (const c of after) this.ctx.doc.applyChange(c, "forward");
    this.ctx.history.record({ label: this.name, changes: [...changes, ...after] });
  }

  override cancel(): void {
    if (this.state.kind === "drawing") {
      // Abandoned stroke (tool switch mid-drag): put the pixels back, as if it never happened.
      for (const t of this.state.targets) {
        const rect = t.stroke.revert();
        if (!isEmpty(rect)) this.ctx.doc.touched(t.item, rect);
        if (t.created) this.ctx.doc.applyChange({ kind: "remove", item: t.item }, "forward");
      }
    }
    this.state = { kind: "idle" };
    this.hover = null;
    this.ctx.setGestureActive(false);
  }

  override drawUi(g: CanvasRenderingContext2D, view: Viewport): void {
    if (!this.hover) return;
    const r = this.ctx.brushRadius() * view.scale;
    g.save();
    g.beginPath();
    g.arc(this.hover.sx, this.hover.sy, Math.max(r, 1), 0, Math.PI * 2);
    g.lineWidth = 1.5;
    g.strokeStyle = this.name === "brush" ? "#ffffff" : "#ff6b6b";
    g.stroke();
    g.beginPath();
    g.arc(this.hover.sx, this.hover.sy, Math.max(r, 1) + 1.5, 0, Math.PI * 2);
    g.strokeStyle = "rgba(0,0,0,0.6)";
    g.lineWidth = 1;
    g.stroke();
    g.restore();
  }
}
