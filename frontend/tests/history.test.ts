import { describe, expect, it } from "vitest";
import type { DocumentChange } from "../src/document";
import { History, type HistoryState } from "../src/history";
import { paintCapsule } from "../src/raster";
import { docWith, rectBitmap } from "./helpers";

describe("undo stack of inverse changes", () => {
  it("undoes and redoes a recorded stroke, a new instance and an accept", () => {
    const doc = docWith(40, 30, [{ id: 7, cls: 1, bitmap: rectBitmap(40, 30, 2, 2, 10, 10), proposal: true }]);
    const history = new History(doc);
    const [proposal] = doc.list();
    const original = proposal.mask.toRle().counts;

    // A stroke painted live, then recorded once.
    const before = proposal.mask.clone();
    const rect = paintCapsule(proposal.mask, { x: 12, y: 5 }, { x: 20, y: 5 }, 2, 1);
    doc.touched(proposal, rect);
    history.record({ label: "brush", changes: [{ kind: "pixels", key: proposal.key, rect, before: before.read(rect), after: proposal.mask.read(rect) }] });
    const painted = proposal.mask.toRle().counts;
    expect(painted).not.toBe(original);

    const item = doc.createItem(1);
    history.commit({ label: "new", changes: [{ kind: "add", item }] });
    history.commit({ label: "accept", changes: [{ kind: "proposal", key: proposal.key, before: true, after: false }] });
    expect(doc.list()).toHaveLength(2);
    expect(proposal.isProposal).toBe(false);

    history.undo();
    expect(proposal.isProposal).toBe(true);
    history.undo();
    expect(doc.list()).toHaveLength(1);
    history.undo();
    expect(proposal.mask.toRle().counts).toBe(original);
    expect(history.canUndo).toBe(false);

    history.redo();
    expect(proposal.mask.toRle().counts).toBe(painted);
    history.redo();
    history.redo();
    expect(doc.list()).toHaveLength(2);
    expect(proposal.isProposal).toBe(false);
    expect(history.canRedo).toBe(false);
  });

  it("drops the redo stack on a new entry and marks the document dirty", () => {
    const doc = docWith(10, 10, []);
    const history = new History(doc);
    expect(doc.dirty).toBe(false);
    const a = doc.createItem(2);
    history.commit({ label: "a", changes: [{ kind: "add", item: a }] });
    expect(doc.dirty).toBe(true);
    history.undo();
    expect(history.canRedo).toBe(true);
    history.commit({ label: "b", changes: [{ kind: "add", item: doc.createItem(1) }] });
    expect(history.canRedo).toBe(false);
  });

  it("ignores empty entries", () => {
    const doc = docWith(10, 10, []);
    const history = new History(doc);
    history.record({ label: "nothing", changes: [] });
    expect(history.canUndo).toBe(false);
  });

  it("says when it changed, so the undo and redo buttons follow without being told", () => {
    const doc = docWith(10, 10, []);
    const history = new History(doc);
    const states: HistoryState[] = [];
    history.events.on("changed", (s) => states.push(s));
    history.commit({ label: "a", changes: [{ kind: "add", item: doc.createItem(2) }] });
    history.undo();
    history.redo();
    history.clear();
    expect(states).toEqual([
      { canUndo: true, canRedo: false },
      { canUndo: false, canRedo: true },
      { canUndo: true, canRedo: false },
      { canUndo: false, canRedo: false },
    ]);
  });
});

describe("document changes", () => {
  it("are one typed event: pixels, the annotation list, the selection", () => {
    const doc = docWith(10, 10, [{ id: 7, cls: 1, bitmap: rectBitmap(10, 10, 0, 0, 2, 2), proposal: true }]);
    const seen: DocumentChange["kind"][] = [];
    doc.events.on("changed", (c) => seen.push(c.kind));
    const [item] = doc.list();
    doc.select(item.key);
    new History(doc).commit({ label: "accept", changes: [{ kind: "proposal", key: item.key, before: true, after: false }] });
    doc.touched(item, { x: 0, y: 0, w: 1, h: 1 });
    expect(seen).toEqual(["selection", "pixels", "annotations", "pixels"]);
  });
});
