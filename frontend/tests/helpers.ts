import type { AnnotationDocumentDto, AnnotationDto, Api, DeltaRequestDto, DeltaSavedDto, LabelClassDto } from "../src/api";
import { EditorDocument } from "../src/document";
import type { History } from "../src/history";
import { encodeBitmap } from "../src/rle";
import { type ToolContext, paintTarget } from "../src/tools/tool";
import { Viewport } from "../src/viewport";

export const CLASSES: LabelClassDto[] = [
  { id: 1, name: "car", color: "#ff0000", kind: "instance", hotkey: "1", order: 0 },
  { id: 2, name: "road", color: "#808080", kind: "semantic", hotkey: "2", order: 1 },
];

export function rectBitmap(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out[y * w + x] = 1;
  return out;
}

export function docWith(w: number, h: number, masks: Array<{ id: number; cls: number; bitmap: Uint8Array; proposal?: boolean }>, version = 1): EditorDocument {
  const dto: AnnotationDocumentDto = {
    image: 9,
    version,
    width: w,
    height: h,
    void: null,
    annotations: masks.map((m, i) => ({
      id: m.id,
      label_class: m.cls,
      mask: encodeBitmap(h, w, m.bitmap),
      bbox: [0, 0, 0, 0],
      area: 0,
      z_order: i,
      source: m.proposal ? "model" : "human",
      model_version: m.proposal ? 3 : null,
      model_version_name: m.proposal ? "unet-v3" : null,
      score: m.proposal ? 0.9 : null,
      is_proposal: m.proposal ?? false,
      iscrowd: false,
      author: m.proposal ? null : "olivia",
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
    })),
  };
  return new EditorDocument(w, h, CLASSES, dto);
}

/** A tool context over `doc` with the first class current and every other input inert; `over` replaces parts. */
export function toolContext(doc: EditorDocument, history: History, over: Partial<ToolContext> = {}): ToolContext {
  return {
    doc,
    history,
    view: new Viewport(doc.width, doc.height),
    api: {} as Api,
    imageId: 9,
    brushRadius: () => 1,
    currentClass: () => CLASSES[0],
    resolveTarget: (create) => paintTarget(doc, CLASSES[0], create),
    superpixels: () => null,
    superpixelLevel: () => 0,
    setSuperpixelLevel: () => undefined,
    imagePixels: () => null,
    wandTolerance: () => 0,
    assistMethod: () => "auto",
    notify: () => undefined,
    setGestureActive: () => undefined,
    redrawUi: () => undefined,
    ...over,
  };
}

const row = (id: number, labelClass: number, mask: AnnotationDto["mask"], zOrder: number, isProposal: boolean): AnnotationDto => ({
  id, label_class: labelClass, mask, bbox: [0, 0, 0, 0], area: 0, z_order: zOrder, source: "human", model_version: null,
  model_version_name: null, score: null, is_proposal: isProposal, iscrowd: false, author: "olivia", created_at: "", updated_at: "",
});

/** The server's answer to a delta: new ids from 100, each upsert as stored (unsent fields from `held`). */
export const echoDelta = (held: Map<number, AnnotationDto> = new Map()) => (body: DeltaRequestDto): DeltaSavedDto => {
  const annotations = body.upsert.map((a, i) => {
    const before = a.id != null ? held.get(a.id) : undefined;
    const id = a.id ?? 100 + i;
    return row(id, a.label_class ?? before?.label_class ?? 0, a.mask ?? before?.mask ?? { size: [10, 10], counts: "" },
      a.z_order ?? before?.z_order ?? 0, a.is_proposal ?? (a.mask ? false : before?.is_proposal ?? false));
  });
  return { image: 9, version: body.version + 1, annotations, saved_ids: annotations.map((a) => a.id), deleted_ids: body.delete ?? [] };
};
