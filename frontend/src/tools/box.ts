/**
 * Box assist: drag a box and the server answers with a mask of the object in it: GrabCut when the
 * project has no model version (or when GrabCut is chosen), else the model. Then click to say
 * "this is the object" and Alt-click "this is not": every click sends the box and all clicks so
 * far, and the answer replaces the mask (one undo step per answer). A new drag starts over.
 * idle -> pressing -> waiting -> refining (-> pressing ...); switching tools or Esc ends it.
 */
import { type AssistClickDto, ApiError } from "../api";
import type { Change } from "../document";
import { type Point, type Rect, normalizeBox, union } from "../geometry";
import type { CommandId } from "../keymap";
import { Mask } from "../mask";
import type { Viewport } from "../viewport";
import { BaseTool, type ToolPointer } from "./tool";

/** A box being refined: what it asked, and where its answers went. */
interface Session {
  box: Rect;
  clicks: AssistClickDto[];
  classId: number;
  /** The annotation the answers replace, once the first one came. */
  key: number | null;
  /** That annotation before the first answer (a semantic layer keeps what it had). */
  base: Mask | null;
  /** Every rect an answer wrote, so the next answer can take back what it no longer covers. */
  applied: Rect | null;
}

type BoxState =
  | { kind: "idle" }
  | { kind: "pressing"; start: Point; end: Point; screen: Point; session: Session | null }
  | { kind: "waiting"; session: Session; token: number }
  | { kind: "refining"; session: Session };

/** Screen pixels a press may move and still count as a click. */
const CLICK_SLOP = 4;

export class BoxAssistTool extends BaseTool {
  readonly name = "box" as const;
  readonly cursor = "crosshair";
  private state: BoxState = { kind: "idle" };
  private token = 0;

  pointerDown(p: ToolPointer): void {
    if (this.state.kind === "waiting" || this.state.kind === "pressing") return;
    const session = this.state.kind === "refining" ? this.state.session : null;
    this.state = { kind: "pressing", start: { x: p.x, y: p.y }, end: { x: p.x, y: p.y }, screen: { x: p.sx, y: p.sy }, session };
  }

  override pointerMove(p: ToolPointer): void {
    if (this.state.kind === "pressing") {
      this.state.end = { x: p.x, y: p.y };
      this.ctx.redrawUi();
    }
  }

  override pointerUp(p: ToolPointer): void {
    if (this.state.kind !== "pressing") return;
    const { start, screen, session } = this.state;
    const isClick = Math.hypot(p.sx - screen.x, p.sy - screen.y) < CLICK_SLOP;
    if (isClick) {
      if (!session) {
        this.state = { kind: "idle" };
        this.ctx.notify("Drag a box around the object first; then click to refine.", "error");
        return;
      }
      const click = { x: Math.min(Math.max(0, p.x), this.ctx.doc.width - 0.5), y: Math.min(Math.max(0, p.y), this.ctx.doc.height - 0.5), positive: !p.alt };
      this.ask({ ...session, clicks: [...session.clicks, click] });
      return;
    }
    const b = normalizeBox(start, { x: p.x, y: p.y });
    const box: Rect = { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
    const cls = this.ctx.currentClass();
    if (box.w < 2 || box.h < 2 || !cls) {
      this.state = session ? { kind: "refining", session } : { kind: "idle" };
      this.ctx.redrawUi();
      if (!cls) this.ctx.notify("Pick a class first (keys 1-9).", "error");
      return;
    }
    this.ask({ box, clicks: [], classId: cls.id, key: null, base: null, applied: null });
  }

  private ask(session: Session): void {
    const token = ++this.token;
    this.state = { kind: "waiting", session, token };
    this.ctx.redrawUi();
    const { box } = session;
    const method = this.ctx.assistMethod();
    this.ctx.notify(method === "grabcut" ? "GrabCut is working…" : "Asking for a mask…");
    this.ctx.api
      .assist(this.ctx.imageId, { box: [box.x, box.y, box.w, box.h], clicks: session.clicks, label_class: session.classId, method })
      .then((res) => {
        if (this.state.kind !== "waiting" || this.state.token !== token) return;
        const applied = this.apply(session, Mask.fromRle(res.mask));
        this.state = applied ? { kind: "refining", session: applied } : { kind: "idle" };
        this.ctx.redrawUi();
        const who = res.method === "model" ? "the model" : res.method === "thin" ? "thin-structure paths" : "GrabCut";
        this.ctx.notify(`Mask from ${who} in ${Math.round(res.latency_ms)} ms. Click to add, Alt-click to remove.`);
      })
      .catch((err: unknown) => {
        if (this.state.kind !== "waiting" || this.state.token !== token) return;
        // A refused click leaves the mask as it was; the session goes on without that click.
        const previous = { ...session, clicks: session.clicks.slice(0, -1) };
        this.state = session.key !== null ? { kind: "refining", session: previous } : { kind: "idle" };
        this.ctx.redrawUi();
        this.ctx.notify(err instanceof ApiError ? err.message : String(err), "error");
      });
  }

  /** Writes an answer into the session's annotation (made on the first answer); the updated session. */
  private apply(session: Session, mask: Mask): Session | null {
    const doc = this.ctx.doc;
    const changes: Change[] = [];
    let item = session.key !== null ? doc.get(session.key) : undefined;
    let base = session.base;
    if (session.key !== null && !item) return null; // its annotation was undone or deleted meanwhile
    if (!item) {
      const cls = doc.labelClass(session.classId);
      const layer = cls?.kind === "semantic" ? doc.semanticLayer(session.classId) : null;
      if (layer) {
        item = layer;
      } else {
        item = doc.createItem(session.classId);
        changes.push({ kind: "add", item });
      }
      base = item.mask.clone();
    }
    if (!base) return null;
    let rect = union(mask.region, session.box);
    if (session.applied) rect = union(rect, session.applied);
    const before = item.mask.read(rect);
    const after = base.read(rect);
    const answer = mask.read(rect);
    for (let i = 0; i < after.length; i++) after[i] |= answer[i];
    changes.push({ kind: "pixels", key: item.key, rect, before, after });
    if (item.isProposal) changes.push({ kind: "proposal", key: item.key, before: true, after: false });
    this.ctx.history.commit({ label: "assist", changes });
    doc.select(item.key);
    return { ...session, key: item.key, base, applied: rect };
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
    const s = this.state;
    let box: Rect | null = null;
    let session: Session | null = null;
    if (s.kind === "pressing") {
      session = s.session;
      const moved = Math.hypot(s.end.x - s.start.x, s.end.y - s.start.y) * view.scale >= CLICK_SLOP;
      box = moved ? normalizeBox(s.start, s.end) : (session?.box ?? null);
    } else if (s.kind !== "idle") {
      session = s.session;
      box = session.box;
    }
    if (!box) return;
    const r = view.rectToScreen(box);
    g.save();
    g.setLineDash(s.kind === "waiting" ? [4, 4] : []);
    g.strokeStyle = "#4dabf7";
    g.lineWidth = 2;
    g.strokeRect(r.x, r.y, r.w, r.h);
    g.setLineDash([]);
    for (const c of session?.clicks ?? []) {
      const q = view.toScreen(c.x, c.y);
      g.beginPath();
      g.arc(q.x, q.y, 5, 0, Math.PI * 2);
      g.fillStyle = c.positive ? "#40c057" : "#fa5252";
      g.fill();
      g.lineWidth = 1.5;
      g.strokeStyle = "#ffffff";
      g.stroke();
    }
    g.restore();
  }
}
