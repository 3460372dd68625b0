/* Deskbot chat widget. Add to a page:
 *   <script src="https://<deskbot>/widget.js" data-key="dsw_..." async></script>
 * Optional: data-title="Help" data-greeting="Hi! Ask me anything." data-position="left".
 * Everything from the customer, the bot or the knowledge base is set with textContent, never as HTML.
 * On each page load the stored thread is fetched again (GET /widget/v1/messages); while a person holds the
 * conversation, it is polled every POLL_MS for what they reply in the operator console.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__deskbotWidget) return;
  window.__deskbotWidget = true;
  var KEY = script.getAttribute("data-key") || "";
  var BASE = new URL(script.src, location.href).origin;
  var TITLE = script.getAttribute("data-title") || "Help";
  var GREETING = script.getAttribute("data-greeting") || "Hi! Ask me a question.";
  var STORE = "deskbot-widget:" + KEY;
  var MAX_KEPT = 100;
  var POLL_MS = 3000;
  var PERSON = "Support team";

  var state = load();
  var busy = false;
  var lastId = 0;  /* the newest stored message this page has seen */
  var polling = null;

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE) || "{}");
      return { session: saved.session || "", items: Array.isArray(saved.items) ? saved.items : [], open: !!saved.open };
    } catch (e) {
      return { session: "", items: [], open: false };
    }
  }
  function save() {
    try {
      state.items = state.items.slice(-MAX_KEPT);
      localStorage.setItem(STORE, JSON.stringify(state));
    } catch (e) { /* storage full or blocked: the chat still works for this page */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:15px}",
    ".bubble{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:#1f5fbf;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}",
    ".bubble svg{width:28px;height:28px;fill:currentColor}",
    ".left .bubble,.left .panel{right:auto;left:20px}",
    ".panel{position:fixed;bottom:88px;right:20px;width:370px;height:560px;max-height:calc(100vh - 110px);",
    "display:flex;flex-direction:column;background:#fff;color:#1b1b1b;border-radius:12px;overflow:hidden;",
    "box-shadow:0 8px 30px rgba(0,0,0,.28);z-index:2147483647}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#1f5fbf;color:#fff}",
    "header h2{margin:0;font-size:16px;font-weight:600}",
    "button{cursor:pointer;border-radius:6px}",
    "button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #ffb000;outline-offset:2px}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;padding:2px 8px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;line-height:1.4}",
    ".user{align-self:flex-end;background:#1f5fbf;color:#fff}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #dde1e6}",
    ".person{border-color:#2f8f4e;background:#eef8f1}",
    ".who{font-size:12px;font-weight:600;color:#2f6b43;margin-bottom:2px}",
    ".note{align-self:center;color:#555;font-size:13px;text-align:center}",
    ".sources{margin:6px 0 0;padding-left:18px;font-size:13px}",
    ".sources a{color:#1f5fbf}",
    ".rate{display:flex;gap:6px;margin-top:6px}",
    ".rate button{background:#fff;border:1px solid #c4c9d0;padding:2px 8px;font-size:13px}",
    ".rate button[aria-pressed=true]{background:#e3ecfa;border-color:#1f5fbf}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e3e6ea}",
    "input{flex:1;padding:9px 10px;border:1px solid #c4c9d0;border-radius:6px;min-width:0}",
    ".send{background:#1f5fbf;color:#fff;border:0;padding:0 14px}",
    ".human{margin:0 10px 10px;background:#fff;border:1px solid #c4c9d0;padding:7px;font-size:13px}",
    "button:disabled{opacity:.55;cursor:default}",
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0}",
    ".bubble{bottom:14px;right:14px}}"
  ].join("");

  var host = el("div", { id: "deskbot-widget" });
  var root = host.attachShadow({ mode: "open" });
  var frame = el("div", { class: script.getAttribute("data-position") === "left" ? "left" : "" });
  var style = el("style");
  style.textContent = CSS;
  var bubble = el("button", { class: "bubble", type: "button", "aria-label": "Open chat", "aria-expanded": "false",
    "aria-controls": "deskbot-panel" });
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z");
  icon.append(path);
  bubble.append(icon);
  var panel = el("section", { class: "panel", id: "deskbot-panel", role: "dialog", "aria-label": TITLE });
  panel.hidden = true;
  var header = el("header");
  var close = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.append(el("h2", {}, TITLE), close);
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var form = el("form");
  var input = el("input", { type: "text", name: "message", autocomplete: "off", maxlength: "4000",
    "aria-label": "Your question", placeholder: "Ask a question\u2026" });
  var send = el("button", { class: "send", type: "submit" }, "Send");
  form.append(input, send);
  var human = el("button", { class: "human", type: "button" }, "Talk to a person");
  panel.append(header, log, form, human);
  frame.append(bubble, panel);
  root.append(style, frame);

  function endpoint(path, query) {
    var url = BASE + "/widget/v1/" + path + "?key=" + encodeURIComponent(KEY);
    for (var name in query || {}) url += "&" + name + "=" + encodeURIComponent(query[name]);
    return url;
  }
  function post(path, body) {
    return fetch(endpoint(path), { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit" });
  }
  function problem(response) {
    if (response.status === 429) return Promise.resolve("You have sent many messages today; please try again later.");
    return response.json().then(function (data) { return String(data.detail || "error"); }, function () {
      return "error";
    }).then(function (detail) { return "Sorry, the chat is not available right now (" + detail + ")."; });
  }
  /* The text for a failed request: the server's reason, or (network down, origin refused) a plain apology. */
  function failure(error) {
    return error && error.fromServer ? error.message : "Sorry, the chat is not available right now.";
  }
  function refused(response) {
    return problem(response).then(function (text) {
      var error = new Error(text);
      error.fromServer = true;
      throw error;
    });
  }
  var minting = null;  /* the one session request in flight, shared by whoever needs it meanwhile */
  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    minting = minting || post("session", {}).then(function (response) {
      if (!response.ok) return refused(response);
      return response.json().then(function (data) { state.session = data.session; save(); return data.session; });
    }).finally(function () { minting = null; });
    return minting;
  }
  /* POST with the session; a session the server does not know (a revoked and re-created key) is replaced once. */
  function withSession(path, body, retried) {
    return ensureSession().then(function (session) {
      return post(path, Object.assign({ session: session }, body)).then(function (response) {
        if (response.status === 401 && !retried) {
          state.session = "";
          return withSession(path, body, true);
        }
        return response;
      });
    });
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function safeLink(source) {
    try {
      var url = new URL(source);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) { return ""; }
  }
  function renderSources(box, citations) {
    if (!citations || !citations.length) return;
    var list = el("ol", { class: "sources", "aria-label": "Sources" });
    citations.forEach(function (c) {
      var item = el("li");
      var href = safeLink(c.source || "");
      if (href) {
        var link = el("a", { target: "_blank", rel: "noopener noreferrer" }, c.title || href);
        link.href = href;
        item.append(link);
      } else {
        item.textContent = c.title || c.source || c.id;
      }
      list.append(item);
    });
    box.append(list);
  }
  function renderRating(box, item) {
    var row = el("div", { class: "rate", role: "group", "aria-label": "Was this answer helpful?" });
    [["good", "Helpful", "This answer helped"], ["bad", "Not helpful",
      "This answer did not help"]].forEach(function (choice) {
      var button = el("button", { type: "button", "aria-label": choice[2], "aria-pressed": String(item.rating === choice[0]),
        "data-rating": choice[0] }, choice[1]);
      button.disabled = !!item.rating;
      button.addEventListener("click", function () { rate(item, choice[0], row); });
      row.append(button);
    });
    box.append(row);
  }
  function render(item) {
    var box = el("div", { class: "msg " + item.role + (item.person ? " person" : "") });
    if (item.role === "note") box.setAttribute("role", "status");
    if (item.person) box.append(el("div", { class: "who" }, PERSON));
    var text = el("div", { class: "text" }, item.text);
    box.append(text);
    if (item.role === "bot" && item.done && !item.person) {
      renderSources(box, item.citations);
      if (item.ratable) renderRating(box, item);
    }
    log.append(box);
    scrollDown();
    return { box: box, text: text };
  }
  function redraw() {
    log.textContent = "";
    if (!state.items.length) render({ role: "note", text: GREETING });
    state.items.forEach(render);
  }
  function setBusy(value) {
    busy = value;
    send.disabled = value;
    human.disabled = value;
  }

  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var name = "message", data = [];
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          if (data.length) onEvent(name, JSON.parse(data.join("\n")));
        }
        return pump();
      });
    }
    return pump();
  }

  function ask(question) {
    setBusy(true);
    state.items.push({ role: "user", text: question });
    save();
    render(state.items[state.items.length - 1]);
    var item = { role: "bot", text: "" };
    var shown = render(item);
    shown.box.setAttribute("aria-busy", "true");
    withSession("chat/stream", { message: question }).then(function (response) {
      if (!response.ok) return refused(response);
      return readEvents(response, function (name, data) {
        if (name === "delta") {
          item.text += data.text;
          shown.text.textContent = item.text;
          scrollDown();
        } else if (name === "reply") {
          item.text = data.answer;
          item.citations = data.citations;
          item.ratable = !data.handoff;
          item.done = true;
          if (data.handoff) watchPerson();
        }
      });
    }).catch(function (error) {
      item.text = failure(error);
      item.done = true;
    }).then(function () {
      item.done = true;
      shown.box.remove();
      if (item.text) {  /* a held conversation's bot is silent: nothing to show */
        state.items.push(item);
        save();
        render(item);
      }
      setBusy(false);
      input.focus();
    });
  }

  function command(path, body, onReply) {
    setBusy(true);
    return withSession(path, body).then(function (response) {
      if (!response.ok) return refused(response);
      return response.json().then(onReply);
    }).catch(function (error) {
      state.items.push({ role: "note", text: failure(error) });
      save();
      render(state.items[state.items.length - 1]);
    }).then(function () {
      setBusy(false);
      if (!panel.hidden) input.focus();  /* a disabled button loses the focus: give it back where Esc works */
    });
  }
  function rate(item, rating, row) {
    if (item.rating || busy) return;
    item.rating = rating;
    save();
    Array.prototype.forEach.call(row.querySelectorAll("button"), function (button) {
      button.disabled = true;
      button.setAttribute("aria-pressed", String(button.getAttribute("data-rating") === rating));
    });
    command("feedback", { rating: rating }, function (data) {
      state.items.push({ role: "note", text: data.answer });
      save();
      render(state.items[state.items.length - 1]);
    });
  }

  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) {
      scrollDown();
      input.focus();
      ensureSession().catch(function () { /* told when a message is sent */ });  /* ready before the first Enter */
    } else {
      bubble.focus();
    }
  }

  bubble.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); setOpen(false); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });
  human.addEventListener("click", function () {
    if (busy) return;
    command("human", {}, function (data) {
      state.items.push({ role: "bot", text: data.answer, done: true });
      save();
      render(state.items[state.items.length - 1]);
      watchPerson();
    });
  });
  window.addEventListener("storage", function (event) {
    if (event.key === STORE) { state = load(); redraw(); }
  });

  /* The stored thread after lastId: `{messages, with_person}`, or null when it cannot be read. */
  function stored() {
    if (!state.session) return Promise.resolve(null);
    return fetch(endpoint("messages", { session: state.session, after: lastId }), { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }
  function fromServer(message) {
    return { role: message.role, text: message.text, done: true, person: message.from_person || undefined,
      citations: message.citations, ratable: message.ratable && !message.from_person, rating: message.rating };
  }
  /* Page load: show the thread as stored (another tab or a person may have added to it). */
  function restore() {
    stored().then(function (data) {
      if (!data || !data.messages.length) return;
      state.items = data.messages.map(fromServer);
      lastId = data.messages[data.messages.length - 1].id;
      save();
      redraw();
      if (data.with_person) watchPerson();
    });
  }
  /* While a person holds the conversation: show what they reply, until it is back with the bot. */
  function watchPerson() {
    if (polling) return;
    polling = setInterval(function () {
      stored().then(function (data) {
        if (!data) return;
        data.messages.forEach(function (message) {
          lastId = Math.max(lastId, message.id);
          if (!message.from_person) return;
          state.items.push(fromServer(message));
          render(state.items[state.items.length - 1]);
        });
        save();
        if (!data.with_person) { clearInterval(polling); polling = null; }
      });
    }, POLL_MS);
  }

  redraw();
  restore();
  (document.body || document.documentElement).append(host);
  if (state.open) { panel.hidden = false; bubble.setAttribute("aria-expanded", "true"); }
})();
