import { describe, expect, it } from "vitest";
import { KEYMAP, type KeyInput, binding, bindingFor, buttonTitle, chordText, keysText, matches } from "../src/keymap";
import { helpRows } from "../src/ui/help";

const press = (key: string, mods: Partial<Omit<KeyInput, "key">> = {}): KeyInput => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe("the keymap", () => {
  it("gives every key press at most one command", () => {
    for (const a of KEYMAP) {
      for (const chord of a.chords) {
        const e = press(chord.key, { ctrlKey: Boolean(chord.ctrl), shiftKey: Boolean(chord.shift) });
        expect(KEYMAP.filter((b) => b.chords.some((c) => matches(c, e))).map((b) => b.command)).toEqual([a.command]);
      }
    }
  });

  it("tells letters with and without Shift apart, in either case", () => {
    expect(bindingFor(press("c"))?.command).toBe("accept");
    expect(bindingFor(press("C", { shiftKey: true }))?.command).toBe("accept-all");
    expect(bindingFor(press("C"))?.command).toBe("accept"); // Caps Lock
    expect(bindingFor(press("D", { shiftKey: true }))?.command).toBe("image.suggested");
    expect(bindingFor(press("B", { shiftKey: true }))).toBeNull();
    expect(bindingFor(press("x"))?.tool).toBe("box");
  });

  it("takes other keys as typed, whatever Shift it took", () => {
    expect(bindingFor(press("?", { shiftKey: true }))?.command).toBe("help");
    expect(bindingFor(press("Backspace"))?.command).toBe("delete");
    expect(bindingFor(press(" "))?.command).toBe("pan");
  });

  it("runs Ctrl chords (or Cmd) and nothing else while Ctrl or Alt is held", () => {
    expect(bindingFor(press("z", { ctrlKey: true }))?.command).toBe("undo");
    expect(bindingFor(press("Z", { ctrlKey: true, shiftKey: true }))?.command).toBe("redo");
    expect(bindingFor(press("y", { metaKey: true }))?.command).toBe("redo");
    expect(bindingFor(press("s", { ctrlKey: true, altKey: true }))?.command).toBe("save");
    expect(bindingFor(press("b", { ctrlKey: true }))).toBeNull();
    expect(bindingFor(press("b", { altKey: true }))).toBeNull();
    expect(bindingFor(press("z"))).toBeNull();
  });

  it("writes chords and button titles the way the help shows them", () => {
    expect(keysText(binding("redo"))).toBe("Ctrl+Shift+Z / Ctrl+Y");
    expect(chordText({ key: " " })).toBe("Space");
    expect(buttonTitle("undo")).toBe("Undo (Ctrl+Z)");
    expect(buttonTitle("tool.box")).toBe("Box→mask (X)");
    expect(buttonTitle("done")).toBe("Save and mark the image done");
  });

  it("lists every command that has a key in the help, with all of its keys", () => {
    const rows = new Map(helpRows());
    for (const b of KEYMAP.filter((k) => k.chords.length > 0)) expect(rows.get(keysText(b))).toBe(b.help);
    expect(rows.has("Wheel")).toBe(true);
  });
});
