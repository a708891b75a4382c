/** Every tool of the editor, built over one context; the order is the toolbar's. */
import type { Api } from "../api";
import type { EditorDocument, LabelClass } from "../document";
import type { History } from "../history";
import type { ImageSources } from "../image-sources";
import type { Renderer } from "../render/renderer";
import type { Store } from "../store";
import type { EditorState } from "../ui/chrome";
import type { Viewport } from "../viewport";
import { BoxAssistTool } from "./box";
import { BrushTool } from "./brush";
import { FillTool } from "./fill";
import { PolygonTool } from "./polygon";
import { SelectTool } from "./select";
import { SuperpixelTool } from "./superpixel";
import { VoidTool } from "./void";
import { type Tool, type ToolContext, paintTarget } from "./tool";
import { WandTool } from "./wand";

/** What the tools reach of the editor. */
export interface ToolHost {
  readonly doc: EditorDocument;
  readonly history: History;
  readonly view: Viewport;
  readonly api: Api;
  readonly state: Store<EditorState>;
  readonly sources: ImageSources;
  readonly renderer: Renderer;
  currentClass(): LabelClass | null;
  setSuperpixelLevel(level: number): void;
  notify(message: string, level?: "info" | "error"): void;
}

export function buildTools(host: ToolHost): Tool[] {
  const state = () => host.state.value;
  const ctx: ToolContext = {
    doc: host.doc,
    history: host.history,
    view: host.view,
    api: host.api,
    imageId: state().image.id,
    brushRadius: () => state().radius,
    currentClass: () => host.currentClass(),
    resolveTarget: (create) => paintTarget(host.doc, host.currentClass(), create),
    superpixels: () => host.sources.superpixelsNow(),
    superpixelLevel: () => state().superpixelLevel,
    setSuperpixelLevel: (level) => host.setSuperpixelLevel(level),
    imagePixels: () => host.sources.imagePixels(),
    wandTolerance: () => state().tolerance,
    assistMethod: () => state().assistMethod,
    notify: (m, level) => host.notify(m, level),
    setGestureActive: (a) => {
      host.renderer.gestureActive = a;
    },
    redrawUi: () => host.renderer.invalidateUi(),
  };
  return [
    new SelectTool(ctx), new BrushTool(ctx, "brush"), new BrushTool(ctx, "eraser"), new PolygonTool(ctx),
    new FillTool(ctx), new BoxAssistTool(ctx), new SuperpixelTool(ctx), new WandTool(ctx),
    new VoidTool(ctx),
  ];
}
