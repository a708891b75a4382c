/**
 * The contract every tool implements (tldraw habit): a small state machine that receives
 * pointer events in image coordinates, commits one history entry per finished gesture, and
 * cleans up whatever it was doing when the user switches away (`cancel`).
 */
import type { Api, AssistMethod } from "../api";
import type { CommandId } from "../keymap";
import type { AnnotationItem, EditorDocument, LabelClass } from "../document";
import type { History } from "../history";
import type { Superpixels } from "../superpixels";
import type { Pixels } from "../wand";
import type { Viewport } from "../viewport";

export type ToolName = "select" | "brush" | "eraser" | "polygon" | "fill" | "box" | "superpixel" | "wand" | "void";

export interface ToolPointer {
  /** Image coordinates (fractional). */
  x: number;
  y: number;
  /** Screen (CSS px, relative to the stage). */
  sx: number;
  sy: number;
  shift: boolean;
  alt: boolean;
}

export interface ToolContext {
  readonly doc: EditorDocument;
  readonly history: History;
  readonly view: Viewport;
  readonly api: Api;
  readonly imageId: number;
  brushRadius(): number;
  currentClass(): LabelClass | null;
  /**
   * The annotation a painting tool edits: the class layer of a semantic class, the selected
   * instance when it belongs to the current instance class, else (when `create`) a new one.
   */
  resolveTarget(create: boolean): { item: AnnotationItem; created: boolean } | null;
  /** The image's superpixels, or null while they load (the first call starts loading them). */
  superpixels(): Superpixels | null;
  /** The superpixel granularity in use: 0 is the coarsest. */
  superpixelLevel(): number;
  setSuperpixelLevel(level: number): void;
  /** The decoded photo's pixels (RGBA), or null while it decodes. */
  imagePixels(): Pixels | null;
  /** The magic wand's colour tolerance (0-255 per channel). */
  wandTolerance(): number;
  /** What answers the box assist: the model when there is one (auto), GrabCut, or the model. */
  assistMethod(): AssistMethod;
  notify(message: string, level?: "info" | "error"): void;
  setGestureActive(active: boolean): void;
  redrawUi(): void;
}

export interface Tool {
  readonly name: ToolName;
  readonly cursor: string;
  /** True when a right-button drag runs the tool as an Alt drag (the void tool erases so). */
  readonly rightButtonAlt: boolean;
  pointerDown(p: ToolPointer): void;
  pointerMove(p: ToolPointer): void;
  pointerUp(p: ToolPointer): void;
  /**
   * The tool's first say on every command (from keys or buttons); true when it used it: while a
   * polygon is drawn, Escape cancels the shape rather than the selection and Delete drops a vertex.
   */
  command(id: CommandId): boolean;
  /** Leaves the tool: abandon any half-done gesture without leaving traces. */
  cancel(): void;
  drawUi(ctx: CanvasRenderingContext2D, view: Viewport): void;
}

/**
 * The hooks a tool may leave out: a click-only tool overrides `pointerDown` and nothing else.
 * A tool that keeps state overrides `cancel` to drop it.
 */
export abstract class BaseTool implements Tool {
  abstract readonly name: ToolName;
  abstract readonly cursor: string;
  readonly rightButtonAlt: boolean = false;

  constructor(protected readonly ctx: ToolContext) {}

  abstract pointerDown(p: ToolPointer): void;
  pointerMove(_p: ToolPointer): void {}
  pointerUp(_p: ToolPointer): void {}
  command(_id: CommandId): boolean {
    return false;
  }
  cancel(): void {}
  drawUi(_g: CanvasRenderingContext2D, _view: Viewport): void {}
}

/**
 * The annotation a painting tool edits for class `cls`: the class layer of a semantic class, the
 * selected instance when it belongs to an instance class, else (when `create`) a new one.
 */
export function paintTarget(doc: EditorDocument, cls: LabelClass | null, create: boolean): { item: AnnotationItem; created: boolean } | null {
  if (!cls) return null;
  if (cls.kind === "semantic") {
    const layer = doc.semanticLayer(cls.id);
    if (layer) return { item: layer, created: false };
  } else {
    const sel = doc.selected;
    if (sel && sel.labelClass === cls.id) return { item: sel, created: false };
  }
  return create ? { item: doc.createItem(cls.id), created: true } : null;
}

/** A proposal edited by a person becomes theirs: the change that accepts it, if needed. */
export function acceptOnEdit(item: AnnotationItem): { kind: "proposal"; key: number; before: boolean; after: boolean } | null {
  return item.isProposal ? { kind: "proposal", key: item.key, before: true, after: false } : null;
}
