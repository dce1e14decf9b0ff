/* The planner's shared state: one object that every module imports, instead of variables hidden
 * in a closure. Each part names who writes it; everything else only reads. */

/** One row of the grid, in minutes: moves, resizes and new meetings snap to it. */
export const SLOT = 15;

export const state = {
  /** The page's settings (the "planner-config" data block); null on a host's read-only view. */
  config: null,
  /** Every sentence the planner says, translated on the server ("planner-texts"). */
  texts: {},
  /** The day grids, as read by grid.js at start-up. */
  grids: [],
  /** Meeting id -> block (see blocks.js for its fields). */
  blocks: {},
  /** The status line that announces each change (role="status"). */
  statusEl: null,

  /** Busy shading (busy.js): the intervals shown, the block asked for, and whether the API has it. */
  busy: { enabled: true, loaded: null, pending: null },

  /** The pointer gesture under way (pointer.js), and a click to ignore because a drag just ended. */
  drag: null,
  suppressClick: false,

  /** The side panel (panel.js): its elements, the meeting being edited and the form's lists. */
  panel: {
    node: null, form: null, returnFocus: null,
    current: null, // {mode: "new" | "edit", id, data, version, selection}
    overnight: false, people: [], items: []
  },

  /** The last saved change and the Undo button (undo.js). */
  undo: { last: null, button: null },

  /** The proposal drawn on the timeline and its bar (proposals.js). */
  proposals: { current: null, bar: null }
};
