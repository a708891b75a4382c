/**
 * The chrome around the canvas follows the state it shows: the undo/redo buttons follow the
 * history, the class palette and annotation list the document, the zoom readout the view, the
 * status line and conflict banner the save controller, title, tool buttons and brush size the
 * editor's own state. Nothing calls it by hand after a change; it subscribes once.
 */
import type { AssistMethod, ImageDto, ProjectDto } from "../api";
import type { EditorDocument } from "../document";
import type { History } from "../history";
import type { SaveController } from "../save";
import type { Store } from "../store";
import type { ToolName } from "../tools/tool";
import type { Viewport } from "../viewport";
import { type ConflictBanner, saveStateText } from "./banner";
import type { Layout } from "./layout";
import { type PanelActions, renderInstances, renderPalette } from "./panels";

/** What the editor holds besides the document. */
export interface EditorState {
  project: ProjectDto;
  image: ImageDto;
  tool: ToolName;
  classId: number | null;
  /** Brush radius in image pixels. */
  radius: number;
  /** Superpixel granularity in use (0 = coarsest) and how many there are (once loaded). */
  superpixelLevel: number;
  superpixelLevels: number;
  /** Magic wand tolerance, 0-255 per channel. */
  tolerance: number;
  assistMethod: AssistMethod;
}

export interface ChromeSources {
  doc: EditorDocument;
  history: History;
  view: Viewport;
  saver: SaveController;
  state: Store<EditorState>;
}

export function bindChrome(el: Layout, src: ChromeSources, actions: PanelActions, conflict: ConflictBanner): void {
  const { doc, history, view, saver, state } = src;
  // With the void tool the Void row is the current one, not the class.
  const palette = (): void => {
    const voidTool = state.value.tool === "void";
    renderPalette(el.palette, doc, voidTool ? null : state.value.classId, actions, voidTool);
  };
  const editorState = (s: Readonly<EditorState>): void => {
    el.title.textContent = `${s.project.name} / ${s.image.file_name}`;
    el.size.textContent = `⌀ ${Math.round(s.radius * 2)} px`;
    el.imageStatus.textContent = s.image.status.replace("_", " ");
    for (const [name, b] of el.toolButtons) b.classList.toggle("is-active", name === s.tool);
    el.granularity.max = String(Math.max(0, s.superpixelLevels - 1));
    el.granularity.value = String(s.superpixelLevel);
    el.tolerance.value = String(s.tolerance);
    el.toleranceValue.textContent = String(s.tolerance);
    el.assistMethod.value = s.assistMethod;
    palette();
  };
  const undoRedo = (): void => {
    el.undo.disabled = !history.canUndo;
    el.redo.disabled = !history.canRedo;
    palette(); // the void row's pixel count, once per finished stroke, undo or redo
  };
  const zoom = (): void => {
    el.zoom.textContent = `${Math.round(view.scale * 100)}%`;
  };
  const saveState = (): void => {
    const s = saver.state;
    el.status.textContent = saveStateText(s);
    el.status.dataset.saveState = s.kind;
    if (s.kind === "conflict") conflict.show(s.message);
    else if (s.kind !== "failed") conflict.hide();
  };

  state.events.on("changed", editorState);
  history.events.on("changed", undoRedo);
  view.events.on("changed", zoom);
  saver.events.on("state", saveState);
  doc.events.on("changed", (change) => {
    if (change.kind === "pixels" || change.kind === "void") return;
    palette();
    renderInstances(el.instances, doc, actions);
  });

  editorState(state.value);
  undoRedo();
  zoom();
  saveState();
  renderInstances(el.instances, doc, actions);
}
