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

function rowSignature(item: AnnotationItem, doc: EditorDocument): string {
  return [item.labelClass, item.id, item.isProposal, item.visible, item.key === doc.selectedKey, sourceText(item)].join("|");
}

/** Every row's height (styles.css pins .lbl-instances > .lbl-item to it): row i starts i x ROW_PX below the list's top. */
export const ROW_PX = 34;
/** Rows kept beyond each edge of the view, so a scroll shows rows already built. */
const OVERSCAN = 10;
/** Rows shown when the list is not laid out (hidden, or before the first layout). */
const UNLAID_ROWS = 24;

interface ListState {
  doc: EditorDocument;
  actions: PanelActions;
  items: AnnotationItem[];
  /** The rows in the DOM, by annotation key, with what each shows (unchanged rows are kept). */
  rows: Map<number, { sig: string; row: HTMLElement }>;
  /** The element that scrolls the list (null: the page), found once when the list is first drawn. */
  scroller: HTMLElement | null;
  scheduled: boolean;
}

const lists = new WeakMap<HTMLElement, ListState>();

/** The element that scrolls the list: the nearest ancestor that scrolls (the side panel), else the page. */
function scrollerOf(host: HTMLElement): HTMLElement | null {
  for (let el = host.parentElement; el; el = el.parentElement) {
    const overflow = getComputedStyle(el).overflowY;
    if (overflow === "auto" || overflow === "scroll") return el;
  }
  return null;
}

/** The rows [first, end) of `count` that meet the view of the list's scroller, with OVERSCAN more each side. */
export function visibleRange(listTop: number, viewTop: number, viewBottom: number, count: number, rowPx = ROW_PX): [number, number] {
  if (!(viewBottom > viewTop)) return [0, Math.min(count, UNLAID_ROWS)];
  const first = Math.max(0, Math.floor((viewTop - listTop) / rowPx) - OVERSCAN);
  const end = Math.min(count, Math.ceil((viewBottom - listTop) / rowPx) + OVERSCAN);
  return end > first ? [first, end] : [Math.min(first, count), Math.min(first, count)];
}

function drawWindow(host: HTMLElement, state: ListState): void {
  const { items, doc, actions, scroller } = state;
  const list = host.getBoundingClientRect();
  const view = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
  // The list's own top edge, not its padding: row i is at list.top + i * ROW_PX.
  const [first, end] = list.height === 0 && items.length > 0 && host.childElementCount === 0
    ? [0, Math.min(items.length, UNLAID_ROWS)]
    : visibleRange(list.top, view.top, view.bottom, items.length);
  const after = new Map<number, { sig: string; row: HTMLElement }>();
  const rows: HTMLElement[] = [];
  for (let i = first; i < end; i++) {
    const item = items[i];
    const sig = rowSignature(item, doc);
    const kept = state.rows.get(item.key);
    const entry = kept && kept.sig === sig ? kept : { sig, row: instanceRow(item, doc, actions) };
    after.set(item.key, entry);
    rows.push(entry.row);
  }
  state.rows = after;
  host.style.paddingTop = `${first * ROW_PX}px`;
  host.style.paddingBottom = `${(items.length - end) * ROW_PX}px`;
  host.dataset.rows = String(items.length);
  // Fewest DOM moves: drop the rows that went, then put each row in place.
  const keep = new Set(rows);
  for (const child of Array.from(host.children)) if (!keep.has(child as HTMLElement)) child.remove();
  rows.forEach((row, i) => {
    const at = host.children[i];
    if (at !== row) host.insertBefore(row, at ?? null);
  });
}

/**
 * The annotation list, newest on top, virtualised: only the rows in (or OVERSCAN rows beyond) the
 * side panel's view exist in the DOM, each ROW_PX high; the list's padding stands for the others,
 * so the panel scrolls as if all were there. 1,000 annotations cost one screen of rows when the
 * editor opens (they were built in 50 slices of 20-60 rows, each with its own layout), and a
 * scroll builds the rows it brings into view. Rows are kept by annotation key and rebuilt only
 * when what they show changed: selecting one of 1,000 annotations rebuilds at most two rows.
 */
export function renderInstances(host: HTMLElement, doc: EditorDocument, actions: PanelActions): void {
  const items = doc.list().reverse();
  let state = lists.get(host);
  if (items.length === 0) {
    if (state) state.rows.clear();
    host.style.paddingTop = host.style.paddingBottom = "";
    host.dataset.rows = "0";
    host.replaceChildren(h("p", { className: "lbl-empty" }, "No annotations yet. Pick a class and paint."));
    if (state) state.items = items;
    return;
  }
  if (!state) {
    const created: ListState = { doc, actions, items, rows: new Map(), scroller: scrollerOf(host), scheduled: false };
    state = created;
    lists.set(host, created);
    const redraw = (): void => {
      if (created.scheduled) return;
      created.scheduled = true;
      requestAnimationFrame(() => {
        created.scheduled = false;
        if (created.items.length > 0) drawWindow(host, created);
      });
    };
    (created.scroller ?? window).addEventListener("scroll", redraw, { passive: true });
    window.addEventListener("resize", redraw, { passive: true });
  }
  if (host.firstElementChild?.classList.contains("lbl-empty")) host.replaceChildren();
  state.doc = doc;
  state.actions = actions;
  state.items = items;
  drawWindow(host, state);
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
