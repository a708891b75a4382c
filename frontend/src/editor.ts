/**
 * Wires the editor together: loads the image and its document, builds the page (ui/layout),
 * runs the keymap's commands from keys and buttons, and connects tools, history, saving and the
 * chrome that follows them. Editing rules live in the tools and the document, drawing in the
 * renderer, shortcuts in keymap.ts.
 */
import { type Api, ApiError, type AssistMethod } from "./api";
import { type AnnotationItem, type Change, EditorDocument, type LabelClass } from "./document";
import { History } from "./history";
import { StageInput, dispatchKey } from "./input";
import { type CommandId, type ToolCommand, isToolCommand, toolOf } from "./keymap";
import { type Step, navigate, warnBeforeLeaving } from "./navigation";
import { Renderer } from "./render/renderer";
import { SaveController } from "./save";
import { Store } from "./store";
import { ImageSources } from "./image-sources";
import type { Superpixels } from "./superpixels";
import { buildTools } from "./tools/all";
import type { Tool, ToolName } from "./tools/tool";
import { ConflictBanner, type Level, Toast } from "./ui/banner";
import { type EditorState, bindChrome } from "./ui/chrome";
import { HelpOverlay } from "./ui/help";
import { type Layout, buildLayout } from "./ui/layout";
import type { PanelActions } from "./ui/panels";
import { Viewport } from "./viewport";
import { yieldToMain } from "./yield";

export interface EditorConfig {
  projectId: number;
  imageId: number;
  /** URL of another image's editor page. */
  editUrl(imageId: number): string;
  /** The photo's URL when the page knows it: its request then starts with the API's. */
  imageUrl?: string;
  /** False tints every mask on the main thread (the browser tests compare both ways). */
  tintWorkers?: boolean;
}

export class Editor {
  doc!: EditorDocument;
  history!: History;
  view!: Viewport;
  renderer!: Renderer;
  saver!: SaveController;
  state!: Store<EditorState>;
  /** Milliseconds from `open()` to the first painted frame with all annotations. */
  openMs = 0;
  /** Resolves once every annotation's tint is painted (after `open()` where tint workers run). */
  masksShown: Promise<void> = Promise.resolve();
  /** Where the open time went (ms since open() began), for the benchmark. */
  openTimings: { [phase: string]: number } = {};
  private tools = new Map<ToolName, Tool>();
  private tool!: Tool;
  private input!: StageInput;
  /** The page's elements, built by open() in a task after the requests started (build). */
  private el!: Layout;
  private toast!: Toast;
  private help!: HelpOverlay;
  sources!: ImageSources;

  constructor(
    private readonly root: HTMLElement,
    readonly api: Api,
    private readonly config: EditorConfig,
  ) {}

  /** Builds the editor's elements in `root` and wires its controls. */
  private build(): void {
    this.el = buildLayout(this.root, (command) => this.run(command));
    this.toast = new Toast(this.el.toast);
    this.help = new HelpOverlay(this.root);
    this.el.opacity.addEventListener("input", () => {
      this.renderer.options.opacity = Number(this.el.opacity.value) / 100;
      this.renderer.restyle();
    });
    this.el.outline.addEventListener("change", () => this.setOutline(this.el.outline.checked));
    this.el.granularity.addEventListener("input", () => this.setSuperpixelLevel(Number(this.el.granularity.value)));
    this.el.tolerance.addEventListener("input", () => this.state.update({ tolerance: Number(this.el.tolerance.value) }));
    this.el.assistMethod.addEventListener("change", () => this.state.update({ assistMethod: this.el.assistMethod.value as AssistMethod }));
  }

  /** Loads everything and paints the first frame. */
  async open(): Promise<void> {
    const t0 = performance.now();
    const imageEl = new Image();
    // The photo's request starts as soon as its URL is known (from the page, else the image's
    // metadata), while the document still comes. It is decoded off the main thread (a Blob's
    // ImageBitmap): an <img> decodes a 12 MP JPEG on the main thread at its first draw, a 100+ ms task.
    const imageMeta = this.api.image(this.config.imageId);
    const photoUrl = this.config.imageUrl !== undefined ? Promise.resolve(this.config.imageUrl) : imageMeta.then((meta) => meta.url);
    const blob = photoUrl.then((url) => fetch(url, { credentials: "same-origin" })).then((r) => {
      if (!r.ok) throw new Error(`the image could not be loaded (HTTP ${r.status})`);
      return r.blob();
    });
    const decoded = blob.then((b) => createImageBitmap(b));
    const loads = Promise.all([this.api.project(this.config.projectId), imageMeta, this.api.annotations(this.config.imageId)]);
    loads.catch(() => undefined); // awaited below; a failure is not unhandled meanwhile
    // The elements in a task of their own, once the requests are out: the module's evaluation,
    // the end of parsing and the first layout of the editor's page do not add up to one long task.
    await yieldToMain();
    this.build();
    this.openTimings.build = performance.now() - t0;
    const [project, image, annotations] = await loads;
    this.openTimings.api = performance.now() - t0;
    // Decode masks while the browser decodes the photo.
    this.doc = new EditorDocument(image.width, image.height, project.label_classes, annotations);
    this.openTimings.masks = performance.now() - t0;
    this.history = new History(this.doc);
    this.view = new Viewport(image.width, image.height);
    this.renderer = new Renderer(this.el.stage, this.doc, this.view, { tintWorkers: this.config.tintWorkers });
    this.saver = new SaveController(this.api, image.id, this.doc);
    this.sources = new ImageSources(this.api, image, {
      superpixelsReady: (sp) => {
        this.state.update({ superpixelLevels: sp.levels.length, superpixelLevel: Math.min(this.state.value.superpixelLevel, sp.levels.length - 1) });
        if (this.state.value.tool === "superpixel") this.notify("Superpixels ready.");
      },
      failed: (message) => this.notify(message, "error"),
    });
    this.state = new Store<EditorState>({
      project, image, tool: "brush", classId: this.doc.classes[0]?.id ?? null, radius: 12,
      superpixelLevel: 1, superpixelLevels: 3, tolerance: 24, assistMethod: "auto",
    });
    this.buildTools();
    this.wireEvents();
    this.renderer.resize();
    this.view.fit();
    // With tint workers the editor is ready once the photo is in; the tints arrive in batches
    // meanwhile and after (`masksShown`). Without them it waits for the tints, made here in
    // short slices so the page stays responsive.
    const tinted = this.renderer.prepare();
    this.masksShown = tinted.then(() => {
      this.renderer.frame();
      this.openTimings.masksShown = performance.now() - t0;
      performance.mark("editor:masks");
    });
    if (this.renderer.tintWorkerCount === 0) await tinted;
    this.openTimings.tint = performance.now() - t0;
    const photo = await decoded;
    // The tools read pixels from an <img> of the same bytes, decoded only when one first asks.
    imageEl.addEventListener("load", () => this.sources.setPhoto(imageEl), { once: true });
    imageEl.src = URL.createObjectURL(await blob);
    this.openTimings.image = performance.now() - t0;
    this.renderer.setImage(photo);
    this.renderer.frame();
    this.openMs = performance.now() - t0;
    // The chrome (tools, palette, the list's first rows) in a task after the browser's frame
    // that shows the photo: after a plain setTimeout it was built before that frame, whose
    // style, layout and paint of the chrome then came on top of the canvases' (20 ms CPU).
    // (A hidden tab runs no frames: there a timer goes on after 100 ms.)
    await new Promise<void>((resolve) => {
      let gone = false;
      const next = (): void => {
        if (gone) return;
        gone = true;
        setTimeout(resolve, 0);
      };
      requestAnimationFrame(next);
      setTimeout(next, 100);
    });
    this.setTool("brush");
    bindChrome(this.el, this, this.panelActions, new ConflictBanner(this.el.banner, { reloadTheirs: () => this.reloadTheirs(), keepMine: () => void this.saver.keepMine() }));
    void this.renderer.buildLevels(await blob, image.width, image.height);
  }

  private buildTools(): void {
    const list = buildTools(this);
    for (const t of list) this.tools.set(t.name, t);
    this.tool = list[1];
    this.renderer.uiPainter = (g, view) => this.tool.drawUi(g, view);
  }

  /** The superpixels once loaded (browser tests wait on it). */
  get superpixelData(): Superpixels | null {
    return this.sources?.superpixels ?? null;
  }

  setSuperpixelLevel(level: number): void {
    const max = (this.sources.superpixels?.levels.length ?? this.state.value.superpixelLevels) - 1;
    this.state.update({ superpixelLevel: Math.max(0, Math.min(max, Math.round(level))) });
    this.renderer.invalidateUi();
  }

  currentClass(): LabelClass | null {
    const id = this.state.value.classId;
    return id === null ? null : (this.doc.labelClass(id) ?? null);
  }

  setTool(name: ToolName): void {
    const next = this.tools.get(name);
    if (!next) return;
    if (name === "superpixel") this.sources.superpixelsNow(); // start loading on the way in
    if (this.tool !== next) this.tool.cancel();
    this.tool = next;
    this.el.stage.style.cursor = next.cursor;
    this.state.update({ tool: name });
    this.renderer.invalidateUi();
  }

  pickClass(cls: LabelClass): void {
    this.state.update({ classId: cls.id });
    const sel = this.doc.selected;
    if (cls.kind === "semantic") this.doc.select(this.doc.semanticLayer(cls.id)?.key ?? null);
    else if (sel && sel.labelClass !== cls.id) this.doc.select(null);
  }

  private wireEvents(): void {
    this.input = new StageInput(this.el.stage, this.view, () => this.tool, () => this.renderer.invalidateUi());
    window.addEventListener("resize", () => this.renderer.resize());
    window.addEventListener("keydown", (e) =>
      dispatchKey(e, { classes: this.doc.classes, pickClass: (c) => this.pickClass(c), run: (c) => this.run(c) }),
    );
    warnBeforeLeaving(() => this.saver.hasUnsavedWork);
    this.doc.events.on("changed", (change) => {
      if (change.kind === "pixels" || change.kind === "void") this.saver.noteEdit();
      // Selecting an annotation makes its class the current one.
      const item = change.kind === "selection" && change.key !== null ? this.doc.get(change.key) : undefined;
      if (item) this.state.update({ classId: item.labelClass });
    });
    // The server moves a new image to in progress when it first saves it; show its word for it.
    this.saver.events.on("saved", () => {
      const { id, status } = this.state.value.image;
      if (status !== "new") return;
      this.api.image(id).then((fresh) => this.state.update({ image: { ...this.state.value.image, status: fresh.status } }), () => undefined);
    });
  }

  /** Runs a command of the keymap, from its key or its button; the active tool has the first say. */
  run(command: CommandId): boolean {
    if (!this.doc) return false; // still opening
    if (this.tool.command(command)) return true;
    if (isToolCommand(command)) this.setTool(toolOf(command));
    else return this.commands[command]() !== false;
    return true;
  }

  /** Each command the editor runs itself; `false` when it found nothing to do. */
  private readonly commands: { [C in Exclude<CommandId, ToolCommand>]: () => void | false } = {
    save: () => void this.saver.save(),
    done: () => void this.markDone(),
    undo: () => this.undo(),
    redo: () => {
      if (!this.history.redo()) this.notify("Nothing to redo.");
    },
    "brush.smaller": () => this.setRadius(this.state.value.radius / 1.25),
    "brush.larger": () => this.setRadius(this.state.value.radius * 1.25),
    "zoom.fit": () => this.view.fit(),
    "zoom.actual": () => this.view.actualSize(),
    "instance.new": () => {
      this.doc.select(null);
      this.notify("Next stroke starts a new instance.");
    },
    delete: () => this.withSelection((sel) => this.remove(sel)),
    accept: () => this.withSelection((sel) => this.accept([sel])),
    "accept-all": () => this.accept(this.doc.list()),
    "toggle-visible": () => this.withSelection((sel) => this.doc.setVisible(sel.key, !sel.visible)),
    outline: () => {
      this.el.outline.checked = !this.el.outline.checked;
      this.setOutline(this.el.outline.checked);
    },
    "image.prev": () => void this.navigate("prev"),
    "image.next": () => void this.navigate("next"),
    "image.suggested": () => void this.navigate("suggested"),
    pan: () => {
      this.input.panKeyDown = true;
    },
    confirm: () => false, // only a tool drawing a shape has something to confirm
    escape: () => {
      this.tool.cancel();
      this.doc.select(null);
      this.renderer.invalidateUi();
      this.help.close();
    },
    help: () => this.help.toggle(),
  };

  private withSelection(fn: (item: AnnotationItem) => void): void {
    const sel = this.doc.selected;
    if (sel) fn(sel);
  }

  setRadius(r: number): void {
    this.state.update({ radius: Math.max(0.5, Math.min(400, Math.round(r * 2) / 2)) });
    this.renderer.invalidateUi();
  }

  private setOutline(on: boolean): void {
    this.renderer.options.outlineOnly = on;
    this.renderer.restyle();
  }

  undo(): void {
    this.tool.cancel();
    if (!this.history.undo()) this.notify("Nothing to undo.");
  }

  remove(item: AnnotationItem): void {
    this.history.commit({ label: "delete", changes: [{ kind: "remove", item }] });
  }

  accept(items: AnnotationItem[]): void {
    const changes: Change[] = items.filter((i) => i.isProposal).map((i) => ({ kind: "proposal", key: i.key, before: true, after: false }));
    if (changes.length === 0) return;
    this.history.commit({ label: "accept", changes });
    this.notify(changes.length === 1 ? "Proposal accepted." : `${changes.length} proposals accepted.`);
  }

  private navigate(step: Step): Promise<void> {
    const go = (url: string): void => window.location.assign(url);
    return navigate(this.state.value.image, step, { save: () => this.saver.save(), editUrl: this.config.editUrl, go, notify: (m) => this.notify(m) });
  }

  private async markDone(): Promise<void> {
    if (!(await this.saver.save())) return;
    try {
      const answer = await this.api.setImageStatus(this.state.value.image.id, "done");
      this.state.update({ image: { ...this.state.value.image, ...answer } });
      this.notify("Image marked done.");
    } catch (err) {
      this.notify(err instanceof ApiError ? err.message : String(err), "error");
    }
  }

  /** Drop local work for the server's document (after a restore from the history). */
  async reloadDocument(): Promise<void> {
    await this.saver.reloadTheirs();
    this.history.clear();
  }

  private reloadTheirs(): void {
    this.saver
      .reloadTheirs()
      .then(() => {
        this.history.clear();
        this.notify("Loaded the latest saved version.");
      })
      .catch((err: unknown) => this.notify(String(err), "error"));
  }

  notify(message: string, level: Level = "info"): void {
    this.toast.show(message, level);
  }

  private readonly panelActions: PanelActions = {
    pickClass: (cls) => this.pickClass(cls),
    select: (item) => this.doc.select(item.key),
    toggleVisible: (item) => this.doc.setVisible(item.key, !item.visible),
    remove: (item) => this.remove(item),
    accept: (item) => this.accept([item]),
    pickVoid: () => this.setTool("void"),
    toggleVoid: () => this.doc.setVoidVisible(!this.doc.voidLayer.visible),
  };
}
