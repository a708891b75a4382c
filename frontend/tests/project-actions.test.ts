import { describe, expect, it, vi } from "vitest";
import type { JobDto, JobPageDto } from "../src/api";
import {
  ACTIVE_POLL_MS,
  JobPoller,
  RETRY_POLL_MS,
  exportBody,
  jobRowView,
  networkKind,
  prelabelBody,
  trainBody,
  uploadBody,
  uploadSummary,
} from "../src/pages/project-actions";

function job(over: Partial<JobDto> = {}): JobDto {
  return {
    id: 7,
    project: 1,
    kind: "export",
    status: "running",
    params: {},
    done: 3,
    total: 10,
    progress: 0.3,
    message: "",
    result: null,
    download_url: null,
    created_at: "2024-01-01T00:00:00Z",
    started_at: null,
    finished_at: null,
    ...over,
  };
}

/** A timer whose callbacks run only when the test says so. */
function manualTimer() {
  const pending: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  return {
    pending,
    live: () => pending.filter((p) => !p.cancelled),
    /** Runs the one pending callback, as the clock would. */
    fire() {
      const [next] = pending.filter((p) => !p.cancelled);
      next.cancelled = true;
      next.fn();
    },
    after(ms: number, fn: () => void) {
      const entry = { ms, fn, cancelled: false };
      pending.push(entry);
      return () => {
        entry.cancelled = true;
      };
    },
  };
}

const page = (results: JobDto[]): JobPageDto => ({ count: results.length, next: null, previous: null, results });

describe("the project page's forms", () => {
  it("sends images as files and a zip as the archive", () => {
    const data = uploadBody([new File(["a"], "cat.png"), new File(["z"], "Batch.ZIP"), new File(["b"], "dog.jpg")]);
    expect((data.getAll("files") as File[]).map((f) => f.name)).toEqual(["cat.png", "dog.jpg"]);
    expect((data.get("archive") as File).name).toBe("Batch.ZIP");
  });

  it("says how many images were added and skipped", () => {
    expect(uploadSummary({ created: [], duplicates: ["a.png"], thumbnail_job: null })).toBe("0 image(s) added, 1 duplicate(s) skipped.");
  });

  it("turns the form's text into the API's numbers and choices", () => {
    expect(prelabelBody({ modelVersion: "4", images: "unlabeled", scoreThreshold: "0.35" })).toEqual({ model_version: 4, images: "unlabeled", score_threshold: 0.35 });
    expect(trainBody({ network: "segnet", kind: "arch", minutes: "10" })).toEqual({ arch: "segnet", minutes: 10 });
    expect(trainBody({ network: "fcn-small", kind: networkKind("preset"), minutes: "2" })).toEqual({ preset: "fcn-small", minutes: 2 });
    expect(networkKind(undefined)).toBe("arch");
    expect(exportBody({ format: "voc", withImages: true, approvedOnly: true })).toEqual({ format: "voc", with_images: true, only_status: ["done", "reviewed"] });
    expect(exportBody({ format: "coco", withImages: false, approvedOnly: false }).only_status).toEqual([]);
  });
});

describe("a job row", () => {
  it("shows progress and offers cancel while the job moves", () => {
    expect(jobRowView(job())).toMatchObject({ progressMax: 10, progressValue: 3, count: "3/10", cancellable: true, downloadUrl: null });
    expect(jobRowView(job({ status: "queued", done: 0, total: 0 }))).toMatchObject({ progressMax: 1, progressValue: 0, cancellable: true });
  });

  it("shows a finished job without a total as full, with its download and no cancel", () => {
    const view = jobRowView(job({ status: "succeeded", done: 0, total: 0, download_url: "/api/jobs/7/download/" }));
    expect(view).toMatchObject({ progressMax: 1, progressValue: 1, cancellable: false, downloadUrl: "/api/jobs/7/download/" });
    expect(jobRowView(job({ status: "failed", message: "no images" }))).toMatchObject({ cancellable: false, message: "no images" });
  });
});

describe("the job list's polling", () => {
  it("polls again only while a job is queued or running", async () => {
    const timer = manualTimer();
    const answers = [page([job()]), page([job({ status: "succeeded" })])];
    const shown: string[][] = [];
    const poller = new JobPoller(async () => answers.shift() ?? page([]), (jobs) => shown.push(jobs.map((j) => j.status)), timer);
    await poller.refresh();
    expect(shown).toEqual([["running"]]);
    expect(timer.live().map((p) => p.ms)).toEqual([ACTIVE_POLL_MS]);
    timer.fire();
    await vi.waitFor(() => expect(shown).toHaveLength(2));
    expect(shown).toEqual([["running"], ["succeeded"]]);
    expect(timer.live()).toHaveLength(0);
  });

  it("retries later after a failed request and keeps one pending poll when refreshed by hand", async () => {
    const timer = manualTimer();
    let fail = true;
    const poller = new JobPoller(
      async () => {
        if (fail) throw new Error("offline");
        return page([job()]);
      },
      () => undefined,
      timer,
    );
    await poller.refresh();
    expect(timer.live().map((p) => p.ms)).toEqual([RETRY_POLL_MS]);
    fail = false;
    await poller.refresh(); // a form was submitted meanwhile
    expect(timer.live().map((p) => p.ms)).toEqual([ACTIVE_POLL_MS]);
  });
});
