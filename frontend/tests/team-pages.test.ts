import { describe, expect, it } from "vitest";
import { bulkRequest } from "../src/pages/grid";
import { uploadProgressText } from "../src/pages/upload";
import { reviewView } from "../src/ui/review";

describe("bulk requests", () => {
  it("sends only the field its action needs, and unassigns with an empty name", () => {
    expect(bulkRequest("assign", [1, 2], { assignee: "tom", status: "done" })).toEqual({ action: "assign", images: [1, 2], assignee: "tom" });
    expect(bulkRequest("assign", [1], { assignee: "", status: "done" })).toEqual({ action: "assign", images: [1], assignee: null });
    expect(bulkRequest("status", [3], { assignee: "tom", status: "done" })).toEqual({ action: "status", images: [3], status: "done" });
    expect(bulkRequest("delete", [4], { assignee: "tom", status: "done" })).toEqual({ action: "delete", images: [4] });
  });
});

describe("upload progress", () => {
  it("says the share and the megabytes sent", () => {
    expect(uploadProgressText(524_288, 2_097_152)).toBe("uploading 25% (0.5 of 2.0 MB)");
    expect(uploadProgressText(10, 0)).toBe("uploading…");
  });
});

describe("the review panel", () => {
  it("shows a rejection's comment while the image is back in progress", () => {
    expect(reviewView({ status: "in_progress", review_comment: "fix the wheel" }, "annotator")).toEqual({ comment: "fix the wheel", canReview: false });
    expect(reviewView({ status: "done", review_comment: "fix the wheel" }, "annotator")).toEqual({ comment: null, canReview: false });
  });

  it("offers accept and reject to reviewers and owners on done images only", () => {
    expect(reviewView({ status: "done" }, "reviewer").canReview).toBe(true);
    expect(reviewView({ status: "done" }, "owner").canReview).toBe(true);
    expect(reviewView({ status: "in_progress" }, "reviewer").canReview).toBe(false);
    expect(reviewView({ status: "done" }, "annotator").canReview).toBe(false);
  });
});
