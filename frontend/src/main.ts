/**
 * Entry point: mounts the editor on `#editor` (data-project-id, data-image-id, data-api-root,
 * optional data-edit-url-template with "{id}" and data-image-url, the photo's URL) and exposes a small read-only handle on
 * `window.labelerEditor` for browser tests and the benchmark.
 */
import "./styles.css";
import { type DocumentSet, HttpApi } from "./api";
import { Editor } from "./editor";
import { decodeToBitmap } from "./rle";
import { mountReview } from "./ui/review";
import { attachHistory } from "./ui/history";

export interface EditorHandle {
  ready: Promise<void>;
  editor: Editor;
  /** Client (viewport) coordinates of an image point, for driving the mouse in tests. */
  imageToClient(x: number, y: number): { x: number; y: number };
  /** Current mask of an annotation as a full-image RLE (tests compare it with the server's). */
  maskRle(key: number): { size: [number, number]; counts: string } | null;
  decodeToBitmap: typeof decodeToBitmap;
}

declare global {
  interface Window {
    labelerEditor?: EditorHandle;
  }
}

function mount(): void {
  const root = document.getElementById("editor");
  if (!root) return;
  // The editor fills the window below the site's top bar.
  const bar = document.querySelector(".topbar");
  root.style.setProperty("--lbl-top", `${bar ? Math.round(bar.getBoundingClientRect().bottom) : 0}px`);
  const projectId = Number(root.dataset.projectId);
  const imageId = Number(root.dataset.imageId);
  const apiRoot = root.dataset.apiRoot ?? "/api/";
  const template = root.dataset.editUrlTemplate ?? `/projects/${projectId}/images/{id}/edit/`;
  // ?set=ground_truth (the quality page's links): the same editor on the image's ground truth.
  const documentSet: DocumentSet = root.dataset.documentSet === "ground_truth" ? "ground_truth" : "work";
  root.classList.toggle("lbl-ground-truth", documentSet === "ground_truth");
  const api = new HttpApi(apiRoot, documentSet);
  const editor = new Editor(root, api, {
    projectId,
    imageId,
    editUrl: (id) => template.replace("{id}", String(id)),
    imageUrl: root.dataset.imageUrl || undefined,
    // ?tint=main: every tint on the main thread (the browser tests compare it with the workers').
    tintWorkers: new URLSearchParams(window.location.search).get("tint") !== "main",
  });
  const ready = editor.open().then(
    () => {
      const side = root.querySelector<HTMLElement>(".lbl-side");
      if (side) attachHistory(editor, api, side);
      root.dataset.ready = "true";
      performance.mark("editor:ready");
    },
    (err: unknown) => {
      root.dataset.ready = "error";
      root.append(Object.assign(document.createElement("p"), { className: "lbl-fatal", textContent: `The editor could not open this image: ${err instanceof Error ? err.message : String(err)}` }));
      throw err;
    },
  );
  // The reviewer's comment on a rejected image, and Accept / Reject for reviewers (ui/review.ts).
  void ready.then(() => mountReview(root, new HttpApi(apiRoot), imageId, root.dataset.role ?? ""));
  window.labelerEditor = {
    ready,
    editor,
    imageToClient(x, y) {
      const stage = root.querySelector(".lbl-stage");
      const r = stage ? stage.getBoundingClientRect() : new DOMRect();
      const s = editor.view.toScreen(x, y);
      return { x: r.left + s.x, y: r.top + s.y };
    },
    maskRle(key) {
      const item = editor.doc.get(key);
      return item ? item.mask.toRle() : null;
    },
    decodeToBitmap,
  };
}

mount();
