import { describe, expect, it } from "vitest";
import { ROW_PX, visibleRange } from "../src/ui/panels";

describe("the virtualised annotation list's window", () => {
  it("is the rows that meet the view, with ten more each side, within the list", () => {
    // List 300 px below the view's top, view 860 px high: rows 0..16 meet it.
    expect(visibleRange(300, 0, 860, 1000)).toEqual([0, Math.ceil(560 / ROW_PX) + 10]);
    // Scrolled so that the list's top is 5,000 px above the view.
    const [first, end] = visibleRange(-5000, 0, 860, 1000);
    expect(first).toBe(Math.floor(5000 / ROW_PX) - 10);
    expect(end).toBe(Math.ceil(5860 / ROW_PX) + 10);
  });

  it("ends at the list's last row and is empty past it", () => {
    expect(visibleRange(-1000 * ROW_PX + 100, 0, 860, 1000)[1]).toBe(1000);
    const [first, end] = visibleRange(-2000 * ROW_PX, 0, 860, 1000);
    expect(first).toBe(end);
  });

  it("shows the first rows when the list is not laid out (no view)", () => {
    expect(visibleRange(0, 0, 0, 1000)).toEqual([0, 24]);
    expect(visibleRange(0, 0, 0, 5)).toEqual([0, 5]);
  });
});
