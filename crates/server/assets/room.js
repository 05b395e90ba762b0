// A message room, live: progressive enhancement over the server-rendered page.
// Without this file every form still works; with it, new messages appear without
// reloading, corrections and deletions show up in place, partners see who is
// typing, messages read while the page is visible are marked read, and voice or
// video messages can be recorded in the browser.
//
// Text from people is only ever set with textContent, never as HTML.

const root = document.getElementById("room");
if (root) {
  startRoom(root);
}

function startRoom(root) {
  const roomId = root.dataset.roomId;
  const me = root.dataset.me;
  const latest = root.dataset.latest === "true";
  const list = document.getElementById("messages");
  const typingLine = document.getElementById("typing");
  const liveStatus = document.getElementById("live-status");
  const compose = document.getElementById("compose");
  const composeCard = document.getElementById("compose-card");
  const csrf = compose ? compose.querySelector("input[name=csrf]").value : "";
  const when = timeFormatter(root.dataset.timeZone, root.dataset.zoneNames);
  const jump = document.getElementById("jump-newest");
  const jumpCount = document.getElementById("jump-newest-count");

  // ---- building messages --------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child);
    }
    return node;
  }

  function hidden(text) {
    return el("span", { class: "visually-hidden" }, text);
  }

  function sizeWords(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    }
    return Math.max(1, Math.ceil(bytes / 1024)) + " KB";
  }

  function attachmentUrl(m) {
    return `/rooms/${roomId}/attachments/${m.id}`;
  }

  // The same markup as templates/room_macros.html.
  function buildMessage(m, starred) {
    const mine = m.sender_id === me;
    const whenText = when(m.created_at);
    const li = el("li", {
      class: "message" + (mine ? " mine" : "") + (m.deleted ? " deleted" : ""),
      id: "m-" + m.id,
      "data-id": m.id,
      "data-starred": starred ? "true" : "false",
    });
    const meta = el("p", { class: "message-meta" },
      el("strong", { class: "sender" }, m.sender_name), " ",
      el("time", { datetime: m.created_at }, whenText));
    if (m.edited_at && !m.deleted) {
      meta.append(" ", el("a", { class: "edited", href: `/rooms/${roomId}/messages/${m.id}/versions` },
        "edited", hidden(": see earlier versions")));
    }
    if (starred) {
      meta.append(" ", el("span", { class: "star-mark" }, "Starred"));
    }
    li.append(meta);
    if (m.deleted) {
      li.append(el("p", { class: "tombstone" }, "This message was deleted."));
      return li;
    }
    if (m.body) {
      li.append(el("p", { class: "message-body" }, m.body));
    }
    if (m.attachment) {
      const a = m.attachment;
      const url = attachmentUrl(m);
      const box = el("div", { class: "attachment attachment-" + a.kind });
      if (a.kind === "audio") {
        box.append(el("audio", { controls: "", preload: "metadata", src: url }));
      } else if (a.kind === "video") {
        box.append(el("video", { controls: "", preload: "metadata", playsinline: "", src: url }));
      } else if (a.kind === "image") {
        box.append(el("a", { href: url },
          el("img", { src: url, alt: `Picture from ${m.sender_name}: ${a.file_name}`, loading: "lazy" })));
      }
      const link = el("a", { href: url, download: a.file_name });
      if (a.kind === "pdf") {
        link.append(a.file_name);
      } else {
        link.append("Download", hidden(" " + a.file_name));
      }
      box.append(el("p", { class: "small" }, link, ` (${a.kind === "pdf" ? "PDF, " : ""}${sizeWords(a.size)})`));
      li.append(box);
    }
    const actions = el("div", { class: "message-actions" });
    const star = el("form", {
      method: "post",
      action: `/rooms/${roomId}/messages/${m.id}/star`,
      class: "inline-form star-form",
    },
      el("input", { type: "hidden", name: "csrf", value: csrf }),
      el("input", { type: "hidden", name: "star", value: starred ? "off" : "on" }),
      el("button", { type: "submit", class: "link-button" }, starred ? "Remove star" : "Star",
        hidden(` on the message from ${m.sender_name}, ${whenText}`)));
    actions.append(star);
    if (mine) {
      actions.append(" ",
        el("a", { href: `/rooms/${roomId}/messages/${m.id}/edit` }, "Edit", hidden(" your message from " + whenText)),
        " ",
        el("a", { href: `/rooms/${roomId}/messages/${m.id}/delete` }, "Delete", hidden(" your message from " + whenText)));
    }
    li.append(actions);
    return li;
  }

  function lastMessageId() {
    const items = list.querySelectorAll("li.message");
    return items.length ? items[items.length - 1].dataset.id : null;
  }

  function newestMessage() {
    const items = list.querySelectorAll("li.message");
    return items.length ? items[items.length - 1] : null;
  }

  // Whether the person is reading the newest message: its end is on screen (or just below).
  function atNewest() {
    const newest = newestMessage();
    return !newest || newest.getBoundingClientRect().bottom <= window.innerHeight + 48;
  }

  // Shows the newest message with the message box under it, as a chat opens.
  function showNewest() {
    const target = composeCard || newestMessage();
    if (target) {
      target.scrollIntoView({ block: "end", behavior: "instant" });
    }
    const newest = newestMessage();
    // On a small screen a long message may not fit above the box: its start matters more.
    if (newest && newest.getBoundingClientRect().top < 0 && newest.getBoundingClientRect().height < window.innerHeight) {
      newest.scrollIntoView({ block: "start", behavior: "instant" });
    }
  }

  // ---- opening the room, and the way back to the newest message -------------

  let arrivedUnseen = 0;

  function updateJump() {
    if (!jump || !latest) {
      return;
    }
    const away = !atNewest();
    if (!away) {
      arrivedUnseen = 0;
    }
    jumpCount.textContent = arrivedUnseen > 0 ? ` (${arrivedUnseen} new)` : "";
    jump.hidden = !away;
  }

  if (jump) {
    jump.addEventListener("click", (e) => {
      e.preventDefault();
      arrivedUnseen = 0;
      showNewest();
      updateJump();
      const textarea = compose && compose.querySelector("textarea");
      if (textarea) {
        textarea.focus({ preventScroll: true });
      }
    });
    let pending = false;
    window.addEventListener("scroll", () => {
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          updateJump();
        });
      }
    }, { passive: true });
    window.addEventListener("resize", updateJump);
  }

  // Open at the first unread message, or at the newest one with the message box in view;
  // a link to a message (#m-…) or to the unread ones keeps its place.
  function openAt() {
    if (location.hash && document.getElementById(location.hash.slice(1))) {
      return;
    }
    if (!latest) {
      return;
    }
    showNewest();
    const divider = document.getElementById("first-unread");
    if (divider && divider.getBoundingClientRect().top < 0) {
      divider.scrollIntoView({ block: "start", behavior: "instant" });
    }
  }

  function addMessage(m) {
    const existing = document.getElementById("m-" + m.id);
    if (existing) {
      existing.replaceWith(buildMessage(m, existing.dataset.starred === "true"));
      return;
    }
    if (!latest) {
      liveStatus.replaceChildren("New messages have arrived. ",
        el("a", { href: `/rooms/${roomId}` }, "See the latest messages"));
      return;
    }
    const follow = atNewest() || m.sender_id === me;
    const empty = document.getElementById("empty-room");
    if (empty) {
      empty.remove();
    }
    const node = buildMessage(m, false);
    list.append(node);
    stopTyping(m.sender_id);
    if (m.sender_id !== me) {
      markRead(m.id);
    }
    if (follow) {
      // Keep following the conversation: what was on screen moves up by the new message.
      showNewest();
    } else {
      arrivedUnseen += 1;
    }
    updateJump();
  }

  function updateMessage(m) {
    const existing = document.getElementById("m-" + m.id);
    if (existing) {
      existing.replaceWith(buildMessage(m, existing.dataset.starred === "true"));
    }
  }

  // ---- typing -------------------------------------------------------------

  const typists = new Map(); // account id → { name, timer }

  function showTyping() {
    const names = [...typists.values()].map((t) => t.name);
    if (names.length === 0) {
      typingLine.textContent = "";
    } else if (names.length === 1) {
      typingLine.textContent = `${names[0]} is typing…`;
    } else {
      typingLine.textContent = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`;
    }
  }

  function startTyping(account, name) {
    const known = typists.get(account);
    if (known) {
      clearTimeout(known.timer);
    }
    typists.set(account, { name, timer: setTimeout(() => stopTyping(account), 6000) });
    showTyping();
  }

  function stopTyping(account) {
    const known = typists.get(account);
    if (known) {
      clearTimeout(known.timer);
      typists.delete(account);
      showTyping();
    }
  }

  // ---- reading --------------------------------------------------------------

  let unreadUpTo = null;
  let reading = false;

  function markRead(id) {
    if (unreadUpTo === null || id > unreadUpTo) {
      unreadUpTo = id; // ids are time-ordered UUIDs, so they compare as text
    }
    flushRead();
  }

  async function flushRead() {
    if (reading || unreadUpTo === null || document.visibilityState !== "visible") {
      return;
    }
    const id = unreadUpTo;
    unreadUpTo = null;
    reading = true;
    try {
      const response = await fetch(`/rooms/${roomId}/read`, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams({ csrf, message: id }),
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect") {
        showSignedOut();
      }
    } catch (_) {
      // Not marked read this time; the next visit marks it.
    } finally {
      reading = false;
    }
    if (unreadUpTo !== null) {
      flushRead();
    }
  }

  document.addEventListener("visibilitychange", flushRead);

  // ---- signed out elsewhere, and the draft that must not be lost ---------------

  const draftKey = `rapport:draft:${me}:${roomId}`;
  let signedOut = false;

  function saveDraft() {
    const textarea = compose && compose.querySelector("textarea");
    if (!textarea) {
      return;
    }
    try {
      if (textarea.value.trim()) {
        sessionStorage.setItem(draftKey, textarea.value);
      } else {
        sessionStorage.removeItem(draftKey);
      }
    } catch (_) {
      // Storage may be off; the text stays in the box.
    }
  }

  function restoreDraft() {
    const textarea = compose && compose.querySelector("textarea");
    if (!textarea || textarea.value) {
      return;
    }
    try {
      const draft = sessionStorage.getItem(draftKey);
      if (draft) {
        textarea.value = draft;
      }
    } catch (_) {
      // Nothing kept.
    }
  }

  function clearDraft() {
    try {
      sessionStorage.removeItem(draftKey);
    } catch (_) {
      // Nothing to clear.
    }
  }

  // The session ended (signed out here in another tab, or elsewhere): say so calmly and
  // offer to sign in again. What was typed is kept for when this room opens again.
  function showSignedOut() {
    if (signedOut) {
      return;
    }
    signedOut = true;
    saveDraft();
    if (socket) {
      socket.close();
    }
    delete liveStatus.dataset.offline;
    liveStatus.textContent = "";
    root.dataset.live = "signed-out";
    const next = `/rooms/${roomId}`;
    const banner = el("div", { class: "signed-out", id: "signed-out", role: "alert" },
      el("p", {}, el("strong", {}, "You're signed out. "),
        el("a", { href: `/sign-in?next=${encodeURIComponent(next)}` }, "Sign in again")),
      el("p", { class: "small" }, "Anything you typed here is kept, and will be in the message box when you're back."));
    if (composeCard) {
      composeCard.prepend(banner);
      composeCard.scrollIntoView({ block: "nearest", behavior: "instant" });
    } else {
      root.prepend(banner);
    }
  }

  // Whether the session still holds: a room request answered by a redirect to sign in says no.
  async function sessionEnded() {
    try {
      const response = await fetch(`/rooms/${roomId}/updates?after=${lastMessageId() || ""}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        redirect: "manual",
      });
      return response.type === "opaqueredirect" || response.status === 401;
    } catch (_) {
      return false; // Unreachable is not signed out.
    }
  }

  async function checkSession() {
    if (!signedOut && (await sessionEnded())) {
      showSignedOut();
    }
    return signedOut;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      checkSession();
    }
  });

  // ---- the live connection ------------------------------------------------

  let socket = null;
  let lastEvent = null;
  let attempts = 0;
  let lastTypingSent = 0;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const after = lastEvent === null ? "" : `?after=${lastEvent}`;
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/events${after}`);
    socket = ws;
    ws.addEventListener("open", () => {
      attempts = 0;
      root.dataset.live = "connected";
      if (liveStatus.dataset.offline) {
        liveStatus.textContent = "";
        delete liveStatus.dataset.offline;
      }
      catchUp();
    });
    ws.addEventListener("message", (e) => {
      let event;
      try {
        event = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      handle(event);
    });
    ws.addEventListener("close", async (e) => {
      socket = null;
      if (signedOut) {
        return;
      }
      root.dataset.live = "disconnected";
      // 4001: the server ended the connection because the session ended.
      if (e.code === 4001 || (await checkSession())) {
        showSignedOut();
        return;
      }
      attempts += 1;
      if (attempts > 2) {
        liveStatus.dataset.offline = "yes";
        liveStatus.textContent = "Reconnecting… New messages will appear once we're back. You can still send.";
      }
      // Back off: 1 s, 2 s, 4 s … up to 30 s, with some jitter so clients don't return all at once.
      const delay = Math.min(30000, 1000 * 2 ** Math.min(attempts - 1, 5)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  function handle(event) {
    if (event.type !== "typing" && Number.isInteger(event.id) && (lastEvent === null || event.id > lastEvent)) {
      lastEvent = event.id;
    }
    if (event.room_id !== roomId) {
      return;
    }
    switch (event.type) {
      case "message":
        addMessage(event.message);
        break;
      case "message_updated":
        updateMessage(event.message);
        break;
      case "typing":
        if (event.account_id !== me) {
          startTyping(event.account_id, event.display_name);
        }
        break;
      case "membership":
        if (event.account_id === me && event.change === "left") {
          liveStatus.textContent = "You're no longer a member of this room, so you can't write here any more.";
        }
        break;
      default:
        break;
    }
  }

  // Messages written between this page being made and the connection opening.
  async function catchUp() {
    if (!latest) {
      return;
    }
    const after = lastMessageId();
    try {
      const response = await fetch(`/rooms/${roomId}/updates${after ? `?after=${after}` : ""}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        return;
      }
      const data = await response.json();
      for (const m of data.messages || []) {
        addMessage(m);
      }
    } catch (_) {
      // The live connection brings what comes next.
    }
  }

  function sendTyping() {
    const now = Date.now();
    if (socket && socket.readyState === WebSocket.OPEN && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      socket.send(JSON.stringify({ type: "typing", room_id: roomId }));
    }
  }

  // ---- writing ------------------------------------------------------------

  function showComposeError(message) {
    const textarea = compose.querySelector("textarea");
    let error = document.getElementById("body-error");
    if (!message) {
      if (error) {
        error.remove();
      }
      textarea.removeAttribute("aria-invalid");
      const ids = (textarea.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== "body-error");
      if (ids.length) {
        textarea.setAttribute("aria-describedby", ids.join(" "));
      } else {
        textarea.removeAttribute("aria-describedby");
      }
      return;
    }
    if (!error) {
      error = el("p", { class: "field-error", id: "body-error", role: "alert" });
      textarea.after(error);
    }
    error.textContent = message;
    textarea.setAttribute("aria-invalid", "true");
    const ids = (textarea.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!ids.includes("body-error")) {
      ids.push("body-error");
    }
    textarea.setAttribute("aria-describedby", ids.join(" "));
  }

  if (compose) {
    restoreDraft();
    compose.querySelector("textarea").addEventListener("input", saveDraft);
  }

  if (compose && latest) {
    const textarea = compose.querySelector("textarea");
    const button = compose.querySelector("button[type=submit]");
    textarea.addEventListener("input", sendTyping);
    compose.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (signedOut) {
        saveDraft();
        document.getElementById("signed-out").querySelector("a").focus();
        return;
      }
      button.disabled = true;
      try {
        const response = await fetch(compose.action, {
          method: "POST",
          headers: { Accept: "application/json" },
          body: new URLSearchParams(new FormData(compose)),
          credentials: "same-origin",
          redirect: "manual",
        });
        if (response.type === "opaqueredirect") {
          showSignedOut();
        } else if (response.ok) {
          const data = await response.json();
          textarea.value = "";
          clearDraft();
          showComposeError(null);
          addMessage(data.message);
        } else if (response.status === 403 && (await checkSession())) {
          // Signed out and in again elsewhere: this page's form token is from the old session.
        } else if (response.status === 403) {
          showComposeError("This page has been open a long time. Please copy your message, reload the page and send it again.");
        } else {
          let message = "We couldn't send that just now. Your message is still here; please try again.";
          try {
            message = (await response.json()).error || message;
          } catch (_) {
            // keep the general message
          }
          showComposeError(message);
        }
      } catch (_) {
        showComposeError("We couldn't reach Rapport just now. Your message is still here; please send it again in a moment.");
      } finally {
        button.disabled = false;
      }
    });
  }

  // Stars without reloading the page.
  list.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!form.classList.contains("star-form")) {
      return;
    }
    e.preventDefault();
    const item = form.closest("li.message");
    const on = form.querySelector("input[name=star]").value === "on";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (!response.ok) {
        form.submit();
        return;
      }
      item.dataset.starred = on ? "true" : "false";
      form.querySelector("input[name=star]").value = on ? "off" : "on";
      const button = form.querySelector("button");
      button.firstChild.textContent = on ? "Remove star" : "Star";
      const meta = item.querySelector(".message-meta");
      const mark = meta.querySelector(".star-mark");
      if (on && !mark) {
        meta.append(" ", el("span", { class: "star-mark" }, "Starred"));
      } else if (!on && mark) {
        mark.remove();
      }
    } catch (_) {
      form.submit();
    }
  });

  setupRecorder(roomId, csrf, (m) => addMessage(m), showSignedOut);
  setupFilePicker();
  openAt();
  updateJump();
  connect();
  flushRead();
}

// Says which file is chosen, and whether it can be sent, before anything is uploaded.
function setupFilePicker() {
  const input = document.getElementById("file");
  const chosen = document.getElementById("file-chosen");
  if (!input || !chosen) {
    return;
  }
  const limits = { audio: 10, video: 25, image: 5, pdf: 10 };
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (!file) {
      chosen.textContent = "";
      return;
    }
    const type = file.type || "";
    const kind = type.startsWith("audio/") ? "audio" : type.startsWith("video/") ? "video"
      : type.startsWith("image/") ? "image" : "pdf";
    const mb = file.size / (1024 * 1024);
    const size = mb >= 1 ? `${mb.toFixed(1)} MB` : `${Math.max(1, Math.ceil(file.size / 1024))} KB`;
    chosen.textContent = mb > limits[kind]
      ? `${file.name} is ${size}, more than the ${limits[kind]} MB that can be sent. Please choose a smaller file.`
      : `Ready to send: ${file.name} (${size}).`;
  });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "UTC+05:30", "UTC−08:00" (a real minus sign), as the server writes an offset without a name.
function utcOffset(minutes) {
  const sign = minutes < 0 ? "\u2212" : "+";
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

// "GMT-08:00" → -480; "GMT" → 0.
function offsetMinutes(text) {
  const m = /GMT([+-\u2212])(\d{2}):?(\d{2})?/.exec(text || "");
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] || 0);
  return m[1] === "+" ? minutes : -minutes;
}

// Formats times exactly as the server does ("5 Dec 2026, 18:35 PST"): the zone's own
// names come from the page (`data-zone-names`, e.g. "-480:PST,-420:PDT"), by offset.
function timeFormatter(zone, zoneNames) {
  const names = new Map();
  for (const pair of (zoneNames || "").split(",")) {
    const at = pair.lastIndexOf(":");
    if (at > 0) names.set(Number(pair.slice(0, at)), pair.slice(at + 1));
  }
  let format;
  try {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone || "UTC",
      day: "numeric",
      month: "numeric",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
  } catch (_) {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: "UTC", day: "numeric", month: "numeric", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
  }
  return (iso) => {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const p = {};
    for (const part of format.formatToParts(date)) p[part.type] = part.value;
    const offset = offsetMinutes(p.timeZoneName);
    const name = names.get(offset) || utcOffset(offset);
    return `${Number(p.day)} ${MONTHS[Number(p.month) - 1]} ${p.year}, ${p.hour}:${p.minute} ${name}`;
  };
}

// ---- recording voice and video messages ---------------------------------------

const MAX_SECONDS = 300;
const MAX_BYTES = { audio: 10 * 1024 * 1024, video: 25 * 1024 * 1024 };

function setupRecorder(roomId, csrf, onSent, onSignedOut) {
  const box = document.getElementById("recorder");
  if (!box || !window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return; // The file form below still works.
  }
  const recordAudio = document.getElementById("record-audio");
  const recordVideo = document.getElementById("record-video");
  const stopButton = document.getElementById("record-stop");
  const status = document.getElementById("record-status");
  const preview = document.getElementById("record-preview");
  const media = document.getElementById("record-media");
  const sendButton = document.getElementById("record-send");
  const discardButton = document.getElementById("record-discard");
  const error = document.getElementById("record-error");
  box.hidden = false;

  let recorder = null;
  let stream = null;
  let chunks = [];
  let kind = "audio";
  let recording = null; // { blob, url, kind, type }
  let ticker = null;
  let started = 0;
  let stoppedForLength = false;

  function setError(message) {
    error.textContent = message || "";
  }

  function idle() {
    recordAudio.hidden = false;
    recordVideo.hidden = false;
    stopButton.hidden = true;
    clearInterval(ticker);
  }

  function discard() {
    if (recording) {
      URL.revokeObjectURL(recording.url);
    }
    recording = null;
    media.replaceChildren();
    preview.hidden = true;
  }

  function pickType(wanted) {
    const options = wanted === "video"
      ? ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"]
      : ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
    return options.find((t) => MediaRecorder.isTypeSupported(t)) || "";
  }

  function explain(e, wanted) {
    const device = wanted === "video" ? "camera and microphone" : "microphone";
    switch (e && e.name) {
      case "NotAllowedError":
      case "SecurityError":
        return `Your browser didn't let us use your ${device}. To record, allow access for this site in your browser's settings, then try again. You can also send a recording as a file below.`;
      case "NotFoundError":
      case "OverconstrainedError":
        return `We couldn't find a ${device} on this device. You can send a recording as a file below instead.`;
      case "NotReadableError":
        return `Your ${device} seems to be in use by another app. Close it and try again.`;
      default:
        return "Recording didn't work in this browser. You can send a recording as a file below instead.";
    }
  }

  async function start(wanted) {
    setError("");
    discard();
    kind = wanted;
    try {
      stream = await navigator.mediaDevices.getUserMedia(wanted === "video" ? { audio: true, video: true } : { audio: true });
    } catch (e) {
      setError(explain(e, wanted));
      return;
    }
    const type = pickType(wanted);
    try {
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    } catch (e) {
      stream.getTracks().forEach((t) => t.stop());
      setError(explain(e, wanted));
      return;
    }
    chunks = [];
    stoppedForLength = false;
    recorder.addEventListener("dataavailable", (e) => {
      if (e.data && e.data.size > 0) {
        chunks.push(e.data);
      }
    });
    recorder.addEventListener("stop", finished);
    recorder.start(1000);
    started = Date.now();
    recordAudio.hidden = true;
    recordVideo.hidden = true;
    stopButton.hidden = false;
    stopButton.focus();
    status.textContent = wanted === "video" ? "Recording video…" : "Recording…";
    ticker = setInterval(() => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      const shown = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
      status.textContent = `${kind === "video" ? "Recording video" : "Recording"}: ${shown}`;
      if (seconds >= MAX_SECONDS) {
        stoppedForLength = true;
        stop();
      }
    }, 500);
  }

  function stop() {
    if (recorder && recorder.state !== "inactive") {
      recorder.stop();
    }
  }

  function finished() {
    idle();
    if (stream) {
      stream.getTracks().forEach((t) => t.stop());
      stream = null;
    }
    const type = (recorder && recorder.mimeType) || (kind === "video" ? "video/webm" : "audio/webm");
    const blob = new Blob(chunks, { type });
    recorder = null;
    chunks = [];
    if (blob.size === 0) {
      status.textContent = "";
      setError("Nothing was recorded. Please try again.");
      return;
    }
    if (blob.size > MAX_BYTES[kind]) {
      status.textContent = "";
      setError(`That recording is too long to send (${kind === "video" ? "video messages can be up to 25 MB" : "voice messages can be up to 10 MB"}). Please record a shorter one.`);
      return;
    }
    const url = URL.createObjectURL(blob);
    recording = { blob, url, kind, type };
    const player = document.createElement(kind === "video" ? "video" : "audio");
    player.controls = true;
    player.src = url;
    if (kind === "video") {
      player.playsInline = true;
    }
    media.replaceChildren(player);
    preview.hidden = false;
    status.textContent = stoppedForLength
      ? `Recordings stop after ${MAX_SECONDS / 60} minutes, so we stopped here. Listen to it, then send it or discard it.`
      : "Your recording is ready. Listen to it, then send it or discard it.";
    sendButton.focus();
  }

  async function send() {
    if (!recording) {
      return;
    }
    setError("");
    sendButton.disabled = true;
    status.textContent = "Sending…";
    const extension = recording.type.includes("mp4") ? "m4a" : recording.type.includes("ogg") ? "ogg" : "webm";
    const name = recording.kind === "video" ? `video-message.${extension === "m4a" ? "mp4" : extension}` : `voice-message.${extension}`;
    const form = new FormData();
    form.append("csrf", csrf);
    form.append("video", recording.kind === "video" ? "true" : "false");
    form.append("file", recording.blob, name);
    try {
      const response = await fetch(`/rooms/${roomId}/attachments`, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: form,
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect") {
        status.textContent = "";
        setError("Your recording is still here. Sign in again to send it.");
        onSignedOut();
      } else if (response.ok) {
        const data = await response.json();
        discard();
        status.textContent = "Sent.";
        onSent(data.message);
      } else {
        let message = "We couldn't send your recording. It's still here; please try again.";
        try {
          message = (await response.json()).error || message;
        } catch (_) {
          // keep the general message
        }
        status.textContent = "";
        setError(message);
      }
    } catch (_) {
      status.textContent = "";
      setError("We couldn't reach Rapport just now. Your recording is still here; please send it again in a moment.");
    } finally {
      sendButton.disabled = false;
    }
  }

  recordAudio.addEventListener("click", () => start("audio"));
  recordVideo.addEventListener("click", () => start("video"));
  stopButton.addEventListener("click", stop);
  sendButton.addEventListener("click", send);
  discardButton.addEventListener("click", () => {
    discard();
    status.textContent = "Recording discarded.";
  });
}
