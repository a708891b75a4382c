/**
 * Undo/redo as a stack of entries, each the list of changes one finished gesture made
 * (one brush stroke, one polygon, one accept). Entries hold both directions of every change
 * (excalidraw's History habit), so undo never recomputes anything from the current state.
 */
import type { Change, EditorDocument } from "./document";
import { Emitter } from "./emitter";

export interface HistoryEntry {
  label: string;
  changes: Change[];
}

export interface HistoryState {
  canUndo: boolean;
  canRedo: boolean;
}

export class History {
  /** After every entry recorded, undone, redone or cleared (the undo/redo buttons listen). */
  readonly events = new Emitter<{ changed: HistoryState }>();
  private readonly undoStack: HistoryEntry[] = [];
  private readonly redoStack: HistoryEntry[] = [];

  constructor(
    private readonly doc: EditorDocument,
    private readonly limit = 200,
  ) {}

  /** Applies the entry's changes and records it; a new entry clears the redo stack. */
  commit(entry: HistoryEntry): void {
    if (entry.changes.length === 0) return;
    for (const c of entry.changes) this.doc.applyChange(c, "forward");
    this.record(entry);
  }

  /** Records an entry whose changes are already applied (a stroke painted live). */
  record(entry: HistoryEntry): void {
    if (entry.changes.length === 0) return;
    this.undoStack.push(entry);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack.length = 0;
    this.changed();
  }

  undo(): HistoryEntry | null {
    const entry = this.undoStack.pop();
    if (!entry) return null;
    for (let i = entry.changes.length - 1; i >= 0; i--) this.doc.applyChange(entry.changes[i], "backward");
    this.redoStack.push(entry);
    this.changed();
    return entry;
  }

  redo(): HistoryEntry | null {
    const entry = this.redoStack.pop();
    if (!entry) return null;
    for (const c of entry.changes) this.doc.applyChange(c, "forward");
    this.undoStack.push(entry);
    this.changed();
    return entry;
  }

  clear(): void {
    this.undoStack.length = 0;
    this.redoStack.length = 0;
    this.changed();
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  private changed(): void {
    this.events.emit("changed", { canUndo: this.canUndo, canRedo: this.canRedo });
  }
}
