/**
 * Side panels: class palette, annotation list (class, source, visibility, select, delete),
 * and view settings. Panels read the store and call back; they own no editing logic.
 */
import type { AnnotationItem, EditorDocument, LabelClass } from "../document";
import { h } from "./dom";

export interface PanelActions {
  pickClass(cls: LabelClass): void;
  select(item: AnnotationItem): void;
  toggleVisible(item: AnnotationItem): void;
  remove(item: AnnotationItem): void;
  accept(item: AnnotationItem): void;
  /** The palette's Void row: pick the void tool, show / hide the void region. */
  pickVoid(): void;
  toggleVoid(): void;
}

export function renderPalette(host: HTMLElement, doc: EditorDocument, current: number | null, actions: PanelActions, voidActive = false): void {
  host.replaceChildren(
    ...doc.classes.map((cls) => {
      const b = h(
        "button",
        {
          type: "button",
          className: `lbl-class${cls.id === current ? " is-active" : ""}`,
          "data-class-id": cls.id,
          title: `${cls.name} (${cls.kind})`,
        },
        h("span", { className: "lbl-swatch", style: `background:${cls.color}` }),
        h("span", { className: "lbl-class-name" }, cls.name),
        h("span", { className: "lbl-kind" }, cls.kind === "semantic" ? "sem" : "inst"),
        h("kbd", {}, cls.hotkey || "·"),
      );
      b.addEventListener("click", () => actions.pickClass(cls));
      return b;
    }),
    voidRow(doc, actions, voidActive),
  );
}

/** The void (ignore) region in the legend: hatched swatch, pixel count, visibility; a click picks the void tool. */
function voidRow(doc: EditorDocument, actions: PanelActions, active: boolean): HTMLElement {
  const layer = doc.voidLayer;
  const pixels = layer.pixelCount();
  const eye = h("button", { type: "button", className: "lbl-icon", title: layer.visible ? "Hide the void region" : "Show the void region", "data-action": "void-visibility" }, layer.visible ? "◉" : "○");
  eye.addEventListener("click", (e) => {
    e.stopPropagation();
    actions.toggleVoid();
  });
  const row = h(
    "div",
    {
      className: `lbl-class lbl-void${active ? " is-active" : ""}${layer.visible ? "" : " is-hidden"}`,
      role: "button",
      tabindex: 0,
      "data-void-pixels": pixels,
      title: "Void: pixels no class claims, left out of training and evaluation (VOC 255). Shift+V paints it, Alt erases.",
    },
    h("span", { className: "lbl-swatch lbl-swatch-void" }),
    h("span", { className: "lbl-class-name" }, "Void"),
    h("span", { className: "lbl-void-count" }, `${pixels.toLocaleString("en-US")} px`),
    eye,
    h("kbd", {}, "⇧V"),
  );
  row.addEventListener("click", () => actions.pickVoid());
  row.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    e.stopPropagation();
    actions.pickVoid();
  });
  return row;
}

export function sourceText(item: AnnotationItem): string {
  if (item.source === "model") {
    const name = item.modelVersionName ?? (item.modelVersion !== null ? `v${item.modelVersion}` : "model");
    return item.score !== null ? `${name} · ${item.score.toFixed(2)}` : name;
  }
  return item.author ? `person · ${item.author}` : "person";
}

export function renderInstances(host: HTMLElement, doc: EditorDocument, actions: PanelActions): void {
  const items = doc.list().reverse();
  if (items.length === 0) {
    host.replaceChildren(h("p", { className: "lbl-empty" }, "No annotations yet. Pick a class and paint."));
    return;
  }
  host.replaceChildren(
    ...items.map((item) => {
      const cls = doc.labelClass(item.labelClass);
      const eye = h("button", { type: "button", className: "lbl-icon", title: item.visible ? "Hide" : "Show", "data-action": "visibility" }, item.visible ? "◉" : "○");
      eye.addEventListener("click", (e) => {
        e.stopPropagation();
        actions.toggleVisible(item);
      });
      const del = h("button", { type: "button", className: "lbl-icon", title: "Delete", "data-action": "delete" }, "✕");
      del.addEventListener("click", (e) => {
        e.stopPropagation();
        actions.remove(item);
      });
      const extra: Node[] = [];
      if (item.isProposal) {
        const ok = h("button", { type: "button", className: "lbl-accept", title: "Accept proposal (C)", "data-action": "accept" }, "accept");
        ok.addEventListener("click", (e) => {
          e.stopPropagation();
          actions.accept(item);
        });
        extra.push(h("span", { className: "lbl-badge" }, "proposal"), ok);
      }
      const row = h(
        "li",
        {
          className: `lbl-item${item.key === doc.selectedKey ? " is-selected" : ""}${item.isProposal ? " is-proposal" : ""}${item.visible ? "" : " is-hidden"}`,
          "data-key": item.key,
          "data-id": item.id ?? "",
        },
        h("span", { className: "lbl-swatch", style: `background:${cls?.color ?? "#f0f"}` }),
        h(
          "span",
          { className: "lbl-item-text" },
          h("span", { className: "lbl-item-title" }, `${cls?.name ?? "?"}${item.id !== null ? ` #${item.id}` : " (new)"}`),
          h("span", { className: "lbl-item-source" }, sourceText(item)),
        ),
        ...extra,
        eye,
        del,
      );
      row.addEventListener("click", () => actions.select(item));
      return row;
    }),
  );
}
