/**
 * Wires the editor together: loads the image and its document, lays out the page, routes
 * pointer and keyboard input to the active tool or to the view, and connects panels, history
 * and saving. Editing rules live in the tools and the document, drawing in the renderer.
 */
import { type Api, ApiError, type ImageDto, type ProjectDto } from "./api";
import { type AnnotationItem, type Change, EditorDocument, type LabelClass } from "./document";
import { History } from "./history";
import { Renderer } from "./render/renderer";
import { SaveController, type SaveState } from "./save";
import { BoxAssistTool } from "./tools/box";
import { BrushTool } from "./tools/brush";
import { FillTool } from "./tools/fill";
import { PolygonTool } from "./tools/polygon";
import { SelectTool } from "./tools/select";
import type { Tool, ToolContext, ToolName, ToolPointer } from "./tools/tool";
import { h } from "./ui/dom";
import { helpOverlay } from "./ui/help";
import { type PanelActions, renderInstances, renderPalette } from "./ui/panels";
import { Viewport } from "./viewport";

export interface EditorConfig {
  projectId: number;
  imageId: number;
  /** URL of another image's editor page. */
  editUrl(imageId: number): string;
}

const TOOL_LABELS: Array<[ToolName, string, string]> = [
  ["select", "Select", "V"],
  ["brush", "Brush", "B"],
  ["eraser", "Eraser", "E"],
  ["polygon", "Polygon", "P"],
  ["fill", "Fill", "G"],
  ["box", "Box→mask", "X"],
];

export class Editor {
  doc!: EditorDocument;
  history!: History;
  view!: Viewport;
  renderer!: Renderer;
  saver!: SaveController;
  image!: ImageDto;
  project!: ProjectDto;
  /** Milliseconds from `open()` to the first painted frame with all annotations. */
  openMs = 0;
  /** Where the open time went (ms since open() began), for the benchmark. */
  openTimings: { [phase: string]: number } = {};
  private tools = new Map<ToolName, Tool>();
  private tool!: Tool;
  private classId: number | null = null;
  private radius = 12;
  private spaceDown = false;
  private pan: { x: number; y: number; id: number } | null = null;
  private drawingPointer: number | null = null;
  private readonly el: {
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
  };
  private toastTimer = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly config: EditorConfig,
  ) {
    const toolButtons = new Map<ToolName, HTMLButtonElement>();
    const toolbar = h("div", { className: "lbl-tools", role: "toolbar" });
    for (const [name, label, key] of TOOL_LABELS) {
      const b = h("button", { type: "button", className: "lbl-btn lbl-tool", "data-tool": name, title: `${label} (${key})` }, label, h("kbd", {}, key));
      b.addEventListener("click", () => this.setTool(name));
      toolbar.append(b);
      toolButtons.set(name, b);
    }
    const undo = h("button", { type: "button", className: "lbl-btn", title: "Undo (Ctrl+Z)", "data-action": "undo" }, "↶");
    const redo = h("button", { type: "button", className: "lbl-btn", title: "Redo (Ctrl+Shift+Z)", "data-action": "redo" }, "↷");
    undo.addEventListener("click", () => this.undo());
    redo.addEventListener("click", () => this.redo());
    const save = h("button", { type: "button", className: "lbl-btn lbl-primary", "data-action": "save", title: "Save (Ctrl+S)" }, "Save");
    save.addEventListener("click", () => void this.saver.save());
    const done = h("button", { type: "button", className: "lbl-btn", "data-action": "done", title: "Save and mark the image done" }, "Done ✓");
    done.addEventListener("click", () => void this.markDone());
    const help = h("button", { type: "button", className: "lbl-btn", title: "Shortcuts (?)" }, "?");
    help.addEventListener("click", () => this.toggleHelp());
    const fit = h("button", { type: "button", className: "lbl-btn", title: "Fit (F)" }, "Fit");
    fit.addEventListener("click", () => this.zoomFit());
    const one = h("button", { type: "button", className: "lbl-btn", title: "1:1 (0)" }, "1:1");
    one.addEventListener("click", () => this.zoomActual());
    const opacity = h("input", { type: "range", min: 0, max: 100, value: 50, "aria-label": "Mask opacity", "data-control": "opacity" });
    opacity.addEventListener("input", () => {
      this.renderer.options.opacity = Number(opacity.value) / 100;
      this.renderer.restyle();
    });
    const outline = h("input", { type: "checkbox", "data-control": "outline" });
    outline.addEventListener("change", () => this.setOutline(outline.checked));
    const acceptAll = h("button", { type: "button", className: "lbl-btn", "data-action": "accept-all", title: "Accept all proposals (Shift+C)" }, "Accept all proposals");
    acceptAll.addEventListener("click", () => this.acceptAll());
    const prev = h("button", { type: "button", className: "lbl-btn", title: "Previous image (A)" }, "◀");
    const next = h("button", { type: "button", className: "lbl-btn", title: "Next image (D)" }, "▶");
    prev.addEventListener("click", () => void this.navigate(-1));
    next.addEventListener("click", () => void this.navigate(1));
    this.el = {
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
    };
    root.classList.add("lbl-editor");
    root.replaceChildren(
      h("div", { className: "lbl-bar" }, prev, next, this.el.title, toolbar, this.el.size, undo, redo, fit, one, this.el.zoom, h("span", { className: "lbl-spacer" }), this.el.imageStatus, this.el.status, save, done, help),
      this.el.banner,
      h(
        "div",
        { className: "lbl-body" },
        this.el.stage,
        h(
          "aside",
          { className: "lbl-side" },
          h("h3", {}, "Classes"),
          this.el.palette,
          h("h3", {}, "View"),
          h("label", { className: "lbl-row" }, "Opacity ", opacity),
          h("label", { className: "lbl-row" }, outline, " Outline only"),
          h("h3", {}, "Annotations"),
          acceptAll,
          this.el.instances,
        ),
      ),
      this.el.toast,
    );
  }

  /** Loads everything and paints the first frame. */
  async open(): Promise<void> {
    const t0 = performance.now();
    const imageEl = new Image();
    const [project, image, annotations] = await Promise.all([
      this.api.project(this.config.projectId),
      this.api.image(this.config.imageId),
      this.api.annotations(this.config.imageId),
    ]);
    this.openTimings.api = performance.now() - t0;
    this.project = project;
    this.image = image;
    imageEl.decoding = "async";
    imageEl.src = image.url;
    const decoded = imageEl.decode();
    // Decode masks while the browser decodes the photo.
    this.doc = new EditorDocument(image.width, image.height, project.label_classes, annotations);
    this.openTimings.masks = performance.now() - t0;
    this.history = new History(this.doc);
    this.view = new Viewport(image.width, image.height);
    this.renderer = new Renderer(this.el.stage, this.doc, this.view);
    this.saver = new SaveController(this.api, image.id, this.doc);
    this.buildTools();
    this.wireEvents();
    this.classId = this.doc.classes[0]?.id ?? null;
    this.renderer.resize();
    this.view.fit();
    this.renderer.prepare();
    this.openTimings.tint = performance.now() - t0;
    await decoded;
    this.openTimings.image = performance.now() - t0;
    this.renderer.setImage(imageEl);
    this.renderer.frame();
    this.openMs = performance.now() - t0;
    this.setTool("brush");
    this.refreshPanels();
    this.updateStatus(this.saver.state);
    this.updateChrome();
    void this.renderer.buildLevels(imageEl);
  }

  private buildTools(): void {
    const ctx: ToolContext = {
      doc: this.doc,
      history: this.history,
      view: this.view,
      api: this.api,
      imageId: this.image.id,
      brushRadius: () => this.radius,
      currentClass: () => this.currentClass(),
      resolveTarget: (create) => this.resolveTarget(create),
      notify: (m, level) => this.notify(m, level),
      setGestureActive: (a) => {
        this.renderer.gestureActive = a;
      },
      redrawUi: () => this.renderer.invalidateUi(),
    };
    const list: Tool[] = [new SelectTool(ctx), new BrushTool(ctx, "brush"), new BrushTool(ctx, "eraser"), new PolygonTool(ctx), new FillTool(ctx), new BoxAssistTool(ctx)];
    for (const t of list) this.tools.set(t.name, t);
    this.tool = list[1];
    this.renderer.uiPainter = (g, view) => this.tool.drawUi(g, view);
  }

  currentClass(): LabelClass | null {
    return this.classId === null ? null : (this.doc.labelClass(this.classId) ?? null);
  }

  private resolveTarget(create: boolean): { item: AnnotationItem; created: boolean } | null {
    const cls = this.currentClass();
    if (!cls) return null;
    if (cls.kind === "semantic") {
      const layer = this.doc.semanticLayer(cls.id);
      if (layer) return { item: layer, created: false };
    } else {
      const sel = this.doc.selected;
      if (sel && sel.labelClass === cls.id) return { item: sel, created: false };
    }
    return create ? { item: this.doc.createItem(cls.id), created: true } : null;
  }

  setTool(name: ToolName): void {
    const next = this.tools.get(name);
    if (!next) return;
    if (this.tool !== next) this.tool.cancel();
    this.tool = next;
    this.el.stage.style.cursor = next.cursor;
    for (const [n, b] of this.el.toolButtons) b.classList.toggle("is-active", n === name);
    this.renderer.invalidateUi();
  }

  pickClass(cls: LabelClass): void {
    this.classId = cls.id;
    const sel = this.doc.selected;
    if (cls.kind === "semantic") this.doc.select(this.doc.semanticLayer(cls.id)?.key ?? null);
    else if (sel && sel.labelClass !== cls.id) this.doc.select(null);
    this.refreshPanels();
  }

  private wireEvents(): void {
    const stage = this.el.stage;
    const pointer = (e: PointerEvent): ToolPointer => {
      const r = stage.getBoundingClientRect();
      const sx = e.clientX - r.left;
      const sy = e.clientY - r.top;
      const p = this.view.toImage(sx, sy);
      return { x: p.x, y: p.y, sx, sy, shift: e.shiftKey, alt: e.altKey };
    };
    stage.addEventListener("pointerdown", (e) => {
      stage.focus({ preventScroll: true });
      if (e.button === 1 || (e.button === 0 && this.spaceDown)) {
        e.preventDefault();
        this.pan = { x: e.clientX, y: e.clientY, id: e.pointerId };
        stage.setPointerCapture(e.pointerId);
        stage.style.cursor = "grabbing";
        return;
      }
      if (e.button !== 0) return;
      this.drawingPointer = e.pointerId;
      stage.setPointerCapture(e.pointerId);
      this.tool.pointerDown(pointer(e));
    });
    stage.addEventListener("pointermove", (e) => {
      if (this.pan && this.pan.id === e.pointerId) {
        this.view.pan(e.clientX - this.pan.x, e.clientY - this.pan.y);
        this.pan.x = e.clientX;
        this.pan.y = e.clientY;
        this.renderer.invalidateView();
        return;
      }
      // Coalesced samples keep fast strokes round instead of polygonal.
      const samples = this.drawingPointer === e.pointerId && typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      for (const s of samples.length > 0 ? samples : [e]) this.tool.pointerMove(pointer(s));
    });
    const up = (e: PointerEvent): void => {
      if (this.pan && this.pan.id === e.pointerId) {
        this.pan = null;
        stage.style.cursor = this.tool.cursor;
        return;
      }
      if (this.drawingPointer !== e.pointerId) return;
      this.drawingPointer = null;
      this.tool.pointerUp(pointer(e));
      this.updateChrome();
    };
    stage.addEventListener("pointerup", up);
    stage.addEventListener("pointercancel", up);
    stage.addEventListener("pointerleave", () => this.renderer.invalidateUi());
    stage.addEventListener("auxclick", (e) => e.preventDefault());
    stage.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const r = stage.getBoundingClientRect();
        this.view.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
        this.renderer.invalidateView();
        this.updateChrome();
      },
      { passive: false },
    );
    window.addEventListener("resize", () => this.renderer.resize());
    window.addEventListener("keydown", (e) => this.onKeyDown(e));
    window.addEventListener("keyup", (e) => {
      if (e.key === " ") this.spaceDown = false;
    });
    window.addEventListener("beforeunload", (e) => {
      if (this.saver.hasUnsavedWork) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    this.doc.events.on("structure", () => this.refreshPanels());
    this.doc.events.on("selection", (key) => {
      const item = key === null ? null : this.doc.get(key);
      if (item) this.classId = item.labelClass;
      this.refreshPanels();
    });
    this.doc.events.on("pixels", () => {
      this.saver.noteEdit();
      this.updateChrome();
    });
    this.saver.events.on("state", (s) => this.updateStatus(s));
  }

  private onKeyDown(e: KeyboardEvent): void {
    const target = e.target;
    if (target instanceof HTMLInputElement && target.type !== "range" && target.type !== "checkbox") return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key;
    if (ctrl && key.toLowerCase() === "s") {
      e.preventDefault();
      void this.saver.save();
      return;
    }
    if (ctrl && key.toLowerCase() === "z") {
      e.preventDefault();
      if (e.shiftKey) this.redo();
      else this.undo();
      return;
    }
    if (ctrl && key.toLowerCase() === "y") {
      e.preventDefault();
      this.redo();
      return;
    }
    if (ctrl || e.altKey) return;
    if (this.tool.keyDown(e)) {
      e.preventDefault();
      return;
    }
    if (key === " ") {
      this.spaceDown = true;
      e.preventDefault();
      return;
    }
    const byHotkey = this.doc.classes.find((c) => c.hotkey !== "" && c.hotkey === key);
    if (byHotkey) {
      this.pickClass(byHotkey);
      return;
    }
    const lower = key.toLowerCase();
    const tools: { [k: string]: ToolName } = { v: "select", b: "brush", e: "eraser", p: "polygon", g: "fill", x: "box" };
    if (!e.shiftKey && tools[lower]) {
      this.setTool(tools[lower]);
      return;
    }
    switch (key) {
      case "[":
        this.setRadius(this.radius / 1.25);
        return;
      case "]":
        this.setRadius(this.radius * 1.25);
        return;
      case "f":
        this.zoomFit();
        return;
      case "0":
        this.zoomActual();
        return;
      case "n":
        this.doc.select(null);
        this.notify("Next stroke starts a new instance.");
        return;
      case "Delete":
      case "Backspace": {
        const sel = this.doc.selected;
        if (sel) this.remove(sel);
        e.preventDefault();
        return;
      }
      case "c": {
        const sel = this.doc.selected;
        if (sel) this.accept([sel]);
        return;
      }
      case "C":
        this.acceptAll();
        return;
      case "h": {
        const sel = this.doc.selected;
        if (sel) this.doc.setVisible(sel.key, !sel.visible);
        return;
      }
      case "o":
        this.el.outline.checked = !this.el.outline.checked;
        this.setOutline(this.el.outline.checked);
        return;
      case "a":
        void this.navigate(-1);
        return;
      case "d":
        void this.navigate(1);
        return;
      case "D":
        void this.navigate("suggested");
        return;
      case "?":
        this.toggleHelp();
        return;
      case "Escape":
        this.tool.cancel();
        this.doc.select(null);
        this.renderer.invalidateUi();
        this.closeHelp();
        return;
    }
  }

  setRadius(r: number): void {
    this.radius = Math.max(0.5, Math.min(400, Math.round(r * 2) / 2));
    this.updateChrome();
    this.renderer.invalidateUi();
  }

  private setOutline(on: boolean): void {
    this.renderer.options.outlineOnly = on;
    this.renderer.restyle();
  }

  zoomFit(): void {
    this.view.fit();
    this.renderer.invalidateView();
    this.updateChrome();
  }

  zoomActual(): void {
    this.view.actualSize();
    this.renderer.invalidateView();
    this.updateChrome();
  }

  undo(): void {
    this.tool.cancel();
    if (!this.history.undo()) this.notify("Nothing to undo.");
    this.updateChrome();
  }

  redo(): void {
    if (!this.history.redo()) this.notify("Nothing to redo.");
    this.updateChrome();
  }

  remove(item: AnnotationItem): void {
    this.history.commit({ label: "delete", changes: [{ kind: "remove", item }] });
    this.updateChrome();
  }

  accept(items: AnnotationItem[]): void {
    const changes: Change[] = items.filter((i) => i.isProposal).map((i) => ({ kind: "proposal", key: i.key, before: true, after: false }));
    if (changes.length === 0) return;
    this.history.commit({ label: "accept", changes });
    this.notify(changes.length === 1 ? "Proposal accepted." : `${changes.length} proposals accepted.`);
    this.updateChrome();
  }

  acceptAll(): void {
    this.accept(this.doc.list());
  }

  private async navigate(step: -1 | 1 | "suggested"): Promise<void> {
    const id = step === "suggested" ? this.image.next_suggested_id : step < 0 ? this.image.prev_id : this.image.next_id;
    if (id === null) {
      const why = step === "suggested" ? "No unlabeled image is left." : step < 0 ? "This is the first image." : "This is the last image.";
      this.notify(why);
      return;
    }
    // Autosave on navigation: leave only once the server holds the work.
    if (!(await this.saver.save())) return;
    window.location.href = this.config.editUrl(id);
  }

  private async markDone(): Promise<void> {
    if (!(await this.saver.save())) return;
    try {
      this.image = { ...this.image, ...(await this.api.setImageStatus(this.image.id, "done")) };
      this.notify("Image marked done.");
      this.updateChrome();
    } catch (err) {
      this.notify(err instanceof ApiError ? err.message : String(err), "error");
    }
  }

  private helpEl: HTMLElement | null = null;

  private toggleHelp(): void {
    if (this.helpEl) this.closeHelp();
    else {
      this.helpEl = helpOverlay(() => this.closeHelp());
      this.root.append(this.helpEl);
    }
  }

  private closeHelp(): void {
    this.helpEl?.remove();
    this.helpEl = null;
  }

  notify(message: string, level: "info" | "error" = "info"): void {
    this.el.toast.textContent = message;
    this.el.toast.className = `lbl-toast is-shown${level === "error" ? " is-error" : ""}`;
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => {
      this.el.toast.className = "lbl-toast";
    }, level === "error" ? 6000 : 2500);
  }

  private updateStatus(s: SaveState): void {
    const text: { [K in SaveState["kind"]]: string } = {
      saved: "All changes saved",
      dirty: "Unsaved changes",
      saving: "Saving…",
      retrying: "",
      conflict: "Not saved: conflict",
      failed: "Save failed",
    };
    let label = text[s.kind];
    if (s.kind === "retrying") label = `Save failed (${s.message}); retry ${s.attempt} in ${Math.round(s.delayMs / 1000)} s`;
    if (s.kind === "failed") label = `Save failed: ${s.message}`;
    this.el.status.textContent = label;
    this.el.status.dataset.saveState = s.kind;
    if (s.kind === "conflict") this.showConflict(s.message);
    else if (s.kind !== "failed") this.el.banner.hidden = true;
    if (s.kind === "saved" && this.image.status === "new") {
      this.image = { ...this.image, status: "in_progress" };
      this.api.setImageStatus(this.image.id, "in_progress").catch(() => undefined);
      this.updateChrome();
    }
  }

  private showConflict(serverMessage: string): void {
    const reload = h("button", { type: "button", className: "lbl-btn", "data-action": "reload-theirs" }, "Reload their version");
    const keep = h("button", { type: "button", className: "lbl-btn lbl-primary", "data-action": "keep-mine" }, "Keep mine (overwrite)");
    reload.addEventListener("click", () => {
      if (!window.confirm("Discard your unsaved changes and load the saved version?")) return;
      this.saver
        .reloadTheirs()
        .then(() => {
          this.history.clear();
          this.notify("Loaded the latest saved version.");
          this.updateChrome();
        })
        .catch((err: unknown) => this.notify(String(err), "error"));
    });
    keep.addEventListener("click", () => void this.saver.keepMine());
    this.el.banner.replaceChildren(
      h("strong", {}, "Someone else saved this image while you were editing. "),
      h("span", {}, `Your work is still here and has not been saved. (${serverMessage})`),
      reload,
      keep,
    );
    this.el.banner.hidden = false;
  }

  private panelActions: PanelActions = {
    pickClass: (cls) => this.pickClass(cls),
    select: (item) => this.doc.select(item.key),
    toggleVisible: (item) => this.doc.setVisible(item.key, !item.visible),
    remove: (item) => this.remove(item),
    accept: (item) => this.accept([item]),
  };

  private refreshPanels(): void {
    renderPalette(this.el.palette, this.doc, this.classId, this.panelActions);
    renderInstances(this.el.instances, this.doc, this.panelActions);
  }

  private updateChrome(): void {
    if (!this.doc) return;
    this.el.title.textContent = `${this.project.name} / ${this.image.file_name}`;
    this.el.size.textContent = `⌀ ${Math.round(this.radius * 2)} px`;
    this.el.zoom.textContent = `${Math.round(this.view.scale * 100)}%`;
    this.el.undo.disabled = !this.history.canUndo;
    this.el.redo.disabled = !this.history.canRedo;
    this.el.imageStatus.textContent = this.image.status.replace("_", " ");
  }
}
