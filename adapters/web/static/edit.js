// Edit: a dialog whose words become the thread's next drawing.
"use strict";

import { Dialog } from "./dialogs.js";
import { press } from "./net.js";

const dialog = new Dialog("edit-dialog", (message, form) => {
  const text = form.elements.text.value.trim();
  if (!text) return Promise.resolve("Type what to change in the drawing.");
  return press("edit", message.turn, text);
});

// Enter sends, Shift+Enter starts a new line.
dialog.form.elements.text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    dialog.form.requestSubmit();
  }
});

export function openEdit(message, after) {
  dialog.open(message, after);
}
