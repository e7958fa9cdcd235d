// One message as the page shows it: whose it is, its words or its drawing, and its buttons.
"use strict";

export const ACTIONS = [
  ["redo", "Redo", "Draw the same prompt again"],
  ["vary", "Vary", "Draw a variation of this drawing"],
  ["bigger", "Bigger", "Draw this again at a larger size"],
  ["edit", "Edit", "Say what to change"],
  ["delete", "Delete", "Delete this drawing"],
];

export function messageElement(message) {
  const element = document.createElement("article");
  element.dataset.message = message.id;
  const avatar = document.createElement("span");
  avatar.className = "avatar";
  avatar.setAttribute("aria-hidden", "true");
  const body = document.createElement("div");
  body.className = "body";
  element.append(avatar, body);
  fill(element, message);
  return element;
}

// Brings an element up to date; the picture element is kept, so an update does not blink.
export function fill(element, message) {
  const mine = message.author === "you";
  element.className = `message ${mine ? "you" : "easel"} ${message.state}`;
  element.querySelector(".avatar").textContent = mine ? "y" : "e";
  const parts = [div("author", mine ? "you" : "easel")];
  if (mine) parts.push(div("text", message.text));
  if (message.image) parts.push(picture(element, message));
  if (message.line) parts.push(div("line", message.line));
  if (message.note && message.state === "failed") parts.push(div("note", message.note));
  else if (message.note) parts.push(revised(message));
  if (message.state === "done" && message.image) parts.push(tools(message));
  if (message.state === "done" && message.turn != null) parts.push(actions());
  element.querySelector(".body").replaceChildren(...parts);
}

function div(className, text) {
  const element = document.createElement("div");
  element.className = className;
  element.textContent = text;
  return element;
}

// The prompt the image service drew from, folded away: the person's message says it already.
function revised(message) {
  const details = document.createElement("details");
  details.className = "note";
  const summary = document.createElement("summary");
  summary.textContent = "Revised prompt";
  const text = document.createElement("span");
  text.className = "revised";
  text.textContent = message.note;
  details.append(summary, text);
  return details;
}

function picture(element, message) {
  let image = element.querySelector("img.drawing");
  if (!image) {
    image = document.createElement("img");
    image.className = "drawing";
  }
  if (image.getAttribute("src") !== message.image) image.src = message.image;
  image.alt = message.text;
  image.title = "Open the thread";
  return image;
}

function tools(message) {
  const row = document.createElement("div");
  row.className = "tools";
  const region = document.createElement("button");
  region.type = "button";
  region.className = "region link";
  region.textContent = "Edit region";
  region.title = "Paint the part of the picture to change";
  const link = document.createElement("a");
  link.href = message.download;
  link.textContent = "Download";
  link.className = "download";
  row.append(region, link);
  return row;
}

function actions() {
  const row = document.createElement("div");
  row.className = "actions";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Buttons for this drawing");
  for (const [action, label, title] of ACTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `action ${action}`;
    button.dataset.action = action;
    button.textContent = label;
    button.title = title;
    row.append(button);
  }
  return row;
}
