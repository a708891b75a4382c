/**
 * Every editor command and its shortcut, once. The key handler asks `bindingFor`, the toolbar
 * buttons take their labels and titles from here, and the help overlay lists this table, so a
 * shortcut can never be documented, shown and handled three different ways.
 */
import type { ToolName } from "./tools/tool";

export type ToolCommand = `tool.${ToolName}`;

export type CommandId =
  | ToolCommand
  | "save"
  | "done"
  | "undo"
  | "redo"
  | "brush.smaller"
  | "brush.larger"
  | "zoom.fit"
  | "zoom.actual"
  | "instance.new"
  | "delete"
  | "accept"
  | "accept-all"
  | "toggle-visible"
  | "outline"
  | "image.prev"
  | "image.next"
  | "image.suggested"
  | "pan"
  | "confirm"
  | "escape"
  | "help";

/**
 * A key with its modifiers. Letters match in either case, and Shift is part of a letter's chord
 * (C accepts, Shift+C accepts all); other keys match exactly, whatever Shift it took to type them
 * ("?", "]"). Ctrl stands for Cmd as well. Alt turns every chord off except the Ctrl ones.
 */
export interface Chord {
  key: string;
  ctrl?: boolean;
  shift?: boolean;
}

export interface Binding {
  command: CommandId;
  /** Empty for commands that only a button runs. */
  chords: readonly Chord[];
  /** Short name, on the command's button. */
  label: string;
  /** What the help overlay says it does. */
  help: string;
  /** The tool this command switches to. */
  tool?: ToolName;
}

const key = (k: string, mods: Omit<Chord, "key"> = {}): Chord => ({ key: k, ...mods });

function tool(name: ToolName, k: string | Chord, label: string, help: string): Binding {
  return { command: `tool.${name}`, chords: [typeof k === "string" ? key(k) : k], label, help, tool: name };
}

export const KEYMAP: readonly Binding[] = [
  tool("select", "v", "Select", "Select tool (click an annotation)"),
  tool("brush", "b", "Brush", "Brush"),
  tool("eraser", "e", "Eraser", "Eraser (the selection, or everything visible)"),
  tool("polygon", "p", "Polygon", "Polygon (click vertices, drag to adjust, click the first vertex to close)"),
  tool("fill", "g", "Fill", "Fill a closed region of the selected annotation"),
  tool("box", "x", "Box→mask", "Box-to-mask assist: drag a box (GrabCut, or the model when the project has one), then click to add, Alt-click to remove"),
  tool("superpixel", "s", "Superpixels", "Superpixels: click or drag adds them, Alt removes, [ / ] finer / coarser"),
  tool("wand", "w", "Wand", "Magic wand: similar colours connected to the click (Shift: everywhere; Alt removes)"),
  tool("void", key("v", { shift: true }), "Void", "Void (ignore) region: click or drag paints it, Alt or the right button erases, [ / ] size"),
  { command: "brush.smaller", chords: [key("[")], label: "Smaller brush", help: "Smaller brush (superpixels: finer)" },
  { command: "brush.larger", chords: [key("]")], label: "Larger brush", help: "Larger brush (superpixels: coarser)" },
  { command: "instance.new", chords: [key("n")], label: "New instance", help: "New instance (next stroke starts a new object)" },
  { command: "delete", chords: [key("Delete"), key("Backspace")], label: "Delete", help: "Delete the selected annotation (while drawing a polygon: its last vertex)" },
  { command: "accept", chords: [key("c")], label: "Accept", help: "Accept the selected proposal" },
  { command: "accept-all", chords: [key("c", { shift: true })], label: "Accept all proposals", help: "Accept all proposals" },
  { command: "toggle-visible", chords: [key("h")], label: "Hide / show", help: "Hide / show the selected annotation" },
  { command: "outline", chords: [key("o")], label: "Outline only", help: "Outline-only view" },
  { command: "zoom.fit", chords: [key("f")], label: "Fit", help: "Fit to window" },
  { command: "zoom.actual", chords: [key("0")], label: "1:1", help: "Actual size (1:1)" },
  { command: "pan", chords: [key(" ")], label: "Pan", help: "Hold and drag to pan (or drag with the middle button)" },
  { command: "undo", chords: [key("z", { ctrl: true })], label: "Undo", help: "Undo" },
  { command: "redo", chords: [key("z", { ctrl: true, shift: true }), key("y", { ctrl: true })], label: "Redo", help: "Redo" },
  { command: "save", chords: [key("s", { ctrl: true })], label: "Save", help: "Save" },
  { command: "done", chords: [], label: "Save and mark the image done", help: "Save and mark the image done" },
  { command: "image.prev", chords: [key("a")], label: "Previous image", help: "Previous image (saves first)" },
  { command: "image.next", chords: [key("d")], label: "Next image", help: "Next image (saves first)" },
  { command: "image.suggested", chords: [key("d", { shift: true })], label: "Next suggested image", help: "Next suggested image: the most uncertain unlabeled one (saves first)" },
  { command: "confirm", chords: [key("Enter")], label: "Close shape", help: "Close the polygon being drawn" },
  { command: "escape", chords: [key("Escape")], label: "Cancel", help: "Cancel the current shape, else clear the selection" },
  { command: "help", chords: [key("?")], label: "Shortcuts", help: "This help" },
];

/** Inputs that are not commands, for the help overlay: class hotkeys come from the project, zoom from the wheel. */
export const OTHER_INPUTS: ReadonlyArray<readonly [string, string]> = [
  ["1 – 9", "Pick a label class (the hotkey shown next to it)"],
  ["Wheel", "Zoom at the pointer"],
];

const byCommand = new Map<CommandId, Binding>(KEYMAP.map((b) => [b.command, b]));

export function binding(command: CommandId): Binding {
  const b = byCommand.get(command);
  if (!b) throw new Error(`no binding for ${command}`);
  return b;
}

export function isToolCommand(command: CommandId): command is ToolCommand {
  return binding(command).tool !== undefined;
}

/** The tool a tool command switches to. */
export function toolOf(command: ToolCommand): ToolName {
  const tool = binding(command).tool;
  if (!tool) throw new Error(`${command} names no tool`);
  return tool;
}

export type KeyInput = Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">;

function isLetter(k: string): boolean {
  return k.length === 1 && k.toLowerCase() !== k.toUpperCase();
}

export function matches(chord: Chord, e: KeyInput): boolean {
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl !== Boolean(chord.ctrl) || (e.altKey && !ctrl)) return false;
  if (!isLetter(chord.key)) return e.key === chord.key;
  return e.key.toLowerCase() === chord.key && e.shiftKey === Boolean(chord.shift);
}

/** The binding a key press runs, if any. */
export function bindingFor(e: KeyInput): Binding | null {
  return KEYMAP.find((b) => b.chords.some((c) => matches(c, e))) ?? null;
}

const KEY_NAMES: { [key: string]: string } = { " ": "Space", Escape: "Esc" };

export function chordText(c: Chord): string {
  const name = KEY_NAMES[c.key] ?? (isLetter(c.key) ? c.key.toUpperCase() : c.key);
  return `${c.ctrl ? "Ctrl+" : ""}${c.shift ? "Shift+" : ""}${name}`;
}

/** Every chord of a binding, as the help shows it ("Ctrl+Shift+Z / Ctrl+Y"). */
export function keysText(b: Binding): string {
  return b.chords.map(chordText).join(" / ");
}

/** A button's tooltip: its label and first shortcut ("Undo (Ctrl+Z)"). */
export function buttonTitle(command: CommandId): string {
  const b = binding(command);
  return b.chords.length > 0 ? `${b.label} (${chordText(b.chords[0])})` : b.label;
}
