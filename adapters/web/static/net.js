// Talking to easel: the page's token, its two kinds of post, and the notice easel's words go to.
"use strict";

// The server puts this process's token into the page; it asks for it back on every post.
export const token = document.querySelector('meta[name="easel-token"]').content;

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Posts to easel; resolves to "" when easel took it, else to easel's words for why not.
async function post(path, body, headers = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", body, headers: { "X-Easel-Token": token, ...headers },
    });
  } catch {
    return "easel could not be reached: is it still running?";
  }
  if (response.ok) return "";
  const text = await response.text().catch(() => "");
  try {
    return JSON.parse(text).error || text;
  } catch {
    return text || response.statusText || "easel could not take that.";
  }
}

// A /draw, or a reply in `thread` (with the images the form carries).
export function sendMessage(form, thread) {
  form.set("id", newId());
  if (thread) form.set("thread", thread);
  const file = form.get("image");
  if (file instanceof File && !file.size && !file.name) form.delete("image");
  return post("/api/draw", form);
}

// A button under drawing `turn`; each click has its own id, so a repeated post draws once.
export function press(action, turn, text) {
  const body = JSON.stringify({ action, turn, interaction: newId(), text });
  return post("/api/press", body, { "Content-Type": "application/json" });
}

const noticeElement = document.getElementById("notice");

export function notice(text) {
  noticeElement.textContent = text;
  noticeElement.hidden = !text;
}
noticeElement.addEventListener("click", () => notice(""));
