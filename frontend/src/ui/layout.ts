/**
 * The editor's page: top bar (navigation, tools, undo/redo, zoom, status, save), the stage the
 * canvases live in, and the side panel. Builds the elements once and hands back typed handles;
 * every button runs a command of the keymap, so its label and tooltip come from there.
 */
import { type CommandId, KEYMAP, buttonTitle, chordText } from "../keymap";
import type { ToolName } from "../tools/tool";
import { h } from "./dom";

export interface Layout {
  stage: HTMLElement;
  palette: HTMLElement;
  instances: HTMLElement;
  status: HTMLElement;
  toast: HTMLElement;
  banner: HTMLElement;
  toolButtons: Map<ToolName, HTMLButtonElement>;
  size: HTMLElement;
  zoom: HTMLElement;
  opacity: HTMLInputElement;
  outline: HTMLInputElement;
  title: HTMLElement;
  undo: HTMLButtonElement;
  redo: HTMLButtonElement;
  imageStatus: HTMLElement;
  /** Tool options: superpixel granularity (0 = coarsest), wand tolerance, what answers the box. */
  granularity: HTMLInputElement;
  tolerance: HTMLInputElement;
  toleranceValue: HTMLElement;
  assistMethod: HTMLSelectElement;
}

/** Fills `root` with the editor's elements; buttons call `run` with their command. */
export function buildLayout(root: HTMLElement, run: (command: CommandId) => void): Layout {
  const button = (command: CommandId, text: string, attrs: { [name: string]: string } = {}): HTMLButtonElement => {
    const b = h("button", { type: "button", className: "lbl-btn", title: buttonTitle(command), ...attrs }, text);
    b.addEventListener("click", () => run(command));
    return b;
  };
  const toolButtons = new Map<ToolName, HTMLButtonElement>();
  const toolbar = h("div", { className: "lbl-tools", role: "toolbar" });
  for (const b of KEYMAP) {
    if (!b.tool) continue;
    const el = button(b.command, b.label, { className: "lbl-btn lbl-tool", "data-tool": b.tool });
    el.append(h("kbd", {}, chordText(b.chords[0])));
    toolbar.append(el);
    toolButtons.set(b.tool, el);
  }
  const undo = button("undo", "↶", { "data-action": "undo" });
  const redo = button("redo", "↷", { "data-action": "redo" });
  const opacity = h("input", { type: "range", min: 0, max: 100, value: 50, "aria-label": "Mask opacity", "data-control": "opacity" });
  const outline = h("input", { type: "checkbox", "data-control": "outline" });
  const granularity = h("input", { type: "range", min: 0, max: 2, step: 1, value: 1, "aria-label": "Superpixel granularity", "data-control": "granularity" });
  const tolerance = h("input", { type: "range", min: 0, max: 128, step: 1, value: 24, "aria-label": "Wand tolerance", "data-control": "tolerance" });
  const assistMethod = h("select", { "aria-label": "Box assist", "data-control": "assist-method" },
    h("option", { value: "auto" }, "Auto: model, GrabCut or thin"), h("option", { value: "grabcut" }, "GrabCut"),
    h("option", { value: "thin" }, "Thin object (paths)"), h("option", { value: "model" }, "Model"));
  const el: Layout = {
    stage: h("div", { className: "lbl-stage", tabindex: 0 }),
    palette: h("div", { className: "lbl-palette" }),
    instances: h("ul", { className: "lbl-instances" }),
    status: h("span", { className: "lbl-status", "data-save-state": "saved", role: "status" }, "Loading…"),
    toast: h("div", { className: "lbl-toast", role: "alert" }),
    banner: h("div", { className: "lbl-banner", hidden: true }),
    toolButtons,
    size: h("span", { className: "lbl-size" }),
    zoom: h("span", { className: "lbl-zoom" }),
    opacity,
    outline,
    title: h("span", { className: "lbl-title" }),
    undo,
    redo,
    imageStatus: h("span", { className: "lbl-image-status" }),
    granularity,
    tolerance,
    toleranceValue: h("span", { className: "lbl-tolerance" }),
    assistMethod,
  };
  root.classList.add("lbl-editor");
  root.replaceChildren(
    h(
      "div",
      { className: "lbl-bar" },
      button("image.prev", "◀"),
      button("image.next", "▶"),
      el.title,
      toolbar,
      el.size,
      undo,
      redo,
      button("zoom.fit", "Fit"),
      button("zoom.actual", "1:1"),
      el.zoom,
      h("span", { className: "lbl-spacer" }),
      el.imageStatus,
      el.status,
      button("save", "Save", { className: "lbl-btn lbl-primary", "data-action": "save" }),
      button("done", "Done ✓", { "data-action": "done" }),
      button("help", "?"),
    ),
    el.banner,
    h(
      "div",
      { className: "lbl-body" },
      el.stage,
      h(
        "aside",
        { className: "lbl-side" },
        h("h3", {}, "Classes"),
        el.palette,
        h("h3", {}, "View"),
        h("label", { className: "lbl-row" }, "Opacity ", opacity),
        h("label", { className: "lbl-row" }, outline, " Outline only"),
        h("h3", {}, "Tools"),
        h("label", { className: "lbl-row", title: "[ finer, ] coarser" }, "Superpixels: coarse ", granularity, " fine"),
        h("label", { className: "lbl-row" }, "Wand tolerance ", tolerance, " ", el.toleranceValue),
        h("label", { className: "lbl-row" }, "Box ", assistMethod),
        h("h3", {}, "Annotations"),
        button("accept-all", "Accept all proposals", { "data-action": "accept-all" }),
        el.instances,
      ),
    ),
    el.toast,
  );
  return el;
}
