import { describe, expect, it } from "vitest";
import { pageCount, pageLabel } from "../src/pages/jobs-view";
import { revisionLine } from "../src/ui/history";

describe("the jobs panel's pager", () => {
  it("counts pages of the page size, at least one", () => {
    expect(pageCount(0, 20)).toBe(1);
    expect(pageCount(20, 20)).toBe(1);
    expect(pageCount(21, 20)).toBe(2);
    expect(pageLabel(2, 26, 20)).toBe("Page 2 of 2 · 26 jobs");
    expect(pageLabel(1, 1, 20)).toBe("Page 1 of 1 · 1 job");
  });
});

describe("a revision's line in the history panel", () => {
  const revision = { id: 9, version: 3, ground_truth: false, author: "tom", created_at: "2026-12-01T12:03:04Z", annotation_count: 2 };

  it("says the version, who saved it, when and how many annotations", () => {
    const line = revisionLine(revision, new Date("2026-12-01T13:00:00Z"));
    expect(line.startsWith("v3 · tom · ")).toBe(true);
    expect(line.endsWith(" · 2 annotations")).toBe(true);
  });

  it("says when in local time: the time alone for today's saves, day and month for older ones", () => {
    const at = new Date(2026, 11, 1, 9, 5, 7); // local time
    const today = revisionLine({ ...revision, created_at: at.toISOString() }, new Date(2026, 11, 1, 18, 0, 0));
    expect(today).toBe("v3 · tom · 09:05:07 · 2 annotations");
    const older = revisionLine({ ...revision, created_at: at.toISOString() }, new Date(2026, 11, 3, 18, 0, 0));
    expect(older).toBe("v3 · tom · 1 Dec 09:05 · 2 annotations");
  });

  it("names a save without a person (a model's proposals, an import)", () => {
    expect(revisionLine({ ...revision, author: null, annotation_count: 1 })).toMatch(/^v3 · model \/ import · .* · 1 annotation$/);
  });
});
