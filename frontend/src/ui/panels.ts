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
/** 1574015 -> "1,574,015". Not toLocaleString: its first call sets up Intl, ~15-20 ms of the open. */
export function groupThousands(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

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
    h("span", { className: "lbl-void-count" }, `${groupThousands(pixels)} px`),
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

/** The rows the list shows, by annotation key, with what each showed (so unchanged rows are kept). */
const shownRows = new WeakMap<HTMLElement, Map<number, { sig: string; row: HTMLElement }>>();

function rowSignature(item: AnnotationItem, doc: EditorDocument): string {
  return [item.labelClass, item.id, item.isProposal, item.visible, item.key === doc.selectedKey, sourceText(item)].join("|");
}

/** Rows built per task: a 1,000-annotation list is built in slices, never in one long task. */
const ROWS_PER_SLICE = 60;
/** The first slice of an empty list: about what the panel shows. Its rows are laid out and painted
 * in the frame after the editor opens, with all the rest of the chrome (60 rows made it a 15-19 ms
 * CPU frame at 1,000 masks). */
const FIRST_SLICE = 20;
const sliceScheduled = new WeakSet<HTMLElement>();

/**
 * The annotation list, newest on top. Rows are kept by annotation key and rebuilt only when what
 * they show changed: selecting one of 1,000 annotations rebuilds two rows, not a thousand. At most
 * ROWS_PER_SLICE rows are built per call (FIRST_SLICE into an empty list); the others show their previous state (or are not
 * listed yet) until the next slice, which runs as soon as the main thread is free.
 */
export function renderInstances(host: HTMLElement, doc: EditorDocument, actions: PanelActions): void {
  const items = doc.list().reverse();
  if (items.length === 0) {
    shownRows.delete(host);
    host.replaceChildren(h("p", { className: "lbl-empty" }, "No annotations yet. Pick a class and paint."));
    return;
  }
  const before = shownRows.get(host) ?? new Map<number, { sig: string; row: HTMLElement }>();
  const after = new Map<number, { sig: string; row: HTMLElement }>();
  let built = 0;
  let deferred = false;
  const slice = before.size === 0 ? FIRST_SLICE : ROWS_PER_SLICE;
  const rows: HTMLElement[] = [];
  for (const item of items) {
    const sig = rowSignature(item, doc);
    const kept = before.get(item.key);
    let entry: { sig: string; row: HTMLElement };
    if (kept && kept.sig === sig) entry = kept;
    else if (built < slice) {
      built++;
      entry = { sig, row: instanceRow(item, doc, actions) };
    } else {
      deferred = true;
      if (!kept) continue; // shown from the next slice on
      entry = { sig: "", row: kept.row }; // its previous state until then
    }
    after.set(item.key, entry);
    rows.push(entry.row);
  }
  shownRows.set(host, after);
  // Fewest DOM moves: drop the rows that went, then put each row in place (a new annotation on
  // top is one insertion, a deletion none).
  const keep = new Set(rows);
  for (const child of Array.from(host.children)) if (!keep.has(child as HTMLElement)) child.remove();
  rows.forEach((row, i) => {
    const at = host.children[i];
    if (at !== row) host.insertBefore(row, at ?? null);
  });
  if (deferred && !sliceScheduled.has(host)) {
    sliceScheduled.add(host);
    setTimeout(() => {
      sliceScheduled.delete(host);
      renderInstances(host, doc, actions);
    }, 0);
  }
}

function instanceRow(item: AnnotationItem, doc: EditorDocument, actions: PanelActions): HTMLElement {
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
}
