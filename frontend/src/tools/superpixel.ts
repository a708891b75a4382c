/**
 * Superpixel painting: hover outlines the superpixel under the pointer, click or drag adds whole
 * superpixels to the target annotation, Alt removes them; [ and ] step to finer / coarser ones.
 * idle -> painting -> commit (one history entry per drag, before/after of the touched rect only).
 * The superpixels load on first use (the server made them after upload, or makes them now).
 */
import type { AnnotationItem, Change } from "../document";
import { type Rect, EMPTY_RECT, isEmpty, union } from "../geometry";
import type { CommandId } from "../keymap";
import type { Mask } from "../mask";
import type { Superpixels } from "../superpixels";
import type { Viewport } from "../viewport";
import { BaseTool, type ToolPointer, acceptOnEdit } from "./tool";

type PaintState =
  | { kind: "idle" }
  | { kind: "painting"; item: AnnotationItem; created: boolean; before: Mask; dirty: Rect; value: 0 | 1; done: Set<number>; last: { x: number; y: number } };

export class SuperpixelTool extends BaseTool {
  readonly name = "superpixel" as const;
  readonly cursor = "crosshair";
  private state: PaintState = { kind: "idle" };
  private hover: { level: number; label: number } | null = null;
  /** Time of the last lookup (ms), read by the browser test and the benchmark. */
  lastLookupMs = 0;

  private data(): Superpixels | null {
    const sp = this.ctx.superpixels();
    if (!sp) this.ctx.notify("Loading superpixels…");
    return sp;
  }

  pointerDown(p: ToolPointer): void {
    if (this.state.kind !== "idle") return;
    const sp = this.data();
    if (!sp) return;
    const value: 0 | 1 = p.alt ? 0 : 1;
    const t = this.ctx.resolveTarget(value === 1);
    if (!t) {
      this.ctx.notify(value === 1 ? "Pick a class first (keys 1-9)." : "Select the annotation to remove superpixels from.", "error");
      return;
    }
    if (t.created) this.ctx.doc.applyChange({ kind: "add", item: t.item }, "forward");
    this.ctx.doc.select(t.item.key);
    this.state = { kind: "painting", item: t.item, created: t.created, before: t.item.mask.clone(), dirty: EMPTY_RECT, value, done: new Set(), last: { x: p.x, y: p.y } };
    this.ctx.setGestureActive(true);
    this.paintAt(sp, p.x, p.y);
  }

  override pointerMove(p: ToolPointer): void {
    const sp = this.ctx.superpixels();
    if (!sp) return;
    const level = this.ctx.superpixelLevel();
    const t0 = performance.now();
    const label = sp.labelAt(level, p.x, p.y);
    this.lastLookupMs = performance.now() - t0;
    const hover = label < 0 ? null : { level, label };
    if (hover?.label !== this.hover?.label || hover?.level !== this.hover?.level) {
      this.hover = hover;
      this.ctx.redrawUi();
    }
    if (this.state.kind !== "painting") return;
    // Sample the path between pointer events at a cell's width, so a fast drag skips no superpixel.
    const { x: ax, y: ay } = this.state.last;
    const steps = Math.max(1, Math.ceil(Math.hypot(p.x - ax, p.y - ay) / sp.factor));
    for (let i = 1; i <= steps; i++) this.paintAt(sp, ax + ((p.x - ax) * i) / steps, ay + ((p.y - ay) * i) / steps);
    this.state.last = { x: p.x, y: p.y };
  }

  private paintAt(sp: Superpixels, x: number, y: number): void {
    if (this.state.kind !== "painting") return;
    const level = this.ctx.superpixelLevel();
    const label = sp.labelAt(level, x, y);
    if (label < 0 || this.state.done.has(label)) return;
    this.state.done.add(label);
    const rect = sp.paint(this.state.item.mask, level, label, this.state.value);
    if (isEmpty(rect)) return;
    this.state.dirty = union(this.state.dirty, rect);
    this.ctx.doc.touched(this.state.item, rect);
  }

  override pointerUp(p: ToolPointer): void {
    if (this.state.kind !== "painting") return;
    const sp = this.ctx.superpixels();
    if (sp) this.paintAt(sp, p.x, p.y);
    const { item, created, before, dirty, value } = this.state;
    this.state = { kind: "idle" };
    this.ctx.setGestureActive(false);
    if (isEmpty(dirty)) {
      if (created) this.ctx.doc.applyChange({ kind: "remove", item }, "forward");
      return;
    }
    const changes: Change[] = [];
    if (created) changes.push({ kind: "add", item });
    changes.push({ kind: "pixels", key: item.key, rect: dirty, before: before.read(dirty), after: item.mask.read(dirty) });
    const after: Change[] = [];
    const accept = acceptOnEdit(item);
    if (accept) after.push(accept);
    if (value === 0 && item.mask.isBlank()) after.push({ kind: "remove", item });
    for (const c of after) this.ctx.doc.applyChange(c, "forward");
    this.ctx.history.record({ label: "superpixels", changes: [...changes, ...after] });
  }

  override command(id: CommandId): boolean {
    // [ and ] size the brush elsewhere; here they step through the granularities (0 = coarsest).
    if (id === "brush.smaller" || id === "brush.larger") {
      this.ctx.setSuperpixelLevel(this.ctx.superpixelLevel() + (id === "brush.smaller" ? 1 : -1));
      this.hover = null;
      this.ctx.redrawUi();
      return true;
    }
    return false;
  }

  override cancel(): void {
    if (this.state.kind === "painting") {
      const { item, created, before, dirty } = this.state;
      if (!isEmpty(dirty)) {
        item.mask.write(dirty, before.read(dirty));
        this.ctx.doc.touched(item, dirty);
      }
      if (created) this.ctx.doc.applyChange({ kind: "remove", item }, "forward");
    }
    this.state = { kind: "idle" };
    this.hover = null;
    this.ctx.setGestureActive(false);
  }

  override drawUi(g: CanvasRenderingContext2D, view: Viewport): void {
    const sp = this.ctx.superpixels();
    if (!sp || !this.hover || this.hover.level !== this.ctx.superpixelLevel()) return;
    const edges = sp.outline(this.hover.level, this.hover.label);
    g.save();
    g.beginPath();
    for (let i = 0; i < edges.length; i += 4) {
      const a = view.toScreen(edges[i], edges[i + 1]);
      const b = view.toScreen(edges[i + 2], edges[i + 3]);
      g.moveTo(a.x, a.y);
      g.lineTo(b.x, b.y);
    }
    g.lineWidth = 3;
    g.strokeStyle = "rgba(0,0,0,0.7)";
    g.stroke();
    g.lineWidth = 1.5;
    g.strokeStyle = "#ffe066";
    g.stroke();
    g.restore();
  }
}
