/**
 * The editor's state store for one image: label classes, annotations (each a Mask), selection,
 * and the saved version. Every mutation goes through `applyChange`, which is what history
 * replays, so undo/redo and rendering invalidation can never drift apart.
 */
import type {
  AnnotationChangeDto, AnnotationDocumentDto, AnnotationDto, AnnotationInputDto, DeltaRequestDto, DeltaSavedDto, LabelClassDto,
  SavedDocumentDto,
} from "./api";
import { Emitter } from "./emitter";
import { type Rect, EMPTY_RECT } from "./geometry";
import { Mask } from "./mask";
import type { CocoRle } from "./rle";
import { VoidLayer } from "./void-layer";

/** A label class as the API sends it; the editor keeps it unchanged. */
export type LabelClass = LabelClassDto;

export interface Provenance {
  source: "human" | "model";
  modelVersion: number | null;
  modelVersionName: string | null;
  score: number | null;
  author: string | null;
}

export interface AnnotationItem extends Provenance {
  /** Local identity, stable across saves and undo. */
  readonly key: number;
  /** Server id, null until the first save returns it. */
  id: number | null;
  labelClass: number;
  mask: Mask;
  zOrder: number;
  isProposal: boolean;
  visible: boolean;
  /** RLE the server holds for this mask; null once the pixels changed. */
  savedCounts: string | null;
  /** Bumped on every change of this item; lets a save tell what changed while it was in flight. */
  rev: number;
}

export type Change =
  | { kind: "pixels"; key: number; rect: Rect; before: Uint8Array; after: Uint8Array }
  | { kind: "add"; item: AnnotationItem }
  | { kind: "remove"; item: AnnotationItem }
  | { kind: "proposal"; key: number; before: boolean; after: boolean }
  | { kind: "order"; key: number; before: number; after: number }
  /** Pixels of the void region (void-layer.ts) in `rect`. */
  | { kind: "void"; rect: Rect; before: Uint8Array; after: Uint8Array };

/** What the server holds of one annotation, as of the last load or acknowledged save. */
interface ServerCopy {
  labelClass: number;
  zOrder: number;
  isProposal: boolean;
  counts: string;
}

/** One annotation a save sends, and what it was when sent (so a save can tell what changed in flight). */
export interface SentItem {
  item: AnnotationItem;
  rev: number;
  counts: string;
  /** The item's z-order when sent (the full save renumbers; the server's number wins unless it moved since). */
  z: number;
}

/** A delta save: the request, the annotation behind each upsert, the ids it deletes. */
export interface DeltaPayload {
  body: DeltaRequestDto;
  sent: SentItem[];
  /** True when nothing differs from what the server holds (no request needed). */
  empty: boolean;
}

/** What changed in the document; views subscribe to `changed` and redraw what they show of it. */
export type DocumentChange =
  /** Pixels of one annotation changed in `rect` (EMPTY_RECT: everything about it). */
  | { kind: "pixels"; key: number; rect: Rect }
  /** Annotations added, removed, reordered, or their properties changed. */
  | { kind: "annotations" }
  | { kind: "selection"; key: number | null }
  /** Pixels of the void region changed in `rect` (EMPTY_RECT: all of it). */
  | { kind: "void"; rect: Rect };

export interface DocumentEvents {
  changed: DocumentChange;
}

export class EditorDocument {
  readonly events = new Emitter<DocumentEvents>();
  readonly classes: LabelClass[];
  private readonly classById = new Map<number, LabelClass>();
  private readonly items = new Map<number, AnnotationItem>();
  /** The server's copy, by annotation id: what a delta save is computed against. */
  private readonly server = new Map<number, ServerCopy>();
  private nextKey = 1;
  version: number;
  /** Increases with every applied change; save compares it with `savedRevision`. */
  revision = 0;
  savedRevision = 0;
  selectedKey: number | null = null;
  /** The image's void (ignore) region; replaced with the server's on every load. */
  voidLayer!: VoidLayer;

  constructor(
    readonly width: number,
    readonly height: number,
    classes: LabelClassDto[],
    doc: AnnotationDocumentDto,
  ) {
    this.classes = [...classes].sort((a, b) => a.order - b.order || a.id - b.id);
    for (const c of this.classes) this.classById.set(c.id, c);
    this.version = doc.version;
    this.loadAnnotations(doc);
  }

  /** Replaces all annotations with the server's document (initial load, "reload theirs"). */
  loadAnnotations(doc: AnnotationDocumentDto): void {
    this.items.clear();
    this.server.clear();
    this.version = doc.version;
    for (const a of doc.annotations) {
      const item = this.itemFromDto(a);
      this.items.set(item.key, item);
      this.remember(a);
    }
    this.selectedKey = null;
    this.voidLayer = new VoidLayer(this.width, this.height, doc.void as CocoRle | null);
    this.revision++;
    this.savedRevision = this.revision;
    this.events.emit("changed", { kind: "annotations" });
    this.events.emit("changed", { kind: "void", rect: EMPTY_RECT });
    this.events.emit("changed", { kind: "selection", key: null });
  }

  private remember(a: AnnotationDto): void {
    this.server.set(a.id, { labelClass: a.label_class, zOrder: a.z_order, isProposal: a.is_proposal, counts: a.mask.counts });
  }

  private itemFromDto(a: AnnotationDto): AnnotationItem {
    const [h, w] = a.mask.size;
    if (h !== this.height || w !== this.width) {
      throw new Error(`annotation ${a.id} has a ${h}x${w} mask on a ${this.height}x${this.width} image`);
    }
    return {
      key: this.nextKey++,
      id: a.id,
      labelClass: a.label_class,
      mask: Mask.fromRle(a.mask),
      zOrder: a.z_order,
      isProposal: a.is_proposal,
      visible: true,
      savedCounts: a.mask.counts,
      rev: 0,
      source: a.source,
      modelVersion: a.model_version,
      modelVersionName: a.model_version_name,
      score: a.score,
      author: a.author,
    };
  }

  get dirty(): boolean {
    return this.revision !== this.savedRevision;
  }

  labelClass(id: number): LabelClass | undefined {
    return this.classById.get(id);
  }

  get(key: number): AnnotationItem | undefined {
    return this.items.get(key);
  }

  /** Annotations in drawing order: semantic layers under instances, then by z-order. */
  list(): AnnotationItem[] {
    const rank = (i: AnnotationItem): number => (this.classById.get(i.labelClass)?.kind === "semantic" ? 0 : 1);
    return [...this.items.values()].sort((a, b) => rank(a) - rank(b) || a.zOrder - b.zOrder || a.key - b.key);
  }

  get selected(): AnnotationItem | null {
    return this.selectedKey === null ? null : (this.items.get(this.selectedKey) ?? null);
  }

  select(key: number | null): void {
    if (key !== null && !this.items.has(key)) key = null;
    if (key === this.selectedKey) return;
    this.selectedKey = key;
    this.events.emit("changed", { kind: "selection", key });
  }

  semanticLayer(classId: number): AnnotationItem | null {
    for (const item of this.items.values()) if (item.labelClass === classId) return item;
    return null;
  }

  /** A new, empty annotation (not yet in the document: add it through an "add" change). */
  createItem(labelClass: number): AnnotationItem {
    let z = 0;
    for (const i of this.items.values()) z = Math.max(z, i.zOrder + 1);
    return {
      key: this.nextKey++,
      id: null,
      labelClass,
      mask: new Mask(this.width, this.height),
      zOrder: z,
      isProposal: false,
      visible: true,
      savedCounts: null,
      rev: 0,
      source: "human",
      modelVersion: null,
      modelVersionName: null,
      score: null,
      author: null,
    };
  }

  /** Applies a change forwards (redo / first application) or backwards (undo). */
  applyChange(change: Change, direction: "forward" | "backward"): void {
    const fwd = direction === "forward";
    this.revision++;
    switch (change.kind) {
      case "pixels": {
        const item = this.items.get(change.key);
        if (!item) throw new Error(`no annotation ${change.key} for a pixel change`);
        item.mask.write(change.rect, fwd ? change.after : change.before);
        item.savedCounts = null;
        item.rev++;
        this.emitPixels(item.key, change.rect);
        break;
      }
      case "add":
      case "remove": {
        const adding = (change.kind === "add") === fwd;
        if (adding) {
          this.items.set(change.item.key, change.item);
        } else {
          this.items.delete(change.item.key);
          if (this.selectedKey === change.item.key) this.select(null);
        }
        change.item.rev++;
        this.emitPixels(change.item.key, EMPTY_RECT);
        this.events.emit("changed", { kind: "annotations" });
        break;
      }
      case "proposal": {
        const item = this.items.get(change.key);
        if (!item) throw new Error(`no annotation ${change.key} to accept`);
        item.isProposal = fwd ? change.after : change.before;
        item.rev++;
        this.emitPixels(item.key, EMPTY_RECT);
        this.events.emit("changed", { kind: "annotations" });
        break;
      }
      case "order": {
        const item = this.items.get(change.key);
        if (!item) throw new Error(`no annotation ${change.key} to move`);
        item.zOrder = fwd ? change.after : change.before;
        item.rev++;
        this.events.emit("changed", { kind: "annotations" });
        break;
      }
      case "void": {
        const since = this.voidLayer.mask.rev;
        this.voidLayer.mask.write(change.rect, fwd ? change.after : change.before);
        this.voidLayer.touched();
        this.voidLayer.recount(fwd ? change.before : change.after, fwd ? change.after : change.before, since);
        this.events.emit("changed", { kind: "void", rect: change.rect });
        break;
      }
    }
  }

  /** The change that draws `key` above (`front`) or below every other annotation of its layer. */
  reorderChange(key: number, front: boolean): Change | null {
    const item = this.items.get(key);
    if (!item) return null;
    let z = item.zOrder;
    for (const other of this.items.values()) {
      if (other.key !== key) z = front ? Math.max(z, other.zOrder + 1) : Math.min(z, other.zOrder - 1);
    }
    return z === item.zOrder ? null : { kind: "order", key, before: item.zOrder, after: z };
  }

  /** Marks void pixels painted live by the void tool (the history entry comes when the stroke ends). */
  voidTouched(rect: Rect): void {
    this.revision++;
    this.voidLayer.touched();
    this.events.emit("changed", { kind: "void", rect });
  }

  setVoidVisible(visible: boolean): void {
    if (this.voidLayer.visible === visible) return;
    this.voidLayer.visible = visible;
    this.events.emit("changed", { kind: "annotations" });
  }

  /** Marks pixels painted live by a tool (the history entry is recorded when the gesture ends). */
  touched(item: AnnotationItem, rect: Rect): void {
    this.revision++;
    item.savedCounts = null;
    item.rev++;
    item.mask.rev++;
    this.emitPixels(item.key, rect);
  }

  private emitPixels(key: number, rect: Rect): void {
    this.events.emit("changed", { kind: "pixels", key, rect });
  }

  setVisible(key: number, visible: boolean): void {
    const item = this.items.get(key);
    if (!item || item.visible === visible) return;
    item.visible = visible;
    this.emitPixels(key, EMPTY_RECT);
    this.events.emit("changed", { kind: "annotations" });
  }

  /** What a save sends: every non-empty annotation, with the version this document was read at. */
  payload(): { body: { version: number; annotations: AnnotationInputDto[]; void?: CocoRle | null }; sent: SentItem[] } {
    const sent: SentItem[] = [];
    const annotations: AnnotationInputDto[] = [];
    this.list().forEach((item, index) => {
      const counts = item.savedCounts ?? item.mask.toRle().counts;
      // An annotation erased to nothing is a deletion, not an empty mask.
      if (item.savedCounts === null && item.mask.isBlank()) return;
      const input: AnnotationInputDto = {
        label_class: item.labelClass,
        mask: { size: [this.height, this.width], counts },
        z_order: index,
        is_proposal: item.isProposal,
      };
      if (item.id !== null && this.server.has(item.id)) input.id = item.id;
      annotations.push(input);
      sent.push({ item, rev: item.rev, counts, z: item.zOrder });
    });
    const body: { version: number; annotations: AnnotationInputDto[]; void?: CocoRle | null } = { version: this.version, annotations };
    // Void: left out unless it changed, so the server keeps its region (null clears it).
    const voidRle = this.voidLayer.payload();
    if (voidRle !== undefined) body.void = voidRle;
    return { body, sent };
  }

  /**
   * What a delta save sends: the annotations that differ from the server's copy (new ones in
   * full; changed ones with only the fields that changed) and the ids of those gone (deleted, or
   * erased to nothing), with the version this document was read at. Untouched masks are not
   * encoded again.
   */
  deltaPayload(): DeltaPayload {
    const upsert: AnnotationChangeDto[] = [];
    const sent: SentItem[] = [];
    const present = new Set<number>();
    const size: [number, number] = [this.height, this.width];
    for (const item of this.list()) {
      const known = item.id !== null ? this.server.get(item.id) : undefined;
      // An annotation erased to nothing is a deletion, not an empty mask.
      if (item.savedCounts === null && item.mask.isBlank()) continue;
      const counts = item.savedCounts ?? item.mask.toRle().counts;
      if (!known) {
        // New, or back from an undo after the server deleted it: sent in full, without an id.
        upsert.push({ label_class: item.labelClass, mask: { size, counts }, z_order: item.zOrder, is_proposal: item.isProposal });
        sent.push({ item, rev: item.rev, counts, z: item.zOrder });
        continue;
      }
      const id = item.id as number;
      present.add(id);
      const change: AnnotationChangeDto = { id };
      if (counts !== known.counts) change.mask = { size, counts };
      if (item.labelClass !== known.labelClass) change.label_class = item.labelClass;
      if (item.zOrder !== known.zOrder) change.z_order = item.zOrder;
      if (item.isProposal !== known.isProposal) change.is_proposal = item.isProposal;
      if (Object.keys(change).length > 1) {
        upsert.push(change);
        sent.push({ item, rev: item.rev, counts, z: item.zOrder });
      } else if (item.savedCounts === null) {
        item.savedCounts = counts; // painted back to what the server holds
      }
    }
    const remove = [...this.server.keys()].filter((id) => !present.has(id));
    const body: DeltaRequestDto = { version: this.version, upsert, delete: remove };
    // Void: left out unless it changed, so the server keeps its region (null clears it).
    const voidRle = this.voidLayer.payload();
    if (voidRle !== undefined) body.void = voidRle;
    return { body, sent, empty: upsert.length === 0 && remove.length === 0 && voidRle === undefined };
  }

  /** Takes the server's answer to a delta save: new ids, provenance, the new version. */
  acceptDelta(response: DeltaSavedDto, sent: SentItem[], revisionAtSend: number): void {
    this.version = response.version;
    this.voidLayer.acceptSaved();
    const byId = new Map<number, AnnotationDto>();
    for (const a of response.annotations) byId.set(a.id, a);
    for (const id of response.deleted_ids) this.server.delete(id);
    sent.forEach((entry, index) => {
      const dto = byId.get(response.saved_ids[index]);
      if (dto) this.takeSaved(entry, dto);
    });
    this.settle(revisionAtSend);
  }

  /** Marks the document saved when nothing changed since `revisionAtSend` (a delta with nothing to send). */
  markSaved(revisionAtSend: number): void {
    this.settle(revisionAtSend);
  }

  private takeSaved({ item, rev, counts, z }: SentItem, dto: AnnotationDto): void {
    this.remember(dto);
    item.id = dto.id;
    item.source = dto.source;
    item.modelVersion = dto.model_version;
    item.modelVersionName = dto.model_version_name;
    item.score = dto.score;
    item.author = dto.author;
    if (item.zOrder === z) item.zOrder = dto.z_order;
    if (item.rev === rev) {
      item.isProposal = dto.is_proposal;
      item.savedCounts = counts;
    }
  }

  private settle(revisionAtSend: number): void {
    // Items whose server row is gone (erased to nothing and deleted) are new again.
    for (const item of this.items.values()) if (item.id !== null && !this.server.has(item.id)) item.id = null;
    if (this.revision === revisionAtSend) this.savedRevision = this.revision;
    this.events.emit("changed", { kind: "annotations" });
  }

  /** Takes the server's answer to a full save: new ids, provenance, the new version. */
  acceptSaved(response: SavedDocumentDto, sent: SentItem[], revisionAtSend: number): void {
    this.version = response.version;
    this.voidLayer.acceptSaved();
    this.server.clear();
    for (const a of response.annotations) this.remember(a);
    const byId = new Map<number, AnnotationDto>();
    const byZ = new Map<number, AnnotationDto>();
    for (const a of response.annotations) {
      byId.set(a.id, a);
      byZ.set(a.z_order, a);
    }
    sent.forEach((entry, index) => {
      // The server names each sent item's id in order; z-order is the fallback for older servers.
      const savedId = response.saved_ids[index];
      const dto =
        (savedId !== undefined ? byId.get(savedId) : undefined) ??
        (entry.item.id !== null ? byId.get(entry.item.id) : undefined) ??
        byZ.get(index);
      if (dto) this.takeSaved(entry, dto);
    });
    this.settle(revisionAtSend);
  }
}
