/* Deskbot operator console. Served to logged-in operators only (/admin/assets/console.js).
 * Every text that comes from a customer, the bot, an operator or the knowledge base is set with textContent, never
 * as HTML, and links are made only from http(s) sources. Changes send the X-Deskbot-Console header (the server
 * refuses a change without it: another site cannot add it). The open list and thread refresh every REFRESH_MS.
 */
(function () {
  "use strict";
  var REFRESH_MS = 5000;
  var HEADERS = { "Content-Type": "application/json", "X-Deskbot-Console": "1" };
  var page = 1;
  var openId = null;
  var openThread = null;
  var editing = null;  /* the curated answer being edited, or the exchange being curated */

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
  function say(text) { $("status").textContent = text || ""; }
  function safeLink(source) {
    try {
      var url = new URL(source);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) { return ""; }
  }

  function api(method, path, body) {
    var options = { method: method, headers: HEADERS, credentials: "same-origin" };
    if (body !== undefined) options.body = JSON.stringify(body);
    return fetch("/admin/api/" + path, options).then(function (response) {
      if (response.status === 401) { location.href = "/admin/login"; throw new Error("logged out"); }
      if (response.status === 204) return null;
      return response.json().then(function (data) {
        if (!response.ok) {
          var detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
          throw new Error(detail || response.statusText);
        }
        return data;
      });
    });
  }
  function failed(error) { say(error.message); }

  /* conversations */
  function filterQuery() {
    var form = $("filters");
    var query = new URLSearchParams();
    ["abstained", "rated_bad", "handed_off"].forEach(function (name) {
      if (form.elements[name].checked) query.set(name, "true");
    });
    ["channel", "q"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    });
    if (form.elements.since.value) query.set("since", form.elements.since.value + "T00:00:00Z");
    if (form.elements.until.value) {
      var end = new Date(form.elements.until.value + "T00:00:00Z");
      end.setUTCDate(end.getUTCDate() + 1);  /* the whole "to" day */
      query.set("until", end.toISOString());
    }
    query.set("page", String(page));
    return query.toString();
  }
  function badges(box, conversation) {
    if (conversation.with_person) box.append(el("span", { class: "badge person" }, "with a person"));
    if (conversation.abstained) box.append(el("span", { class: "badge abstain" }, "abstained"));
    if (conversation.rated_bad) box.append(el("span", { class: "badge bad" }, "rated bad"));
    if (conversation.handed_off && !conversation.with_person) box.append(el("span", { class: "badge handoff" }, "handed off"));
  }
  function loadConversations() {
    return api("GET", "conversations?" + filterQuery()).then(function (data) {
      var list = $("conversations");
      list.textContent = "";
      if (!data.conversations.length) list.append(el("li", { class: "empty" }, "No conversation matches."));
      data.conversations.forEach(function (conversation) {
        var item = el("li");
        var button = el("button", { type: "button", "data-id": conversation.id,
          "aria-current": String(conversation.id === openId) });
        var line = el("div", { class: "line" });
        line.append(el("span", { class: "badge" }, conversation.channel), el("span", { class: "id" }, conversation.id));
        badges(line, conversation);
        button.append(line, el("div", { class: "preview" }, conversation.last_question || "(no question)"),
          el("div", { class: "hint" }, when(conversation.updated_at) + " \u00b7 " + conversation.messages + " messages"));
        button.addEventListener("click", function () { openConversation(conversation.id); });
        item.append(button);
        list.append(item);
      });
      var pages = Math.max(1, Math.ceil(data.total / data.per_page));
      $("page").textContent = "Page " + data.page + " of " + pages + " (" + data.total + ")";
      $("previous").disabled = data.page <= 1;
      $("next").disabled = data.page >= pages;
    }).catch(failed);
  }

  /* one thread */
  function renderMessage(message, next) {
    var item = el("li", { class: "message " + message.role + (message.kind ? " kind-" + message.kind : "") });
    var head = el("div", { class: "head" });
    var who = message.role === "user" ? "Customer" : message.kind === "human" ? "Person: " + message.operator : "Bot";
    head.append(el("strong", {}, who));
    if (message.kind) head.append(el("span", { class: "badge " + message.kind }, message.kind));
    if (message.retrieval_score !== null) head.append(el("span", {}, "score " + message.retrieval_score.toFixed(3)));
    if (message.latency_ms !== null) head.append(el("span", {}, Math.round(message.latency_ms) + " ms"));
    head.append(el("span", {}, when(message.created_at)));
    item.append(head, el("div", { class: "text" }, message.text));
    if (message.citations.length) {
      var sources = el("ol", { class: "sources", "aria-label": "Sources" });
      message.citations.forEach(function (citation) {
        var line = el("li");
        var href = safeLink(citation.source);
        if (href) {
          var link = el("a", { target: "_blank", rel: "noopener noreferrer" }, citation.title);
          link.href = href;
          line.append(link);
        } else {
          line.textContent = citation.title + (citation.source ? " (" + citation.source + ")" : "");
        }
        sources.append(line);
      });
      item.append(sources);
    }
    message.feedback.forEach(function (feedback) {
      item.append(el("div", { class: "feedback" }, "Rated " + feedback.rating + (feedback.text ? ": " + feedback.text : "")));
    });
    if (message.role === "user" && message.text.charAt(0) !== "/") {
      var curate = el("button", { type: "button", class: "curate" }, "Curate an answer");
      curate.addEventListener("click", function () {
        openCurate({ question: message.text, answer: next && next.kind !== "abstain" ? next.text : "",
          conversation: openId, message_id: message.id });
      });
      item.append(curate);
    }
    return item;
  }
  function renderThread(data) {
    openThread = data;
    var conversation = data.conversation;
    $("thread").hidden = false;
    $("thread-title").textContent = conversation.id;
    $("thread-state").textContent = conversation.with_person ? "with a person" : "with the bot";
    $("thread-state").className = "badge" + (conversation.with_person ? " person" : "");
    $("take-over").disabled = conversation.with_person;
    $("release").disabled = !conversation.with_person;
    $("reply").querySelector("button").disabled = !conversation.with_person;
    $("reply-text").placeholder = conversation.with_person ? "Your reply to the customer" : "Take over the conversation to reply";
    var list = $("messages");
    list.textContent = "";
    data.messages.forEach(function (message, index) {
      var next = data.messages[index + 1];
      list.append(renderMessage(message, next && next.role === "assistant" ? next : null));
    });
  }
  function openConversation(id) {
    openId = id;
    Array.prototype.forEach.call(document.querySelectorAll("#conversations button[data-id]"), function (button) {
      button.setAttribute("aria-current", String(button.getAttribute("data-id") === id));
    });
    return loadThread();
  }
  function loadThread() {
    if (!openId) return Promise.resolve();
    return api("GET", "thread?conversation=" + encodeURIComponent(openId)).then(renderThread).catch(failed);
  }
  function act(path, body, done) {
    say("");
    return api("POST", path, body).then(done || function () {}).then(function () {
      return Promise.all([loadThread(), loadConversations()]);
    }).catch(failed);
  }

  /* unanswered questions */
  function loadUnanswered() {
    return api("GET", "unanswered").then(function (data) {
      var list = $("groups");
      list.textContent = "";
      if (!data.groups.length) list.append(el("li", { class: "empty" }, "No unanswered questions."));
      data.groups.forEach(function (group) {
        var item = el("li");
        item.append(el("strong", {}, group.size + (group.size === 1 ? " question" : " questions")),
          el("span", { class: "hint" }, " \u00b7 latest " + when(group.latest)));
        var examples = el("ul", { class: "examples" });
        group.examples.forEach(function (example) {
          var line = el("li");
          line.append(el("span", {}, example.text), el("span", { class: "badge" }, example.why));
          var open = el("button", { type: "button" }, "Open");
          open.addEventListener("click", function () { show("conversations"); openConversation(example.conversation); });
          var curate = el("button", { type: "button" }, "Curate an answer");
          curate.addEventListener("click", function () {
            openCurate({ question: example.text, answer: "", conversation: example.conversation,
              message_id: example.message_id });
          });
          line.append(" ", open, " ", curate);
          examples.append(line);
        });
        item.append(examples);
        list.append(item);
      });
    }).catch(failed);
  }

  /* curated answers */
  function loadCurated() {
    return api("GET", "curated").then(function (data) {
      var list = $("curated");
      list.textContent = "";
      if (!data.curated.length) list.append(el("li", { class: "empty" }, "No curated answers yet."));
      data.curated.forEach(function (answer) {
        var item = el("li");
        item.append(el("strong", {}, answer.question), el("div", { class: "text" }, answer.answer),
          el("div", { class: "hint" }, "by " + answer.operator + " \u00b7 " + when(answer.updated_at)));
        var edit = el("button", { type: "button" }, "Edit");
        edit.addEventListener("click", function () { openCurate(answer); });
        var remove = el("button", { type: "button" }, "Delete");
        remove.addEventListener("click", function () {
          if (!confirm("Delete this curated answer? The bot stops serving it.")) return;
          api("DELETE", "curated/" + answer.id).then(loadCurated).catch(failed);
        });
        item.append(edit, " ", remove);
        list.append(item);
      });
    }).catch(failed);
  }
  function openCurate(answer) {
    editing = answer;
    $("curate-title").textContent = answer.id ? "Edit the curated answer" : "Curate an answer";
    $("curate-question").value = answer.question;
    $("curate-answer").value = answer.answer;
    $("curate").showModal();
    $("curate-answer").focus();
  }
  function saveCurated(event) {
    event.preventDefault();
    var body = { question: $("curate-question").value.trim(), answer: $("curate-answer").value.trim() };
    var request;
    if (editing.id) {
      request = api("PUT", "curated/" + editing.id, body);
    } else {
      if (editing.conversation) { body.conversation = editing.conversation; body.message_id = editing.message_id; }
      request = api("POST", "curated", body);
    }
    request.then(function () {
      $("curate").close();
      say("Saved: the bot now answers that question with this text.");
      return loadCurated();
    }).catch(failed);
  }

  /* views */
  var views = { conversations: loadConversations, unanswered: loadUnanswered, curated: loadCurated };
  var current = "conversations";
  function show(view) {
    current = view;
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      tab.setAttribute("aria-pressed", String(tab.getAttribute("data-view") === view));
    });
    Object.keys(views).forEach(function (name) { $("view-" + name).hidden = name !== view; });
    say("");
    return views[view]();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      tab.addEventListener("click", function () { show(tab.getAttribute("data-view")); });
    });
    $("filters").addEventListener("submit", function (event) { event.preventDefault(); page = 1; loadConversations(); });
    $("previous").addEventListener("click", function () { page = Math.max(1, page - 1); loadConversations(); });
    $("next").addEventListener("click", function () { page += 1; loadConversations(); });
    $("take-over").addEventListener("click", function () { act("take-over", { conversation: openId }); });
    $("release").addEventListener("click", function () { act("release", { conversation: openId }); });
    $("reply").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = $("reply-text").value.trim();
      if (!text) return;
      act("reply", { conversation: openId, text: text }, function () { $("reply-text").value = ""; });
    });
    $("curate-form").addEventListener("submit", saveCurated);
    $("curate-cancel").addEventListener("click", function () { $("curate").close(); });
    $("logout").addEventListener("click", function () {
      api("POST", "../logout").then(function () { location.href = "/admin/login"; }).catch(failed);
    });
    api("GET", "me").then(function (data) { $("operator").textContent = data.operator; }).catch(failed);
    loadConversations();
    setInterval(function () {
      if (document.hidden || $("curate").open) return;
      if (current === "conversations") { loadConversations(); loadThread(); }
    }, REFRESH_MS);
  });
})();
