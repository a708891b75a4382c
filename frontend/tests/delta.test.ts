import { describe, expect, it } from "vitest";
import type { AnnotationDto } from "../src/api";
import type { EditorDocument } from "../src/document";
import { History } from "../src/history";
import { docWith, echoDelta, rectBitmap } from "./helpers";

/** Ten car masks (ids 1..10) on a 40x40 image; id 3 is a model proposal. */
function many(): { doc: EditorDocument; history: History } {
  const masks = Array.from({ length: 10 }, (_, i) => ({
    id: i + 1, cls: 1, bitmap: rectBitmap(40, 40, i * 4, i * 3, i * 4 + 3, i * 3 + 3), proposal: i === 2,
  }));
  const doc = docWith(40, 40, masks, 7);
  return { doc, history: new History(doc) };
}

const byId = (doc: EditorDocument, id: number) => {
  const item = doc.list().find((i) => i.id === id);
  if (!item) throw new Error(`no annotation ${id}`);
  return item;
};

/** The server's rows as the document was loaded, for an echo that fills in unsent fields. */
function held(doc: EditorDocument): Map<number, AnnotationDto> {
  const out = new Map<number, AnnotationDto>();
  for (const i of doc.list()) {
    if (i.id === null) continue;
    out.set(i.id, {
      id: i.id, label_class: i.labelClass, mask: i.mask.toRle(), bbox: [0, 0, 0, 0], area: 0, z_order: i.zOrder, source: i.source,
      model_version: i.modelVersion, model_version_name: i.modelVersionName, score: i.score, is_proposal: i.isProposal,
      iscrowd: false, author: i.author, created_at: "", updated_at: "",
    });
  }
  return out;
}

function paint(history: History, doc: EditorDocument, id: number, x: number, y: number, value = 1): void {
  const item = byId(doc, id);
  const rect = { x, y, w: 1, h: 1 };
  history.commit({ label: "paint", changes: [{ kind: "pixels", key: item.key, rect, before: item.mask.read(rect), after: new Uint8Array([value]) }] });
}

describe("the delta a save sends", () => {
  it("is empty for a document as loaded", () => {
    const { doc } = many();
    expect(doc.deltaPayload()).toMatchObject({ empty: true, body: { version: 7, upsert: [], delete: [] } });
  });

  it("names only the edited annotation among many, with its new mask and nothing else", () => {
    const { doc, history } = many();
    paint(history, doc, 5, 39, 39);
    const { body, sent, empty } = doc.deltaPayload();
    expect(empty).toBe(false);
    expect(body.upsert).toEqual([{ id: 5, mask: byId(doc, 5).mask.toRle() }]);
    expect(body.delete).toEqual([]);
    expect(sent.map((s) => s.item.id)).toEqual([5]);
  });

  it("sends a deleted annotation as its id alone", () => {
    const { doc, history } = many();
    history.commit({ label: "delete", changes: [{ kind: "remove", item: byId(doc, 4) }] });
    expect(doc.deltaPayload().body).toEqual({ version: 7, upsert: [], delete: [4] });
  });

  it("deletes an annotation erased to nothing", () => {
    const { doc } = many();
    const item = byId(doc, 2);
    item.mask.write(item.mask.region, new Uint8Array(item.mask.region.w * item.mask.region.h));
    doc.touched(item, item.mask.region);
    expect(doc.deltaPayload().body).toEqual({ version: 7, upsert: [], delete: [2] });
  });

  it("sends a reorder as the new z-order, without the mask", () => {
    const { doc, history } = many();
    const change = doc.reorderChange(byId(doc, 1).key, true);
    if (!change) throw new Error("nothing to move");
    history.commit({ label: "raise", changes: [change] });
    expect(doc.deltaPayload().body.upsert).toEqual([{ id: 1, z_order: 10 }]);
    expect(doc.list().at(-1)?.id).toBe(1);
    history.undo();
    expect(doc.deltaPayload().empty).toBe(true);
  });

  it("sends an accepted proposal as is_proposal false, without the mask", () => {
    const { doc, history } = many();
    history.commit({ label: "accept", changes: [{ kind: "proposal", key: byId(doc, 3).key, before: true, after: false }] });
    expect(doc.deltaPayload().body.upsert).toEqual([{ id: 3, is_proposal: false }]);
  });

  it("sends nothing once a stroke is painted back to what the server holds", () => {
    const { doc, history } = many();
    paint(history, doc, 6, 0, 39, 1);
    paint(history, doc, 6, 0, 39, 0);
    expect(doc.dirty).toBe(true);
    expect(doc.deltaPayload().empty).toBe(true);
  });

  it("sends new annotations in full and learns their ids from the answer", () => {
    const { doc, history } = many();
    const item = doc.createItem(1);
    item.mask.write({ x: 20, y: 20, w: 2, h: 2 }, new Uint8Array([1, 1, 1, 1]));
    history.commit({ label: "add", changes: [{ kind: "add", item }] });
    const { body, sent } = doc.deltaPayload();
    expect(body.upsert).toEqual([{ label_class: 1, mask: item.mask.toRle(), z_order: 10, is_proposal: false }]);
    doc.acceptDelta(echoDelta()(body), sent, doc.revision);
    expect(item.id).toBe(100);
    expect(doc.dirty).toBe(false);
    expect(doc.deltaPayload().empty).toBe(true);
  });

  it("sends again what changed while a save was in flight", () => {
    const { doc, history } = many();
    paint(history, doc, 5, 39, 39);
    const revisionAtSend = doc.revision;
    const first = doc.deltaPayload();
    paint(history, doc, 5, 38, 39); // while the save is on its way
    paint(history, doc, 8, 0, 0);
    doc.acceptDelta(echoDelta(held(doc))(first.body), first.sent, revisionAtSend);
    expect(doc.dirty).toBe(true);
    const second = doc.deltaPayload().body;
    expect(second.upsert.map((a) => a.id)).toEqual([5, 8]);
    expect(second.upsert[0].mask).toEqual(byId(doc, 5).mask.toRle());
    expect(second.version).toBe(8);
  });

  it("sends an annotation brought back by undo after its deletion was saved as a new one", () => {
    const { doc, history } = many();
    history.commit({ label: "delete", changes: [{ kind: "remove", item: byId(doc, 9) }] });
    const { body, sent } = doc.deltaPayload();
    doc.acceptDelta(echoDelta()(body), sent, doc.revision);
    history.undo();
    const again = doc.deltaPayload().body;
    expect(again.delete).toEqual([]);
    expect(again.upsert).toHaveLength(1);
    expect(again.upsert[0].id).toBeUndefined();
    expect(again.upsert[0].mask).toBeDefined();
  });

  it("deletes by its new id an annotation removed while its first save was in flight", () => {
    const { doc, history } = many();
    const item = doc.createItem(1);
    item.mask.write({ x: 30, y: 5, w: 1, h: 1 }, new Uint8Array([1]));
    history.commit({ label: "add", changes: [{ kind: "add", item }] });
    const first = doc.deltaPayload();
    const revisionAtSend = doc.revision;
    history.commit({ label: "delete", changes: [{ kind: "remove", item }] });
    doc.acceptDelta(echoDelta()(first.body), first.sent, revisionAtSend);
    expect(doc.deltaPayload().body).toEqual({ version: 8, upsert: [], delete: [100] });
  });
});
