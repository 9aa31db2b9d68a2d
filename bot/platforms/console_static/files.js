// Files in the console: the attach button and drag-and-drop send files (with what is typed) as one message;
// pictures and links of attachments are fetched for the persona shown (the server checks they may see them).
"use strict";

async function sendFiles(files) {
  if (!files.length || !state.me || !state.conversation) return;
  const form = new FormData();
  form.append("as", state.me.user_id);
  form.append("conversation", state.conversation);
  if (state.thread) form.append("thread", state.thread);
  form.append("id", uid());
  form.append("text", $("text").value.trim());
  for (const file of files) form.append("file", file, file.name);
  $("text").value = "";
  state.pinned = true;
  try {
    const response = await fetch("/console/api/upload", { method: "POST", body: form });
    if (response.status === 401) { window.location.assign("/"); return; }
    if (!response.ok) throw new Error(await response.text());
  } catch (error) { alert(error.message); }
  poll();
}

function showAttachments(root) {
  if (!state.me) return;
  for (const element of root.querySelectorAll("[data-attachment]")) {
    const url = `/console/api/attachments/${element.dataset.attachment}?as=${encodeURIComponent(state.me.user_id)}`;
    if (element.tagName === "IMG" && element.getAttribute("src") !== url) element.src = url;
    if (element.tagName === "A" && element.getAttribute("href") !== url) { element.href = url; element.download = ""; }
  }
}

$("attach").onclick = () => $("file-input").click();
$("attach").onmouseenter = () => { $("attach").title = word("attach"); }; // in the persona's language
$("file-input").onchange = () => { sendFiles([...$("file-input").files]); $("file-input").value = ""; };
const dropZone = document.querySelector("main");
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("dropping"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dropping");
  sendFiles([...(event.dataTransfer ? event.dataTransfer.files : [])]);
});
new MutationObserver(() => showAttachments($("messages"))).observe($("messages"), { childList: true, subtree: true });
