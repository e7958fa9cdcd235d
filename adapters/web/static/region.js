// Edit region: paint over the drawing, say what to change there, and send it as a reply with
// a mask: a PNG of the drawing's own size, transparent where painted and opaque elsewhere.
"use strict";

import { Dialog } from "./dialogs.js";
import { sendMessage } from "./net.js";

const dialog = new Dialog("region-dialog", send);
const image = dialog.element.querySelector(".paint img");
const canvas = dialog.element.querySelector(".paint canvas");
const brush = dialog.form.elements.brush;
const pen = canvas.getContext("2d");
const INK = "#e01e5a";
let painted = false;
let last = null; // the brush's last point while a pointer is down
let alone = true; // the drawing is the thread's last image: the mask alone marks it

// Opens on a finished drawing; `latest`: it is the thread's last image.
export async function openRegion(message, { latest, after }) {
  alone = latest;
  dialog.open(message, after);
  clear();
  image.src = message.image;
  try {
    await image.decode();
  } catch {
    dialog.say("The drawing could not be shown here.");
    return;
  }
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  clear();
}

function clear() {
  pen.clearRect(0, 0, canvas.width, canvas.height);
  painted = false;
}
dialog.element.querySelector(".clear").addEventListener("click", clear);

// A pointer's place in the drawing's own pixels, and how many of them one screen pixel is.
function point(event) {
  const box = canvas.getBoundingClientRect();
  const scale = canvas.width / box.width;
  return { x: (event.clientX - box.left) * scale, y: (event.clientY - box.top) * scale, scale };
}

function stroke(from, to) {
  pen.strokeStyle = INK;
  pen.fillStyle = INK;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.lineWidth = brush.valueAsNumber * to.scale;
  pen.beginPath();
  if (from === to) {
    pen.arc(to.x, to.y, pen.lineWidth / 2, 0, 2 * Math.PI);
    pen.fill();
  } else {
    pen.moveTo(from.x, from.y);
    pen.lineTo(to.x, to.y);
    pen.stroke();
  }
  painted = true;
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  try {
    canvas.setPointerCapture(event.pointerId);
  } catch {
    // a pointer the browser no longer tracks: paint without capturing it
  }
  last = point(event);
  stroke(last, last);
});
canvas.addEventListener("pointermove", (event) => {
  if (!last) return;
  const next = point(event);
  stroke(last, next);
  last = next;
});
for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
  canvas.addEventListener(name, () => { last = null; });
}

// The mask: opaque black, with every painted pixel cut out (alpha 0).
function mask() {
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const g = out.getContext("2d");
  g.fillStyle = "#000";
  g.fillRect(0, 0, out.width, out.height);
  g.globalCompositeOperation = "destination-out";
  g.drawImage(canvas, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

async function send(message, form) {
  const prompt = form.elements.prompt.value.trim();
  if (!painted) return "Paint over the part of the drawing to change first.";
  if (!prompt) return "Say what to change in the painted region.";
  const reply = new FormData();
  reply.set("prompt", prompt);
  reply.append("image", await mask(), "mask.png");
  if (!alone) {
    // An earlier drawing of the thread: send it too, so the mask marks it and not the last.
    const drawing = await (await fetch(message.image)).blob();
    reply.append("image", drawing, `drawing.${EXTENSIONS[drawing.type] ?? "png"}`);
  }
  return sendMessage(reply, message.thread);
}
