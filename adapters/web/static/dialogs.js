// What the dialogs share: opening on a drawing, Cancel, errors in the dialog, a busy Send.
"use strict";

export class Dialog {
  // `send(message, form)` resolves to "" when easel took it, else to easel's words.
  constructor(id, send) {
    this.element = document.getElementById(id);
    this.form = this.element.querySelector("form");
    this.error = this.element.querySelector(".error");
    this.submit = this.form.querySelector("button[type=submit]");
    this.message = null;
    this.after = null;
    this.element.querySelector(".cancel").addEventListener("click", () => this.element.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(send);
    });
  }

  // Opens on `message`; `after(message)` runs once what was sent is taken.
  open(message, after) {
    this.message = message;
    this.after = after;
    this.form.reset();
    this.say("");
    this.element.showModal();
  }

  say(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  async send(send) {
    this.submit.disabled = true;
    let error;
    try {
      error = await send(this.message, this.form);
    } finally {
      this.submit.disabled = false;
    }
    if (error) {
      this.say(error);
      return;
    }
    this.element.close();
    this.after?.(this.message);
  }
}
