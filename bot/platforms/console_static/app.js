// The console page: persona switcher, channel + DM views, cards with live buttons, polling for updates.
"use strict";
const state = { personas: [], channels: [], me: null, conversation: null, thread: null, seq: 0, messages: new Map(),
  epoch: null, offline: false, reloading: false, chrome: {}, words: {}, language: "en" };
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

// The page's words in the persona's language (the catalog's, served with the personas).
function word(key) { return state.words[key] || (state.chrome.en || {})[key] || key; }

function applyWords() {
  state.words = state.chrome[(state.me && state.me.language) || state.language] || state.chrome.en || {};
  $("you-are").textContent = word("you-are");
  $("channels-heading").textContent = word("channels");
  $("dms-heading").textContent = word("dms");
  $("offline").textContent = word("offline");
  $("replying").textContent = word("replying");
  $("send").textContent = word("send");
  $("text").placeholder = word("placeholder");
  const isCustomer = state.me && state.me.role === "customer";
  $("hint").textContent = word(isCustomer ? "hint-customer" : "hint-staff");
  document.documentElement.lang = (state.me && state.me.language) || state.language;
  // Who everyone is, in this reader's words: "王记小店 · 客户", "Alice Wang · agent · Support · English".
  for (const option of $("persona").options) {
    const p = state.personas.find((x) => x.user_id === option.value);
    if (p) option.textContent = `${p.name} · ${word("role-" + p.role)}`;
  }
  const me = state.me;
  const language = (me && me.language) || state.language;
  const department = me && me.department ? (me.department_names || {})[language] || me.department : "";
  $("persona-info").textContent = me ? [word("role-" + me.role), department, word("lang-" + me.language), me.timezone]
    .filter(Boolean).join(" · ") : "";
}

function showPersonas(data) {
  state.personas = data.personas;
  state.channels = data.channels;
  state.chrome = data.chrome || {};
  state.language = data.language || "en";
  // A config without console identities leaves nobody to be: say how to add them instead of an empty page.
  $("no-personas").hidden = state.personas.length > 0;
  $("no-personas").textContent = state.personas.length ? "" : (state.chrome[state.language] || state.chrome.en || {})["no-personas"] || "";
  const select = $("persona");
  select.innerHTML = "";
  for (const p of state.personas) {
    const option = document.createElement("option");
    option.value = p.user_id;
    option.textContent = p.name; // completed with the role in the reader's words (applyWords)
    select.appendChild(option);
  }
  const saved = localStorage.getItem("ticketbot.persona");
  // A first visit opens as the persona README's quick start begins with (a customer), not on an empty channel.
  select.value = state.personas.some((p) => p.user_id === saved) ? saved : data.start || (state.personas[0] || {}).user_id;
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
  state.unread = new Map();
  // What this persona has read, per conversation, of the log it was read in (another database starts over).
  const saved = JSON.parse(localStorage.getItem(`ticketbot.seen.${userId}`) || "{}");
  state.seenEpoch = saved.epoch || null;
  state.seen = saved.epoch ? saved.seen || {} : {};
  applyWords();
  const isCustomer = state.me && state.me.role === "customer";
  const channels = $("channels");
  channels.innerHTML = "";
  if (!isCustomer) for (const c of state.channels) channels.appendChild(navItem(c.id, c.name));
  // A customer sees no channels: no heading over an empty list.
  $("channels-heading").hidden = isCustomer || !state.channels.length;
  $("dms").innerHTML = "";
  $("dms").appendChild(navItem(userId, word("dm-with-bot")));
  openConversation(isCustomer || !state.channels.length ? userId : state.channels[0].id);
  poll();
}

function navItem(id, label) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = label;
  const unread = document.createElement("span");
  unread.className = "unread";
  unread.hidden = true;
  li.append(name, unread);
  li.dataset.conversation = id;
  li.onclick = () => openConversation(id);
  return li;
}

function openConversation(id) {
  state.conversation = id;
  state.pinned = true; // a conversation opens at its newest message
  setThread(null);
  for (const li of document.querySelectorAll("aside li")) li.classList.toggle("active", li.dataset.conversation === id);
  const channel = state.channels.find((c) => c.id === id);
  $("title").textContent = channel ? channel.name : word("dm-with-bot");
  markSeen(id);
  render();
}

// A message's place in the log: refs are numbered as messages are posted. (Its seq also moves when a card on it
// is updated, which is not something new to read.)
function posted(m) { return Number(m.ref.slice(1)) || 0; }

// Unread: messages of a conversation posted after the newest one this persona had open there (kept per browser).
function markSeen(id) {
  const newest = Math.max(0, ...[...state.messages.values()].filter((m) => m.conversation === id).map(posted));
  state.seen[id] = Math.max(state.seen[id] || 0, newest);
  if (state.me) {
    localStorage.setItem(`ticketbot.seen.${state.me.user_id}`, JSON.stringify({ epoch: state.seenEpoch, seen: state.seen }));
  }
  showUnread();
}

function showUnread() {
  for (const li of document.querySelectorAll("aside li")) {
    const id = li.dataset.conversation;
    const count = [...state.messages.values()].filter((m) => m.conversation === id && posted(m) > (state.seen[id] || 0)
      && (m.bot || !state.me || m.author !== state.me.name)).length;
    const badge = li.querySelector(".unread");
    badge.hidden = !count || id === state.conversation;
    badge.textContent = count > 99 ? "99+" : String(count);
    li.classList.toggle("has-unread", !badge.hidden);
  }
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
    if (state.seenEpoch !== data.epoch) { state.seen = {}; state.seenEpoch = data.epoch; } // read in another log
    for (const m of data.messages) state.messages.set(m.ref, m);
    if (data.messages.length) {
      state.seq = Math.max(state.seq, ...data.messages.map((m) => m.seq));
      if (document.visibilityState !== "hidden") markSeen(state.conversation); else showUnread();
      render();
    }
    if (data.more) poll(); // a long history arrives in pages
  } catch (error) {
    state.offline = true;
    $("offline").hidden = false;
    console.warn(error);
  }
}

// Times in the persona's configured zone (the bot's texts use it too), not the browser's: one zone per reader.
function zone() { return (state.me && state.me.timezone) || undefined; }

function clockTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const day = (d) => d.toLocaleDateString("en-CA", { timeZone: zone() });
  const sameDay = day(at) === day(new Date());
  const options = sameDay ? { hour: "2-digit", minute: "2-digit", timeZone: zone() }
    : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: zone() };
  return at.toLocaleString(document.documentElement.lang || undefined, options);
}

// The full stamp with its zone named (hovering a time), where a bare 17:08 could be read in another zone.
function fullTime(iso) {
  return new Date(iso).toLocaleString(document.documentElement.lang || undefined,
    { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: zone(),
      timeZoneName: "short" }) + (zone() ? ` (${zone()})` : ""); // dateStyle cannot go with timeZoneName
}

function messageElement(m, echo) {
  const div = document.createElement("div");
  div.className = `msg ${m.bot ? "bot" : "human"}${m.ephemeral_user ? " ephemeral" : ""}${m.card ? " has-card" : ""}`;
  div.dataset.ref = m.ref;
  const author = document.createElement("div");
  author.className = "author";
  const name = document.createElement("span");
  name.textContent = m.author + (m.ephemeral_user ? ` · ${word("only-you")}` : "") + (echo ? ` ${word("in-thread")}` : "");
  const time = document.createElement("time");
  time.className = "time";
  time.dateTime = m.at || "";
  time.textContent = m.at ? clockTime(m.at) : "";
  if (m.at) time.title = fullTime(m.at);
  author.append(name, time);
  const body = document.createElement("div");
  body.className = "body";
  body.innerHTML = m.html; // server-rendered and escaped
  div.append(author, body);
  if (echo) {
    div.classList.add("echo");
    div.onclick = () => { const root = document.querySelector(`.msg[data-ref="${m.thread}"]`); if (root) root.scrollIntoView(); };
  }
  if (m.card && !echo && state.channels.some((c) => c.id === m.conversation)) {
    const link = document.createElement("a");
    link.className = "thread-link";
    link.textContent = word("reply-in-thread");
    link.onclick = () => setThread(m.ref);
    div.appendChild(link);
  }
  for (const control of echo ? [] : body.querySelectorAll("[data-action]")) {
    const fire = (value) => api("/console/api/press", { as: state.me.user_id, conversation: m.conversation,
      ref: m.ref, action: control.dataset.action, value, id: uid() })
      .then((answer) => { if (answer.form) showForm(answer.form, { conversation: m.conversation, thread: m.thread }); poll(); })
      .catch(alert);
    if (control.tagName === "SELECT") control.onchange = () => fire(control.value);
    else control.onclick = () => fire(null);
  }
  return div;
}

function render() {
  const box = $("messages");
  const atBottom = state.pinned !== false;
  box.innerHTML = "";
  const mine = [...state.messages.values()].filter((m) => m.conversation === state.conversation)
    .sort((a, b) => posted(a) - posted(b));
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
  // A thread reply newer than the channel's last top-level message is also shown at the bottom (as Slack's
  // "also send to channel"), so a reply to an old card is not lost far up the channel.
  const lastRoot = roots.length ? posted(roots[roots.length - 1]) : 0;
  for (const r of mine.filter((x) => roots.length && x.thread && state.messages.has(x.thread) && posted(x) > lastRoot
    && x.thread !== roots[roots.length - 1].ref)) box.appendChild(messageElement(r, true));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// Whether the view follows the newest message: while the person has not scrolled up to read older ones. Kept as
// they scroll, so a window that narrows (and its messages grow taller) still follows, and so does one's own message.
// A scroll the browser makes because the box changed size is not the person's: the resize re-pins the view.
const list = $("messages");
let boxSize = "";
list.addEventListener("scroll", () => {
  if (`${list.clientWidth}x${list.clientHeight}` !== boxSize) return;
  state.pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
});
new ResizeObserver(() => {
  boxSize = `${list.clientWidth}x${list.clientHeight}`;
  if (state.pinned !== false) list.scrollTop = list.scrollHeight;
}).observe(list);

$("composer").onsubmit = async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.me) return;
  $("text").value = "";
  state.pinned = true; // what one writes is shown, wherever the view was
  try {
    await api("/console/api/send", { as: state.me.user_id, conversation: state.conversation, text, thread: state.thread, id: uid() });
  } catch (error) { alert(error.message); }
  poll();
};
$("thread-cancel").onclick = () => setThread(null);
load();
