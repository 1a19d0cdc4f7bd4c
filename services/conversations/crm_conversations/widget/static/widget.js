/* The CRM web chat widget: plain JavaScript, no framework, nothing fetched but this service's own endpoints.
   Embed: <script src="https://crm.example.com/v1/conversations/widget.js" data-inbox="INBOX_ID" async></script>
   A site that knows its user sets, before the tag, window.CrmChat = {user_id, email, name, user_hash}
   (user_hash: hex HMAC-SHA256 of user_id with the inbox secret, computed on the site's server). */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-inbox]");
  if (!script || window.__crmChatLoaded) { return; }
  window.__crmChatLoaded = true;
  var inboxId = script.getAttribute("data-inbox");
  var src = new URL(script.src, document.baseURI);
  var root = src.origin + src.pathname.replace(/\/v1\/conversations\/widget\.js$/, "");
  var api = root + "/v1/conversations/widget/" + encodeURIComponent(inboxId);
  var storeKey = "crm-chat:" + inboxId;
  var identity = window.CrmChat && window.CrmChat.user_id ? window.CrmChat : null;
  var POLL_MS = 3000, RENEW_MS = 20 * 60 * 1000;

  var config = null, session = load(), lastId = null, seen = {}, socket = null, live = false, pollTimer = null;
  var backoff = 1000, ui = {};

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "null");
      if (!saved || !saved.token) { return null; }
      var who = identity ? identity.user_id : null;
      return saved.user_id === who ? saved : null;  // another signed-in user (or none): a chat of their own
    } catch (e) { return null; }
  }
  function save() {
    try {
      if (session) { window.localStorage.setItem(storeKey, JSON.stringify(session)); }
      else { window.localStorage.removeItem(storeKey); }
    } catch (e) { /* private mode: the chat lasts as long as the page */ }
  }

  function call(method, path, body, isForm) {
    var headers = {};
    if (session) { headers.Authorization = "Bearer " + session.token; }
    if (body !== undefined && !isForm) { headers["Content-Type"] = "application/json"; }
    return fetch(api + path, {
      method: method, headers: headers, mode: "cors", credentials: "omit",
      body: body === undefined ? undefined : (isForm ? body : JSON.stringify(body))
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : null;
        if (response.status === 401 && session) { session = null; save(); }
        if (!response.ok) {
          var error = new Error((data && data.detail) || ("HTTP " + response.status));
          error.status = response.status; error.problem = data; throw error;
        }
        return data;
      });
    });
  }

  // drawing ------------------------------------------------------------------------------------------
  // The widget's own words, in the visitor's language (the config answers them for its Accept-Language).
  function say(key, english) { return (config.texts && config.texts[key]) || english; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function draw() {
    var host = el("div", { id: "crm-chat", lang: config.language || "en" });
    document.body.appendChild(host);
    var shadow = host.attachShadow({ mode: "open" });
    var colour = config.primary_colour, ink = config.text_colour;
    var style = el("style");
    style.textContent = [
      ":host{all:initial;font:14px/1.4 system-ui,sans-serif;color:#1c1c1c}",
      ".launcher{position:fixed;right:20px;bottom:20px;border:0;border-radius:24px;padding:12px 18px;cursor:pointer;",
      "background:" + colour + ";color:" + ink + ";font:inherit;box-shadow:0 2px 8px rgba(0,0,0,.25);z-index:2147483646}",
      ".panel{position:fixed;right:20px;bottom:80px;width:340px;max-width:calc(100vw - 40px);height:460px;",
      "display:none;flex-direction:column;background:#fff;border-radius:10px;overflow:hidden;",
      "box-shadow:0 4px 24px rgba(0,0,0,.3);z-index:2147483647}",
      ".panel.open{display:flex}",
      ".head{background:" + colour + ";color:" + ink + ";padding:12px 14px;font-weight:600}",
      ".notice{padding:8px 14px;color:#555;font-size:13px}",
      ".log{flex:1;overflow-y:auto;padding:10px 14px;display:flex;flex-direction:column;gap:8px}",
      ".msg{max-width:80%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}",
      ".msg.inbound{align-self:flex-end;background:" + colour + ";color:" + ink + "}",
      ".msg.outbound{align-self:flex-start;background:#eef0f3}",
      ".who{display:block;font-size:11px;font-weight:600;opacity:.75;margin-bottom:2px}",
      ".msg a{color:inherit}",
      "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e5e5;flex-wrap:wrap}",
      "input,textarea{font:inherit;border:1px solid #ccc;border-radius:6px;padding:6px 8px;flex:1;min-width:0}",
      "textarea{resize:none;height:38px}",
      "button.send,label.file{border:0;border-radius:6px;padding:6px 12px;cursor:pointer;",
      "background:" + colour + ";color:" + ink + ";font:inherit}",
      "label.file input{display:none}",
      ".offline{display:none;padding:8px 14px;background:#fff4e5;color:#7a4b00;font-size:13px}",
      ".offline.on{display:block}"
    ].join("");
    shadow.appendChild(style);
    ui.launcher = el("button", { "class": "launcher", "data-crm": "launcher", type: "button" }, config.name || say("launcher", "Chat"));
    ui.panel = el("div", { "class": "panel", "data-crm": "panel", role: "dialog", "aria-label": config.name });
    ui.panel.appendChild(el("div", { "class": "head" }, config.name));
    if (config.welcome_text) { ui.panel.appendChild(el("div", { "class": "notice", "data-crm": "welcome" }, config.welcome_text)); }
    ui.offline = el("div", { "class": "offline", "data-crm": "offline" }, config.offline_message || say("offline", "We are offline."));
    ui.panel.appendChild(ui.offline);
    ui.log = el("div", { "class": "log", "data-crm": "log", "aria-live": "polite" });
    ui.panel.appendChild(ui.log);
    ui.prechat = prechatForm();
    ui.composer = composer();
    ui.panel.appendChild(ui.prechat);
    ui.panel.appendChild(ui.composer);
    shadow.appendChild(ui.panel);
    shadow.appendChild(ui.launcher);
    ui.launcher.addEventListener("click", function () {
      ui.panel.classList.toggle("open");
      if (ui.panel.classList.contains("open")) { focusInput(); }
    });
    showForms();
  }

  function needsPrechat() { return !session && !identity && config.prechat_form; }
  function refused() { return !session && !identity && config.strict; }

  function showForms() {
    ui.prechat.style.display = needsPrechat() ? "flex" : "none";
    ui.composer.style.display = needsPrechat() || refused() ? "none" : "flex";
    if (refused()) { offline(true); }
  }
  function focusInput() {
    var input = (needsPrechat() ? ui.prechat : ui.composer).querySelector("input,textarea");
    if (input) { input.focus(); }
  }
  function offline(on) { if (ui.offline) { ui.offline.classList.toggle("on", !!on); } }

  function prechatForm() {
    var form = el("form", { "data-crm": "prechat" });
    var name = el("input", { name: "name", placeholder: say("name", "Your name"), required: "", maxlength: "300" });
    var email = el("input", { name: "email", type: "email", placeholder: say("email", "Your email"), required: "", maxlength: "320" });
    form.appendChild(name); form.appendChild(email);
    form.appendChild(el("button", { "class": "send", type: "submit" }, say("start", "Start chat")));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start({ name: name.value, email: email.value }).then(showForms).then(focusInput).catch(fail);
    });
    return form;
  }

  function composer() {
    var form = el("form", { "data-crm": "composer" });
    var text = el("textarea", { name: "body", placeholder: say("message", "Write a message"), maxlength: "5000",
                             "aria-label": say("message_label", "Message") });
    var file = el("input", { type: "file", name: "file" });
    var attach = el("label", { "class": "file", title: say("file", "Send a file") }, "+");
    attach.appendChild(file);
    form.appendChild(text); form.appendChild(attach);
    form.appendChild(el("button", { "class": "send", type: "submit", "data-crm": "send" }, say("send", "Send")));
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = text.value.trim();
      if (!body) { return; }
      text.value = "";
      ensureSession().then(function () { return call("POST", "/messages", { body: body }); })
        .then(show).catch(function (error) { text.value = body; fail(error); });
    });
    file.addEventListener("change", function () {
      var chosen = file.files && file.files[0];
      if (!chosen) { return; }
      var data = new FormData();
      data.append("file", chosen, chosen.name);
      file.value = "";
      ensureSession().then(function () { return call("POST", "/attachments", data, true); }).then(show).catch(fail);
    });
    return form;
  }

  function show(message) {
    if (!message || seen[message.id]) { return; }
    seen[message.id] = true;
    if (!lastId || message.id > lastId) { lastId = message.id; }
    var bubble = el("div", { "class": "msg " + message.direction, "data-crm": "message", "data-direction": message.direction });
    if (message.direction === "outbound" && message.author_name) {
      bubble.appendChild(el("span", { "class": "who", "data-crm": "author" }, message.author_name));
    }
    var files = message.attachments || [];
    if (!files.length) { bubble.appendChild(el("span", { "data-crm": "text" }, message.text)); }
    files.forEach(function (file) {
      var link = el("a", { href: "#", "data-crm": "attachment" }, file.filename);
      link.addEventListener("click", function (event) { event.preventDefault(); download(file); });
      bubble.appendChild(link);
    });
    ui.log.appendChild(bubble);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function download(file) {
    fetch(api + "/attachments/" + encodeURIComponent(file.id), { headers: { Authorization: "Bearer " + session.token } })
      .then(function (response) { return response.blob(); })
      .then(function (blob) {
        var link = el("a", { href: URL.createObjectURL(blob), download: file.filename });
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      }).catch(fail);
  }

  function fail(error) {
    if (error && error.status === 403 && error.problem && error.problem.errors) {
      offline(true);
      return;
    }
    if (!error || !error.status) { offline(true); }  // the network: the service is out of reach
    if (window.console) { window.console.warn("crm chat:", error && error.message); }
  }

  // the chat -----------------------------------------------------------------------------------------
  function start(form) {
    var body = {};
    if (identity) {
      body.identity = { user_id: String(identity.user_id), user_hash: String(identity.user_hash || ""),
                        email: identity.email || null, name: identity.name || null };
    } else if (form) {
      body.name = form.name; body.email = form.email;
    }
    return call("POST", "/sessions", body).then(function (started) {
      session = { token: started.token, expires_at: started.expires_at, conversation_id: started.conversation_id,
                  user_id: identity ? identity.user_id : null, last_event_id: null };
      save();
      listen();
    });
  }
  function ensureSession() { return session ? Promise.resolve() : start(null); }

  function fetchNew() {
    if (!session) { return Promise.resolve(); }
    var query = lastId ? "?after=" + encodeURIComponent(lastId) : "";
    return call("GET", "/messages" + query).then(function (page) {
      offline(false);
      page.items.forEach(show);
    }).catch(fail);
  }

  function poll() {
    if (pollTimer || !session) { return; }
    pollTimer = setInterval(function () { if (!live) { fetchNew(); } }, POLL_MS);
  }

  function listen() {
    fetchNew();
    poll();  // until the socket is ready, and whenever it is down
    connect();
  }

  function connect() {
    if (!config.realtime_url || !window.WebSocket || !session || socket) { return; }
    var ws;
    try { ws = new WebSocket(config.realtime_url); } catch (e) { return; }
    socket = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "auth", token: session.token, last_event_id: session.last_event_id || undefined }));
    };
    ws.onmessage = function (frame) {
      var event;
      try { event = JSON.parse(frame.data); } catch (e) { return; }
      if (event.type === "ready") {
        live = true; backoff = 1000;
        remember(event.last_event_id);
        fetchNew();
      } else if (event.type === "reset") {
        fetchNew();
      } else if (event.id) {
        remember(event.id);
        if (event.type === "conversations.message.added") { fetchNew(); }  // the REST answer names the member
      }
    };
    ws.onclose = function (closed) {
      socket = null; live = false;
      if (closed.code === 4001) { return; }  // the token is no longer good: polling finds out and starts over
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function remember(cursor) {
    if (cursor && session) { session.last_event_id = String(cursor); save(); }
  }

  function renew() {
    if (!session) { return Promise.resolve(); }
    return call("POST", "/sessions/renew").then(function (renewed) {
      session.token = renewed.token; session.expires_at = renewed.expires_at; save();
    });
  }

  function begin() {
    call("GET", "/config").then(function (found) {
      config = found;
      draw();
      if (session) {
        renew().then(function () { if (session) { listen(); } showForms(); }).catch(function () { showForms(); });
      }
      setInterval(function () { renew().catch(fail); }, RENEW_MS);
    }).catch(fail);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", begin); }
  else { begin(); }
})();
