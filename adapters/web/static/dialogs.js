// What the dialogs share: opening on a drawing, Cancel, errors in the dialog, a busy Send.
"use strict";

function element(tag, className, text = "") {
  const made = document.createElement(tag);
  made.className = className;
  made.textContent = text;
  return made;
}

// Every dialog's form ends alike: easel's words when it refuses, then Cancel and Send.
function footer(form) {
  const error = element("p", "error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const cancel = element("button", "cancel", "Cancel");
  cancel.type = "button";
  const submit = element("button", "primary", "Send");
  submit.type = "submit";
  const buttons = element("div", "buttons");
  buttons.append(cancel, submit);
  form.append(error, buttons);
  return { error, cancel, submit };
}

export class Dialog {
  // `send(message, form)` resolves to "" when easel took it, else to easel's words.
  constructor(id, send) {
    this.element = document.getElementById(id);
    this.form = this.element.querySelector("form");
    const { error, cancel, submit } = footer(this.form);
    this.error = error;
    this.submit = submit;
    this.message = null;
    this.after = null;
    cancel.addEventListener("click", () => this.element.close());
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
