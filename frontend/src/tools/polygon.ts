/**
 * Polygon: click vertices; drag a vertex to move it before closing; close by clicking the
 * first vertex or with the "confirm" command (Enter); "delete" drops the last vertex; "escape" abandons.
 * Closing fills the polygon (pixel centres inside, even-odd) into the target as one undo step.
 */
import type { Change } from "../document";
import { type Point, isEmpty, polygonRect } from "../geometry";
import { fillPolygon } from "../raster";
import type { CommandId } from "../keymap";
import type { Viewport } from "../viewport";
import { BaseTool, type ToolPointer, acceptOnEdit } from "./tool";

type PolygonState =
  | { kind: "idle" }
  | { kind: "drawing"; points: Point[]; dragging: number | null };

/** Screen distance (px) within which a click grabs a vertex. */
export const SNAP_PX = 8;

export class PolygonTool extends BaseTool {
  readonly name = "polygon" as const;
  readonly cursor = "crosshair";
  private state: PolygonState = { kind: "idle" };
  private hover: ToolPointer | null = null;

  get points(): readonly Point[] {
    return this.state.kind === "drawing" ? this.state.points : [];
  }

  private vertexAt(p: ToolPointer): number {
    if (this.state.kind !== "drawing") return -1;
    const view = this.ctx.view;
    let best = -1;
    let bestD = SNAP_PX;
    this.state.points.forEach((v, i) => {
      const s = view.toScreen(v.x, v.y);
      const d = Math.hypot(s.x - p.sx, s.y - p.sy);
      if (d <= bestD) {
        best = i;
        bestD = d;
      }
    });
    return best;
  }

  pointerDown(p: ToolPointer): void {
    if (this.state.kind === "idle") {
      this.state = { kind: "drawing", points: [{ x: p.x, y: p.y }], dragging: null };
      this.ctx.redrawUi();
      return;
    }
    const hit = this.vertexAt(p);
    if (hit === 0 && this.state.points.length >= 3) {
      this.close();
      return;
    }
    if (hit >= 0) {
      this.state.dragging = hit;
    } else {
      this.state.points.push({ x: p.x, y: p.y });
    }
    this.ctx.redrawUi();
  }

  override pointerMove(p: ToolPointer): void {
    this.hover = p;
    if (this.state.kind === "drawing" && this.state.dragging !== null) {
      this.state.points[this.state.dragging] = { x: p.x, y: p.y };
    }
    this.ctx.redrawUi();
  }

  override pointerUp(): void {
    if (this.state.kind === "drawing") this.state.dragging = null;
  }

  override command(id: CommandId): boolean {
    if (this.state.kind !== "drawing") return false;
    switch (id) {
      case "confirm":
        this.close();
        return true;
      case "escape":
        this.cancel();
        this.ctx.redrawUi();
        return true;
      case "delete":
        this.state.points.pop();
        if (this.state.points.length === 0) this.state = { kind: "idle" };
        this.ctx.redrawUi();
        return true;
      default:
        return false;
    }
  }

  /** Fills the polygon into the target and records one history entry. */
  close(): void {
    if (this.state.kind !== "drawing") return;
    const points = this.state.points;
    this.state = { kind: "idle" };
    this.ctx.redrawUi();
    if (points.length < 3) return;
    const t = this.ctx.resolveTarget(true);
    if (!t) {
      this.ctx.notify("Pick a class first (keys 1-9).", "error");
      return;
    }
    const doc = this.ctx.doc;
    const mask = t.item.mask;
    const rect = polygonRect(points, mask.imageRect);
    if (isEmpty(rect)) return;
    const before = mask.read(rect);
    const changes: Change[] = [];
    if (t.created) {
      doc.applyChange({ kind: "add", item: t.item }, "forward");
      changes.push({ kind: "add", item: t.item });
    }
    fillPolygon(mask, points, 1);
    doc.touched(t.item, rect);
    changes.push({ kind: "pixels", key: t.item.key, rect, before, after: mask.read(rect) });
    const accept = acceptOnEdit(t.item);
    if (accept) {
      doc.applyChange(accept, "forward");
      changes.push(accept);
    }
    this.ctx.history.record({ label: "polygon", changes });
    doc.select(t.item.key);
  }

  override cancel(): void {
    this.state = { kind: "idle" };
    this.hover = null;
  }

  override drawUi(g: CanvasRenderingContext2D, view: Viewport): void {
    if (this.state.kind !== "drawing") return;
    const pts = this.state.points.map((q) => view.toScreen(q.x, q.y));
    g.save();
    g.lineWidth = 1.5;
    g.strokeStyle = "#ffe066";
    g.fillStyle = "rgba(255,224,102,0.15)";
    g.beginPath();
    pts.forEach((q, i) => (i === 0 ? g.moveTo(q.x, q.y) : g.lineTo(q.x, q.y)));
    if (this.hover && this.state.dragging === null) g.lineTo(this.hover.sx, this.hover.sy);
    g.stroke();
    if (pts.length >= 3) {
      g.closePath();
      g.fill();
    }
    pts.forEach((q, i) => {
      g.beginPath();
      g.rect(q.x - 3.5, q.y - 3.5, 7, 7);
      g.fillStyle = i === 0 ? "#ffe066" : "#ffffff";
      g.fill();
      g.strokeStyle = "#000000";
      g.lineWidth = 1;
      g.stroke();
    });
    g.restore();
  }
}
