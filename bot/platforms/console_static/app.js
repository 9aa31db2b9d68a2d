// The console page: persona switcher, channel + DM views, cards with live buttons, polling for updates.
"use strict";
const state = { personas: [], channels: [], me: null, conversation: null, thread: null, seq: 0, messages: new Map(),
  epoch: null, offline: false, reloading: false };
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {};
  const response = await fetch(path, options);
  if (response.status === 401) { window.location.assign("/"); throw new Error("signed out"); } // to the login page
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

function uid() { return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()); }

async function load() {
  showPersonas(await api("/console/api/personas"));
  setInterval(poll, 700);
}

function showPersonas(data) {
  state.personas = data.personas;
  state.channels = data.channels;
  const select = $("persona");
  select.innerHTML = "";
  for (const p of state.personas) {
    const option = document.createElement("option");
    option.value = p.user_id;
    option.textContent = `${p.name} · ${p.role}`;
    select.appendChild(option);
  }
  const saved = localStorage.getItem("ticketbot.persona");
  select.value = state.personas.some((p) => p.user_id === saved) ? saved : (state.personas[0] || {}).user_id;
  select.onchange = () => switchPersona(select.value);
  switchPersona(select.value);
}

// The server restarted (the poll failed, then answered) or its log is not the one this page read (another epoch,
// or a change number below ours): personas and history may have changed, so fetch the whole view again.
async function reload() {
  if (state.reloading) return;
  state.reloading = true;
  let data;
  try { data = await api("/console/api/personas"); } catch (error) { state.offline = true; console.warn(error); }
  state.reloading = false;
  if (!data) return;
  const open = state.conversation;
  showPersonas(data);
  if ([...document.querySelectorAll("aside li")].some((li) => li.dataset.conversation === open)) openConversation(open);
}

function switchPersona(userId) {
  state.me = state.personas.find((p) => p.user_id === userId);
  localStorage.setItem("ticketbot.persona", userId);
  state.seq = 0;
  state.epoch = null;
  state.messages.clear();
  $("persona-info").textContent = state.me ? `${state.me.role}${state.me.department ? " · " + state.me.department : ""} · ${state.me.language}` : "";
  const isCustomer = state.me && state.me.role === "customer";
  const channels = $("channels");
  channels.innerHTML = "";
  if (!isCustomer) for (const c of state.channels) channels.appendChild(navItem(c.id, c.name));
  $("dms").innerHTML = "";
  $("dms").appendChild(navItem(userId, "DM with ticketbot"));
  openConversation(isCustomer || !state.channels.length ? userId : state.channels[0].id);
  poll();
}

function navItem(id, label) {
  const li = document.createElement("li");
  li.textContent = label;
  li.dataset.conversation = id;
  li.onclick = () => openConversation(id);
  return li;
}

function openConversation(id) {
  state.conversation = id;
  setThread(null);
  for (const li of document.querySelectorAll("aside li")) li.classList.toggle("active", li.dataset.conversation === id);
  const channel = state.channels.find((c) => c.id === id);
  $("title").textContent = channel ? channel.name : "DM with ticketbot";
  render();
}

function setThread(ref) {
  state.thread = ref;
  $("thread-banner").hidden = !ref;
  $("thread-name").textContent = ref || "";
}

async function poll() {
  if (!state.me || state.reloading) return;
  const asUser = state.me.user_id;
  const since = state.seq;
  try {
    const data = await api(`/console/api/messages?as=${encodeURIComponent(asUser)}&since=${since}`);
    if (!state.me || state.me.user_id !== asUser || state.seq !== since || state.reloading) return; // superseded
    const restarted = state.offline || (state.epoch !== null && data.epoch !== state.epoch) || data.seq < state.seq;
    state.offline = false;
    $("offline").hidden = true;
    if (restarted) return reload();
    state.epoch = data.epoch;
    for (const m of data.messages) state.messages.set(m.ref, m);
    if (data.messages.length) { state.seq = Math.max(state.seq, ...data.messages.map((m) => m.seq)); render(); }
    if (data.more) poll(); // a long history arrives in pages
  } catch (error) {
    state.offline = true;
    $("offline").hidden = false;
    console.warn(error);
  }
}

function messageElement(m) {
  const div = document.createElement("div");
  div.className = `msg ${m.bot ? "bot" : "human"}${m.ephemeral_user ? " ephemeral" : ""}${m.card ? " has-card" : ""}`;
  div.dataset.ref = m.ref;
  const author = document.createElement("div");
  author.className = "author";
  author.textContent = m.author + (m.ephemeral_user ? " · only you can see this" : "");
  const body = document.createElement("div");
  body.className = "body";
  body.innerHTML = m.html; // server-rendered and escaped
  div.append(author, body);
  if (m.card && state.channels.some((c) => c.id === m.conversation)) {
    const link = document.createElement("a");
    link.className = "thread-link";
    link.textContent = "💬 reply in thread";
    link.onclick = () => setThread(m.ref);
    div.appendChild(link);
  }
  for (const control of body.querySelectorAll("[data-action]")) {
    const fire = (value) => api("/console/api/press", { as: state.me.user_id, conversation: m.conversation,
      ref: m.ref, action: control.dataset.action, value, id: uid() }).then(poll).catch(alert);
    if (control.tagName === "SELECT") control.onchange = () => fire(control.value);
    else control.onclick = () => fire(null);
  }
  return div;
}

function render() {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.innerHTML = "";
  const mine = [...state.messages.values()].filter((m) => m.conversation === state.conversation)
    .sort((a, b) => Number(a.ref.slice(1)) - Number(b.ref.slice(1)));
  const roots = mine.filter((m) => !m.thread || !state.messages.has(m.thread));
  for (const m of roots) {
    box.appendChild(messageElement(m));
    const replies = mine.filter((r) => r.thread === m.ref);
    if (replies.length) {
      const thread = document.createElement("div");
      thread.className = "thread";
      for (const r of replies) thread.appendChild(messageElement(r));
      box.appendChild(thread);
    }
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

$("composer").onsubmit = async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.me) return;
  $("text").value = "";
  try {
    await api("/console/api/send", { as: state.me.user_id, conversation: state.conversation, text, thread: state.thread, id: uid() });
  } catch (error) { alert(error.message); }
  poll();
};
$("thread-cancel").onclick = () => setThread(null);
load();
