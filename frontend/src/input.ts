/**
 * Input routing. Pointer: a left drag goes to the active tool (in image coordinates, with the
 * browser's coalesced samples), a middle drag or Space+drag pans, the wheel zooms at the
 * pointer (the view emits its own change). Keys: the project's class hotkeys, then the keymap's
 * commands.
 */
import type { LabelClass } from "./document";
import { type CommandId, binding, bindingFor } from "./keymap";
import type { Tool, ToolPointer } from "./tools/tool";
import type { Viewport } from "./viewport";

export interface KeyTargets {
  classes: readonly LabelClass[];
  pickClass(cls: LabelClass): void;
  /** False when the command found nothing to do (Enter with no shape open). */
  run(command: CommandId): boolean;
}

export function dispatchKey(e: KeyboardEvent, to: KeyTargets): void {
  const target = e.target;
  if (target instanceof HTMLInputElement && target.type !== "range" && target.type !== "checkbox") return;
  if (!(e.ctrlKey || e.metaKey)) {
    if (e.altKey) return;
    const cls = to.classes.find((c) => c.hotkey !== "" && c.hotkey === e.key);
    if (cls) {
      to.pickClass(cls);
      return;
    }
  }
  const b = bindingFor(e);
  // A key that did nothing keeps its default (Enter still presses a focused button).
  if (b && to.run(b.command)) e.preventDefault();
}

export class StageInput {
  /** Held Space (the keymap's "pan" command sets it): a left drag pans instead of drawing. */
  panKeyDown = false;
  private pan: { x: number; y: number; id: number } | null = null;
  private drawingPointer: number | null = null;

  constructor(
    private readonly stage: HTMLElement,
    private readonly view: Viewport,
    private readonly tool: () => Tool,
    private readonly onLeave: () => void,
  ) {
    stage.addEventListener("pointerdown", (e) => this.down(e));
    stage.addEventListener("pointermove", (e) => this.move(e));
    stage.addEventListener("pointerup", (e) => this.up(e));
    stage.addEventListener("pointercancel", (e) => this.up(e));
    stage.addEventListener("pointerleave", () => this.onLeave());
    stage.addEventListener("auxclick", (e) => e.preventDefault());
    stage.addEventListener("contextmenu", (e) => {
      if (this.tool().rightButtonAlt) e.preventDefault();
    });
    stage.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const r = stage.getBoundingClientRect();
        this.view.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
      },
      { passive: false },
    );
    window.addEventListener("keyup", (e) => {
      if (e.key === binding("pan").chords[0].key) this.panKeyDown = false;
    });
  }

  private pointer(e: PointerEvent, alt = e.altKey): ToolPointer {
    const r = this.stage.getBoundingClientRect();
    const sx = e.clientX - r.left;
    const sy = e.clientY - r.top;
    const p = this.view.toImage(sx, sy);
    return { x: p.x, y: p.y, sx, sy, shift: e.shiftKey, alt };
  }

  private down(e: PointerEvent): void {
    this.stage.focus({ preventScroll: true });
    if (e.button === 1 || (e.button === 0 && this.panKeyDown)) {
      e.preventDefault();
      this.pan = { x: e.clientX, y: e.clientY, id: e.pointerId };
      this.stage.setPointerCapture(e.pointerId);
      this.stage.style.cursor = "grabbing";
      return;
    }
    // The right button draws only with a tool that takes it as Alt (the void tool's erase).
    const right = e.button === 2 && this.tool().rightButtonAlt;
    if (e.button !== 0 && !right) return;
    this.drawingPointer = e.pointerId;
    this.stage.setPointerCapture(e.pointerId);
    this.tool().pointerDown(this.pointer(e, e.altKey || right));
  }

  private move(e: PointerEvent): void {
    if (this.pan && this.pan.id === e.pointerId) {
      this.view.pan(e.clientX - this.pan.x, e.clientY - this.pan.y);
      this.pan.x = e.clientX;
      this.pan.y = e.clientY;
      return;
    }
    // Coalesced samples keep fast strokes round instead of polygonal.
    const samples = this.drawingPointer === e.pointerId && typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const s of samples.length > 0 ? samples : [e]) this.tool().pointerMove(this.pointer(s));
  }

  private up(e: PointerEvent): void {
    if (this.pan && this.pan.id === e.pointerId) {
      this.pan = null;
      this.stage.style.cursor = this.tool().cursor;
      return;
    }
    if (this.drawingPointer !== e.pointerId) return;
    this.drawingPointer = null;
    this.tool().pointerUp(this.pointer(e));
  }
}
