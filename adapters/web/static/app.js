// The playground page: a channel of drawings (newest at the bottom) and a thread beside it.
// The server streams every message over SSE; the page posts /draw, replies and button presses.
"use strict";

import { openEdit } from "./edit.js";
import { notice, press, sendMessage, token } from "./net.js";
import { openRegion } from "./region.js";
import { fill, messageElement } from "./render.js";

const posts = document.getElementById("posts");
const panel = document.getElementById("panel");
const threadMessages = document.getElementById("thread-messages");
const composer = document.getElementById("composer");
const replyForm = document.getElementById("reply");
const messages = new Map(); // message id -> the latest state of the message, in arrival order
const shown = { posts: new Map(), thread: new Map() }; // message id -> its element there
let openThread = null;

function inThread(thread) {
  return [...messages.values()].filter((m) => m.thread === thread);
}

// -- keeping the newest message in view --------------------------------------------------------

// A scroller follows its newest content until the person scrolls up, and again once they are
// back at the bottom. Only a scroll above where the page last put it counts as scrolling up:
// content that grows between the page's scroll and its event is no reason to stop following.
function follow(scroller) {
  toBottom(scroller);
  scroller.addEventListener("scroll", () => {
    const below = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    if (below < 48) scroller.dataset.stick = "true";
    else if (scroller.scrollTop < Number(scroller.dataset.placed) - 2) scroller.dataset.stick = "false";
  });
  new ResizeObserver(() => {
    if (scroller.dataset.stick === "true") toBottom(scroller);
  }).observe(scroller.firstElementChild);
}

function toBottom(scroller) {
  scroller.dataset.stick = "true";
  scroller.scrollTop = scroller.scrollHeight;
  scroller.dataset.placed = String(scroller.scrollTop);
}

// -- the channel and the thread ----------------------------------------------------------------

function postElement(thread) {
  let post = posts.querySelector(`.post[data-thread="${CSS.escape(thread)}"]`);
  if (post) return post;
  post = document.createElement("div");
  post.className = "post";
  post.dataset.thread = thread;
  const body = document.createElement("div");
  body.className = "opening";
  const replies = document.createElement("button");
  replies.type = "button";
  replies.className = "replies link";
  post.append(body, replies);
  posts.querySelector(".empty")?.remove();
  posts.append(post);
  return post;
}

function countReplies(thread) {
  const post = posts.querySelector(`.post[data-thread="${CSS.escape(thread)}"]`);
  if (!post) return;
  const count = inThread(thread).filter((m) => !m.opening).length;
  const button = post.querySelector(".replies");
  button.textContent = count ? `${count} ${count === 1 ? "reply" : "replies"}` : "Reply in thread";
}

function place(map, container, message) {
  const element = map.get(message.id);
  if (element) {
    fill(element, message);
    return;
  }
  const created = messageElement(message);
  map.set(message.id, created);
  container.append(created);
}

function render(message) {
  if (message.state === "deleted") {
    forget(message);
    return;
  }
  messages.set(message.id, message);
  if (message.opening) place(shown.posts, postElement(message.thread).firstElementChild, message);
  if (message.thread === openThread) place(shown.thread, threadMessages, message);
  countReplies(message.thread);
}

function forget(message) {
  messages.delete(message.id);
  for (const map of Object.values(shown)) {
    map.get(message.id)?.remove();
    map.delete(message.id);
  }
  countReplies(message.thread);
}

function showThread(thread) {
  if (openThread !== thread) {
    openThread = thread;
    shown.thread.clear();
    threadMessages.replaceChildren();
    for (const message of inThread(thread)) place(shown.thread, threadMessages, message);
  }
  for (const post of posts.querySelectorAll(".post")) {
    post.classList.toggle("selected", post.dataset.thread === thread);
  }
  panel.hidden = false;
  toBottom(document.getElementById("thread-scroller"));
  replyForm.elements.prompt.focus();
}

function closeThread() {
  openThread = null;
  panel.hidden = true;
  for (const post of posts.querySelectorAll(".post.selected")) post.classList.remove("selected");
}

// -- what the person does ----------------------------------------------------------------------

// The drawing is the thread's last image, with nothing newer on its way.
function isLatest(message) {
  const easels = inThread(message.thread).filter((m) => m.author === "easel" && m.state !== "failed");
  return easels.at(-1)?.id === message.id;
}

async function pressed(button, message) {
  const action = button.dataset.action;
  const opened = () => showThread(message.thread);
  if (action === "edit") {
    openEdit(message, opened);
    return;
  }
  button.disabled = true;
  const error = await press(action, message.turn);
  button.disabled = false;
  notice(error);
  if (!error && action !== "delete") opened();
}

function clicked(event) {
  const target = event.target.closest("button, img.drawing");
  const article = target?.closest("article[data-message]");
  const message = article && messages.get(article.dataset.message);
  if (target?.matches(".replies")) showThread(target.closest(".post").dataset.thread);
  if (!message) return;
  if (target.matches("img.drawing")) showThread(message.thread);
  else if (target.matches("button[data-action]")) pressed(target, message);
  else if (target.matches("button.region")) {
    openRegion(message, { latest: isLatest(message), after: () => showThread(message.thread) });
  }
}

posts.addEventListener("click", clicked);
threadMessages.addEventListener("click", clicked);
document.getElementById("close-thread").addEventListener("click", closeThread);

composer.addEventListener("submit", async (event) => {
  event.preventDefault();
  toBottom(document.getElementById("timeline"));
  const error = await sendMessage(new FormData(composer), null);
  notice(error);
  if (!error) composer.reset();
});

const attach = replyForm.querySelector(".attach");
const file = replyForm.elements.image;
file.addEventListener("change", () => attach.classList.toggle("has-file", file.files.length > 0));
replyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!openThread) return;
  toBottom(document.getElementById("thread-scroller"));
  const error = await sendMessage(new FormData(replyForm), openThread);
  notice(error);
  if (error) return;
  replyForm.reset();
  file.dispatchEvent(new Event("change"));
});

follow(document.getElementById("timeline"));
follow(document.getElementById("thread-scroller"));

const source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
source.addEventListener("message", (event) => {
  const data = JSON.parse(event.data);
  if (data.type === "message") render(data.message);
});
source.addEventListener("error", () => {
  // The browser retries a dropped stream by itself; a refused one (a restarted easel has a
  // new token) it gives up on.
  if (source.readyState === EventSource.CLOSED) notice("Lost touch with easel: reload the page.");
});
