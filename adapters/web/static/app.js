// The playground page: renders the threads the server streams over SSE, posts /draw and replies.
"use strict";

const threads = document.getElementById("threads");
const template = document.getElementById("thread-template");
const messages = new Map(); // message id -> element
// The server puts this process's token into the page; it asks for it back on /draw and /events.
const token = document.querySelector('meta[name="easel-token"]').content;

function threadElement(id) {
  let section = document.querySelector(`.thread[data-thread="${CSS.escape(id)}"]`);
  if (section) return section;
  section = template.content.firstElementChild.cloneNode(true);
  section.dataset.thread = id;
  const form = section.querySelector("form.reply");
  const file = form.querySelector("input[type=file]");
  file.addEventListener("change", () =>
    form.querySelector(".attach").classList.toggle("has-file", file.files.length > 0));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(new FormData(form), id).then((ok) => { if (ok) { form.reset(); file.dispatchEvent(new Event("change")); } });
  });
  threads.prepend(section);
  return section;
}

function render(message) {
  let element = messages.get(message.id);
  if (!element) {
    element = document.createElement("article");
    element.dataset.message = message.id;
    messages.set(message.id, element);
    threadElement(message.thread).querySelector(".messages").append(element);
  }
  element.className = `message ${message.author} ${message.state}`;
  element.replaceChildren();
  const author = document.createElement("div");
  author.className = "author";
  author.textContent = message.author === "you" ? "you" : "easel";
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = message.text;
  element.append(author, text);
  if (message.image) {
    const image = document.createElement("img");
    image.src = message.image;
    image.alt = message.text;
    element.append(image);
  }
  for (const [name, value] of [["line", message.line], ["note", message.note]]) {
    if (!value) continue;
    const div = document.createElement("div");
    div.className = name;
    div.textContent = value;
    element.append(div);
  }
  if (message.download) {
    const link = document.createElement("a");
    link.href = message.download;
    link.textContent = "Download";
    link.className = "download";
    element.append(link);
  }
}

async function send(form, thread) {
  form.set("id", crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()));
  if (thread) form.set("thread", thread);
  const file = form.get("image");
  if (file && !file.size && !file.name) form.delete("image");
  const response = await fetch("/api/draw", {
    method: "POST", body: form, headers: { "X-Easel-Token": token },
  });
  if (response.ok) { showError(""); return true; }
  const text = await response.text().catch(() => "");
  let error = text;
  try { error = JSON.parse(text).error; } catch { /* a plain-text refusal */ }
  showError(error || response.statusText || "easel could not take that.");
  return false;
}

function showError(text) {
  let element = document.getElementById("error");
  if (!element) {
    element = document.createElement("p");
    element.id = "error";
    element.className = "error";
    document.getElementById("composer").before(element);
  }
  element.textContent = text;
}

document.getElementById("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  send(form, null).then((ok) => { if (ok) event.target.reset(); });
});

const source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
source.addEventListener("message", (event) => {
  const data = JSON.parse(event.data);
  if (data.type === "message") render(data.message);
});
source.addEventListener("error", () => {
  // The browser retries a dropped stream by itself; a refused one (a restarted easel has a
  // new token) it gives up on.
  if (source.readyState === EventSource.CLOSED) showError("Lost touch with easel: reload the page.");
});
