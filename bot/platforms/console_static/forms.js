// The console's forms: a press that opens one gets it back from /console/api/press; it is shown over the
// conversation, posted to /console/api/form, and its errors (in the persona's language) shown beside the fields.
"use strict";

function closeForm() {
  const layer = document.getElementById("form-layer");
  layer.hidden = true;
  layer.innerHTML = "";
}

function showForm(form, where) {
  const layer = document.getElementById("form-layer");
  layer.innerHTML = form.html; // server-rendered and escaped
  layer.hidden = false;
  const element = layer.querySelector("form.tb-form");
  const id = uid(); // one submission, however often the page sends it
  element.querySelector(".form-cancel").onclick = closeForm;
  const first = element.querySelector("input, textarea, select");
  if (first) first.focus();
  element.onsubmit = async (event) => {
    event.preventDefault();
    const fields = {};
    for (const input of element.querySelectorAll("[name]")) fields[input.name] = input.value;
    for (const slot of element.querySelectorAll(".form-error")) slot.textContent = "";
    const number = (text) => (text === "" ? null : Number(text));
    const response = await fetch("/console/api/form", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ as: state.me.user_id, conversation: where.conversation, thread: where.thread || null,
        form: element.dataset.form, subject: number(element.dataset.subject), version: number(element.dataset.version),
        fields, id }) });
    if (response.status === 422) {
      const { errors } = await response.json();
      for (const [name, text] of Object.entries(errors)) {
        const slot = element.querySelector(`.form-error[data-error-for="${CSS.escape(name)}"]`);
        if (slot) slot.textContent = text;
      }
      return;
    }
    if (!response.ok) { alert(await response.text()); return; }
    closeForm();
    poll();
  };
}
