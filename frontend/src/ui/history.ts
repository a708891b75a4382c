/**
 * The editor's History panel: who saved which version of this image's document and when; a
 * revision opens read-only in a preview (the photo with that revision's masks, drawn here, never
 * in the editable document), and "Restore" makes it the document again as a new version on the
 * server (annotations/history.py), after which the editor reloads. Unsaved work is never thrown
 * away by a restore: the panel asks to save or undo first.
 */
import type { ApiError, RevisionDetailDto, RevisionDto } from "../api";
import type { Editor } from "../editor";
import { decodeToBitmap } from "../rle";
import { h } from "./dom";

export interface HistoryApi {
  revisions(imageId: number): Promise<RevisionDto[]>;
  revision(imageId: number, revisionId: number): Promise<RevisionDetailDto>;
  restoreRevision(imageId: number, revisionId: number, version: number): Promise<unknown>;
}

/** What the panel needs from the editor. */
export interface HistoryHost {
  imageId: number;
  photoUrl: string;
  classColor(classId: number): string;
  /** The document version the editor holds (a restore is based on it). */
  version(): number;
  hasUnsavedWork(): boolean;
  /** Load the server's document again (after a restore). */
  reload(): Promise<void>;
  notify(message: string, level?: "info" | "error"): void;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "v3 · tom · 1 Dec 12:03 · 2 annotations" (the time alone, with seconds, for today's saves) */
export function revisionLine(r: RevisionDto, now: Date = new Date()): string {
  const at = new Date(r.created_at);
  const sameDay = at.toDateString() === now.toDateString();
  // Formatted by hand in local time, not with toLocale*String: their first call sets up Intl,
  // a 20-35 ms task while the editor opens.
  const two = (n: number): string => String(n).padStart(2, "0");
  const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const when = sameDay ? `${clock}:${two(at.getSeconds())}` : `${at.getDate()} ${MONTHS[at.getMonth()]} ${clock}`;
  const count = `${r.annotation_count} annotation${r.annotation_count === 1 ? "" : "s"}`;
  return `v${r.version} · ${r.author ?? "model / import"} · ${when} · ${count}`;
}

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.replace("#", ""), 16);
  return Number.isFinite(n) ? [(n >> 16) & 255, (n >> 8) & 255, n & 255] : [255, 0, 0];
}

/** Mounts the panel in the editor's side panel and keeps it fresh after each save. */
export function attachHistory(editor: Editor, api: HistoryApi, side: HTMLElement): HistoryPanel {
  const image = editor.state.value.image;
  const panel = new HistoryPanel(api, {
    imageId: image.id,
    photoUrl: image.url,
    classColor: (id) => editor.doc.labelClass(id)?.color ?? "#ff0000",
    version: () => editor.doc.version,
    hasUnsavedWork: () => editor.saver.hasUnsavedWork,
    reload: () => editor.reloadDocument(),
    notify: (message, level) => editor.notify(message, level),
  });
  side.append(panel.el);
  editor.saver.events.on("saved", () => void panel.refresh());
  void panel.refresh();
  return panel;
}

export class HistoryPanel {
  readonly el: HTMLElement;
  private readonly list = h("ol", { className: "lbl-history", "data-history": true });
  private readonly preview = h("div", { className: "lbl-history-preview", hidden: true, "data-history-preview": true });
  private photo: HTMLImageElement | null = null;

  constructor(
    private readonly api: HistoryApi,
    private readonly host: HistoryHost,
  ) {
    const refresh = h("button", { type: "button", className: "lbl-btn", "data-action": "history-refresh", title: "Reload the history" }, "↻");
    refresh.addEventListener("click", () => void this.refresh());
    this.el = h("section", { className: "lbl-history-panel" }, h("h3", {}, "History ", refresh), this.preview, this.list);
  }

  async refresh(): Promise<void> {
    try {
      const revisions = await this.api.revisions(this.host.imageId);
      this.list.replaceChildren(...revisions.map((r) => this.row(r, r.version === revisions[0]?.version)));
      if (revisions.length === 0) this.list.append(h("li", { className: "muted" }, "Not saved yet."));
    } catch (err) {
      this.list.replaceChildren(h("li", { className: "error" }, `History unavailable: ${(err as Error).message}`));
    }
  }

  private row(r: RevisionDto, isCurrent: boolean): HTMLLIElement {
    const view = h("button", { type: "button", className: "lbl-btn", "data-action": "history-view" }, isCurrent ? "Current" : "View");
    view.addEventListener("click", () => void this.show(r.id, isCurrent));
    return h("li", { "data-revision": r.id, "data-version": r.version }, h("span", {}, revisionLine(r)), view);
  }

  /** Read-only: the revision's masks over the photo, in the panel. */
  async show(revisionId: number, isCurrent = false): Promise<void> {
    let detail: RevisionDetailDto;
    try {
      detail = await this.api.revision(this.host.imageId, revisionId);
    } catch (err) {
      this.host.notify((err as Error).message, "error");
      return;
    }
    const canvas = h("canvas", { className: "lbl-history-canvas", "data-history-canvas": detail.version });
    await this.draw(canvas, detail);
    const close = h("button", { type: "button", className: "lbl-btn", "data-action": "history-close" }, "Close");
    close.addEventListener("click", () => {
      this.preview.hidden = true;
      this.preview.replaceChildren();
    });
    const actions = h("div", { className: "lbl-row" });
    if (!isCurrent) {
      const restore = h("button", { type: "button", className: "lbl-btn lbl-primary", "data-action": "history-restore" }, `Restore v${detail.version}`);
      restore.addEventListener("click", () => void this.restore(detail, restore));
      actions.append(restore);
    }
    actions.append(close);
    this.preview.replaceChildren(
      h("p", { className: "lbl-history-title" }, `v${detail.version} by ${detail.author ?? "model / import"} (read-only)`),
      canvas,
      actions,
    );
    this.preview.hidden = false;
  }

  private async draw(canvas: HTMLCanvasElement, detail: RevisionDetailDto): Promise<void> {
    const scale = Math.min(1, 250 / detail.width);
    canvas.width = Math.max(1, Math.round(detail.width * scale));
    canvas.height = Math.max(1, Math.round(detail.height * scale));
    const g = canvas.getContext("2d");
    if (!g) return;
    if (!this.photo) {
      this.photo = new Image();
      this.photo.src = this.host.photoUrl;
    }
    try {
      await this.photo.decode();
      g.drawImage(this.photo, 0, 0, canvas.width, canvas.height);
    } catch {
      g.fillStyle = "#222";
      g.fillRect(0, 0, canvas.width, canvas.height);
    }
    // Masks at full size in an offscreen canvas, then scaled over the photo.
    const layer = document.createElement("canvas");
    layer.width = detail.width;
    layer.height = detail.height;
    const lg = layer.getContext("2d");
    if (!lg) return;
    const pixels = lg.createImageData(detail.width, detail.height);
    for (const a of detail.annotations) {
      const bits = decodeToBitmap(a.mask);
      const [r, gr, b] = rgb(this.host.classColor(a.label_class));
      for (let i = 0; i < bits.length; i++) {
        if (!bits[i]) continue;
        pixels.data[i * 4] = r;
        pixels.data[i * 4 + 1] = gr;
        pixels.data[i * 4 + 2] = b;
        pixels.data[i * 4 + 3] = 150;
      }
    }
    lg.putImageData(pixels, 0, 0);
    g.drawImage(layer, 0, 0, canvas.width, canvas.height);
  }

  private async restore(detail: RevisionDetailDto, button: HTMLButtonElement): Promise<void> {
    if (this.host.hasUnsavedWork()) {
      this.host.notify("Save or undo your changes before restoring an earlier version.", "error");
      return;
    }
    button.disabled = true;
    try {
      await this.api.restoreRevision(this.host.imageId, detail.id, this.host.version());
      await this.host.reload();
      this.preview.hidden = true;
      this.preview.replaceChildren();
      this.host.notify(`Restored version ${detail.version} as a new version.`);
    } catch (err) {
      const status = (err as ApiError).status;
      this.host.notify(status === 409 ? `${(err as Error).message}. Reload first.` : (err as Error).message, "error");
    } finally {
      button.disabled = false;
      await this.refresh();
    }
  }
}
