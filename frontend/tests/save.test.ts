import { describe, expect, it, vi } from "vitest";
import {
  type Api, ApiError, type AnnotationDocumentDto, type DeltaRequestDto, type DeltaSavedDto, type SaveRequestDto,
  type SavedDocumentDto,
} from "../src/api";
import { History } from "../src/history";
import { SaveController } from "../src/save";
import type { Timer } from "../src/timer";
import { docWith, echoDelta, rectBitmap } from "./helpers";

class FakeApi implements Api {
  saves: SaveRequestDto[] = [];
  deltas: DeltaRequestDto[] = [];
  answers: Array<(body: SaveRequestDto) => SavedDocumentDto> = [];
  deltaAnswers: Array<(body: DeltaRequestDto) => DeltaSavedDto> = [];
  serverDoc: AnnotationDocumentDto = { image: 9, version: 5, width: 10, height: 10, void: null, annotations: [] };
  project(): never {
    throw new Error("unused");
  }
  image(): never {
    throw new Error("unused");
  }
  setImageStatus(): never {
    throw new Error("unused");
  }
  assist(): never {
    throw new Error("unused");
  }
  superpixels(): never {
    throw new Error("unused");
  }
  async annotations(): Promise<AnnotationDocumentDto> {
    return this.serverDoc;
  }
  async saveAnnotations(_id: number, body: SaveRequestDto): Promise<SavedDocumentDto> {
    this.saves.push(JSON.parse(JSON.stringify(body)) as SaveRequestDto);
    const answer = this.answers.shift();
    if (!answer) throw new Error("no answer scripted");
    return answer(body);
  }
  async saveDelta(_id: number, body: DeltaRequestDto): Promise<DeltaSavedDto> {
    this.deltas.push(JSON.parse(JSON.stringify(body)) as DeltaRequestDto);
    const answer = this.deltaAnswers.shift();
    if (!answer) throw new Error("no delta answer scripted");
    return answer(body);
  }
}

const echo = (body: SaveRequestDto): SavedDocumentDto => ({
  image: 9,
  version: body.version + 1,
  width: 10,
  height: 10,
  void: null,
  saved_ids: body.annotations.map((a, i) => a.id ?? 100 + i),
  annotations: body.annotations.map((a, i) => ({
    id: a.id ?? 100 + i,
    label_class: a.label_class,
    mask: a.mask,
    bbox: [0, 0, 0, 0],
    area: 0,
    z_order: a.z_order ?? i,
    source: "human",
    model_version: null,
    model_version_name: null,
    score: null,
    is_proposal: a.is_proposal ?? false,
    iscrowd: false,
    author: "olivia",
    created_at: "",
    updated_at: "",
  })),
});

const noWait: Timer & { waits: number[] } = { waits: [], sleep(ms) { this.waits.push(ms); return Promise.resolve(); } };

function setup() {
  const doc = docWith(10, 10, [{ id: 1, cls: 1, bitmap: rectBitmap(10, 10, 1, 1, 4, 4) }], 3);
  const api = new FakeApi();
  const history = new History(doc);
  const saver = new SaveController(api, 9, doc, noWait, [10, 20]);
  const item = doc.createItem(2);
  item.mask.write({ x: 5, y: 5, w: 2, h: 2 }, new Uint8Array([1, 1, 1, 1]));
  history.commit({ label: "add", changes: [{ kind: "add", item }] });
  return { doc, api, saver, item };
}

describe("saving with versions", () => {
  it("sends the version it read and only the new annotation, and takes its id", async () => {
    const { doc, api, saver, item } = setup();
    api.deltaAnswers.push(echoDelta());
    expect(await saver.save()).toBe(true);
    expect(api.saves).toHaveLength(0);
    expect(api.deltas[0].version).toBe(3);
    // The untouched annotation 1 is not sent at all.
    expect(api.deltas[0].upsert.map((a) => a.id)).toEqual([undefined]);
    expect(api.deltas[0].upsert[0].mask?.counts).toBe(item.mask.toRle().counts);
    expect(api.deltas[0].delete).toEqual([]);
    expect(item.id).toBe(100);
    expect(doc.version).toBe(4);
    expect(doc.dirty).toBe(false);
    expect(saver.state.kind).toBe("saved");
    expect(saver.lastSent).toMatchObject({ mode: "delta", upserts: 1, deletes: 0 });
  });

  it("keeps the work on 409 and re-sends against the server's version on keep mine", async () => {
    const { doc, api, saver } = setup();
    api.deltaAnswers.push(() => {
      throw new ApiError(409, "Someone else saved", { current_version: 8 });
    });
    expect(await saver.save()).toBe(false);
    expect(saver.state).toMatchObject({ kind: "conflict", currentVersion: 8 });
    expect(doc.dirty).toBe(true);
    expect(doc.list()).toHaveLength(2);
    api.answers.push(echo);
    expect(await saver.keepMine()).toBe(true);
    // "Keep mine" replaces the server's document whole (a full PUT), on its version.
    expect(api.saves[0].version).toBe(8);
    expect(api.saves[0].annotations).toHaveLength(2);
    expect(doc.version).toBe(9);
    expect(saver.lastSent?.mode).toBe("full");
    // ...and the next save is a delta again.
    const first = doc.list()[1];
    first.mask.write({ x: 0, y: 0, w: 1, h: 1 }, new Uint8Array([1]));
    doc.touched(first, { x: 0, y: 0, w: 1, h: 1 });
    api.deltaAnswers.push(echoDelta());
    expect(await saver.save()).toBe(true);
    expect(api.deltas[1]).toMatchObject({ version: 9, delete: [] });
    expect(api.deltas[1].upsert.map((a) => a.id)).toEqual([first.id]);
  });

  it("reloads the server's document when the user picks theirs", async () => {
    const { doc, api, saver } = setup();
    api.deltaAnswers.push(() => {
      throw new ApiError(409, "stale", { current_version: 5 });
    });
    await saver.save();
    await saver.reloadTheirs();
    expect(doc.version).toBe(5);
    expect(doc.list()).toHaveLength(0);
    expect(doc.dirty).toBe(false);
  });

  it("retries network failures with backoff, then succeeds", async () => {
    const { api, saver } = setup();
    noWait.waits.length = 0;
    api.deltaAnswers.push(() => {
      throw new ApiError(0, "Network error");
    });
    api.deltaAnswers.push(() => {
      throw new ApiError(503, "busy");
    });
    api.deltaAnswers.push(echoDelta());
    expect(await saver.save()).toBe(true);
    expect(noWait.waits).toEqual([10, 20]);
    // Every attempt sent the same delta: nothing is lost between retries.
    expect(api.deltas).toHaveLength(3);
    expect(new Set(api.deltas.map((d) => JSON.stringify(d))).size).toBe(1);
  });

  it("does not retry a 400 and reports its message", async () => {
    const { api, saver } = setup();
    api.deltaAnswers.push(() => {
      throw new ApiError(400, "Mask size does not match the image");
    });
    expect(await saver.save()).toBe(false);
    expect(saver.state).toEqual({ kind: "failed", message: "Mask size does not match the image" });
  });

  it("deletes annotations erased to nothing", async () => {
    const { doc, api, saver } = setup();
    const first = doc.list().find((i) => i.id === 1);
    if (!first) throw new Error("fixture");
    first.mask.write(first.mask.region, new Uint8Array(first.mask.region.w * first.mask.region.h));
    doc.touched(first, first.mask.region);
    api.deltaAnswers.push(echoDelta());
    await saver.save();
    expect(api.deltas[0].upsert.map((a) => a.label_class)).toEqual([2]);
    expect(api.deltas[0].delete).toEqual([1]);
    expect(doc.list().find((i) => i.id === 1)).toBeUndefined();
  });
});

describe("idle autosave", () => {
  it("saves once, a while after the last edit", async () => {
    const { doc, api } = setup();
    api.deltaAnswers.push(echoDelta());
    const pending: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
    const timer: Timer = {
      sleep: () => Promise.resolve(),
      after(ms, fn) {
        const entry = { ms, fn, cancelled: false };
        pending.push(entry);
        return () => {
          entry.cancelled = true;
        };
      },
    };
    const saver = new SaveController(api, 9, doc, timer, [10], 4000);
    saver.noteEdit();
    saver.noteEdit();
    const live = pending.filter((p) => !p.cancelled);
    expect(live).toHaveLength(1);
    expect(live[0].ms).toBe(4000);
    live[0].fn();
    await vi.waitFor(() => expect(saver.state.kind).toBe("saved"));
    expect(api.deltas).toHaveLength(1);
    expect(doc.dirty).toBe(false);
  });
});
