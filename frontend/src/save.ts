/**
 * Saving the annotation document safely: a save sends only what changed since the last
 * acknowledged one (a delta, PATCH) with the version it was read at; a 409 keeps the user's work
 * and waits for their choice (reload theirs / keep mine, which replaces the server's document
 * with a full PUT); network failures and 5xx answers are retried with exponential backoff, each
 * attempt recomputing the delta against what the server acknowledged. Never a silent loss.
 */
import { type Api, ApiError } from "./api";
import type { EditorDocument } from "./document";
import { Emitter } from "./emitter";
import { type Timer, realTimer } from "./timer";

export type SaveState =
  | { kind: "saved" }
  | { kind: "dirty" }
  | { kind: "saving" }
  | { kind: "retrying"; attempt: number; delayMs: number; message: string }
  | { kind: "conflict"; currentVersion: number | null; message: string }
  | { kind: "failed"; message: string };

export class SaveController {
  /** `saved`: the server took a save and answered with its document. */
  readonly events = new Emitter<{ state: SaveState; saved: { version: number } }>();
  private current: SaveState = { kind: "saved" };
  private inFlight: Promise<boolean> | null = null;
  /** "keep mine" replaces the server's document whole; every other save is a delta. */
  private replaceNext = false;
  /** What the last save sent ("delta" or "full") and how many annotations and deletions: for tests and the benchmark. */
  lastSent: { mode: "delta" | "full"; upserts: number; deletes: number; bytes: number } | null = null;

  constructor(
    private readonly api: Api,
    private readonly imageId: number,
    private readonly doc: EditorDocument,
    private readonly timer: Timer = realTimer,
    private readonly backoffMs: readonly number[] = [1000, 2000, 4000, 8000, 16000, 30000],
    /** Save this long after the last edit, so a crash or a closed laptop loses seconds, not an image. */
    private readonly autosaveIdleMs = 4000,
  ) {}

  private cancelAutosave: (() => void) | null = null;

  get state(): SaveState {
    return this.current;
  }

  /** Called after edits so the status line says "unsaved". */
  noteEdit(): void {
    if (this.current.kind === "saved" && this.doc.dirty) this.setState({ kind: "dirty" });
    this.scheduleAutosave();
  }

  private scheduleAutosave(): void {
    if (this.autosaveIdleMs <= 0 || !this.timer.after) return;
    this.cancelAutosave?.();
    this.cancelAutosave = this.timer.after(this.autosaveIdleMs, () => {
      this.cancelAutosave = null;
      // A conflict waits for the person's choice, and a failed save for their retry.
      if (this.doc.dirty && this.current.kind !== "conflict" && this.current.kind !== "failed") void this.save();
    });
  }

  /** True when work would be lost by leaving now. */
  get hasUnsavedWork(): boolean {
    return this.doc.dirty || this.inFlight !== null || this.current.kind === "conflict";
  }

  /** Saves unless clean; resolves true when the server holds the document. */
  save(): Promise<boolean> {
    if (this.inFlight) return this.inFlight.then((ok) => (ok && this.doc.dirty ? this.save() : ok));
    if (this.current.kind === "conflict") return Promise.resolve(false);
    if (!this.doc.dirty) {
      this.setState({ kind: "saved" });
      return Promise.resolve(true);
    }
    this.inFlight = this.run().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** 409 answer "keep mine": overwrite the server's document, based on its current version. */
  keepMine(): Promise<boolean> {
    if (this.current.kind !== "conflict") return Promise.resolve(true);
    if (this.current.currentVersion !== null) this.doc.version = this.current.currentVersion;
    this.replaceNext = true;
    this.setState({ kind: "dirty" });
    return this.save();
  }

  /** 409 answer "reload theirs": drop local work for the server's document. */
  async reloadTheirs(): Promise<void> {
    const fresh = await this.api.annotations(this.imageId);
    this.doc.loadAnnotations(fresh);
    this.setState({ kind: "saved" });
  }

  private async run(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      this.setState({ kind: "saving" });
      const revisionAtSend = this.doc.revision;
      try {
        let version: number;
        if (this.replaceNext) {
          const { body, sent } = this.doc.payload();
          this.lastSent = { mode: "full", upserts: body.annotations.length, deletes: 0, bytes: JSON.stringify(body).length };
          const response = await this.api.saveAnnotations(this.imageId, body);
          this.doc.acceptSaved(response, sent, revisionAtSend);
          this.replaceNext = false;
          version = response.version;
        } else {
          const { body, sent, empty } = this.doc.deltaPayload();
          if (empty) {
            // Edited back to what the server holds: nothing to send.
            this.doc.markSaved(revisionAtSend);
            this.setState(this.doc.dirty ? { kind: "dirty" } : { kind: "saved" });
            return true;
          }
          this.lastSent = { mode: "delta", upserts: body.upsert.length, deletes: body.delete?.length ?? 0, bytes: JSON.stringify(body).length };
          const response = await this.api.saveDelta(this.imageId, body);
          this.doc.acceptDelta(response, sent, revisionAtSend);
          version = response.version;
        }
        this.setState(this.doc.dirty ? { kind: "dirty" } : { kind: "saved" });
        this.events.emit("saved", { version });
        return true;
      } catch (err) {
        const error = err instanceof ApiError ? err : new ApiError(0, String(err));
        if (error.status === 409) {
          const v = error.extra["current_version"];
          this.setState({
            kind: "conflict",
            currentVersion: typeof v === "number" ? v : null,
            message: error.message,
          });
          return false;
        }
        if (!error.isNetwork || attempt >= this.backoffMs.length) {
          this.setState({ kind: "failed", message: error.message });
          return false;
        }
        const delayMs = this.backoffMs[attempt];
        this.setState({ kind: "retrying", attempt: attempt + 1, delayMs, message: error.message });
        await this.timer.sleep(delayMs);
      }
    }
  }

  private setState(state: SaveState): void {
    this.current = state;
    this.events.emit("state", state);
  }
}
