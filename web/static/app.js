// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // The page's words, in its language, from the server (the <html>
  // element's data-i18n); {id}, {name}, {status}, {n} are filled in here.
  var root = document.documentElement;
  var texts = {};
  try { texts = JSON.parse(root.getAttribute("data-i18n") || "{}"); } catch (e) { texts = {}; }
  function t(key, vars) {
    var s = texts[key] || key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(vars[k]); });
    return s;
  }

  // Times are shown in the browser's zone: tell the server once (it
  // remembers it per user); a page that shows times reloads in it.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var csrf = root.getAttribute("data-csrf");
    // Once per zone and tab: a browser that keeps no cookie must not reload forever.
    var told = false;
    try { told = sessionStorage.getItem("ecsdash-zone") === zone; sessionStorage.setItem("ecsdash-zone", zone); } catch (e) { told = true; }
    if (zone && csrf && root.getAttribute("data-zone") !== zone && !told) {
      var body = new URLSearchParams();
      body.set("zone", zone);
      body.set("_csrf", csrf);
      fetch(root.getAttribute("data-zone-url"), { method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json" } })
        .then(function (r) { if (r.ok && document.querySelector("[data-times]")) location.reload(); })
        .catch(function () {});
    }
  } catch (e) { /* no Intl: times stay in UTC, named as such */ }

  // wireInit gives a row's "Initialize local disks" box its dialog (rows
  // that a live update brings in get it too).
  var wireInit = function () {};

  // The InitLocalDisk confirmation as a native dialog.
  var dialog = document.getElementById("init-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    var input = dialog.querySelector("input[name=dialog_confirm]");
    var idText = dialog.querySelector("[data-dialog-id]");
    var approvalNote = dialog.querySelector("[data-dialog-approval]");
    var err = dialog.querySelector("[data-dialog-error]");
    var submit = dialog.querySelector("[data-dialog-submit]");
    var reasonWrap = dialog.querySelector("[data-dialog-reason]");
    var reasonInput = reasonWrap.querySelector("input");
    var current = null;
    // The button works only once the typed ID matches; a mismatch of the
    // ID's length says so, and the note goes once it matches.
    input.addEventListener("input", function () {
      if (!current) return;
      var v = input.value.trim();
      submit.disabled = v !== current.id;
      err.textContent = (v.length >= current.id.length && v !== current.id)
        ? t("not_the_id", { id: current.id }) : "";
    });

    wireInit = function (box) {
      var details = box.querySelector("[data-init-details]");
      if (details) details.classList.add("js-hidden");
      var check = box.querySelector("input[name=init_local_disk]");
      check.addEventListener("change", function () {
        if (!check.checked) return;
        current = { check: check, form: check.form, id: box.getAttribute("data-init-disk") };
        idText.textContent = current.id;
        dialog.querySelector("[data-dialog-name]").textContent = box.getAttribute("data-name");
        dialog.querySelector("[data-dialog-region]").textContent = box.getAttribute("data-region");
        var needs = box.getAttribute("data-needs-approval") === "true";
        approvalNote.hidden = !needs;
        // The approver reads the reason: ask for it here, as the row's
        // field is out of sight while the dialog is open.
        var rowReason = current.form.querySelector("input[name=reason]");
        reasonWrap.hidden = !needs || !rowReason;
        reasonInput.value = rowReason ? rowReason.value : "";
        reasonInput.required = needs || !!(rowReason && rowReason.required);
        submit.textContent = needs ? t("request_wipe") : t("wipe_start");
        submit.disabled = true;
        input.value = "";
        err.textContent = "";
        dialog.showModal();
        input.focus();
      });
    };
    document.querySelectorAll("[data-init-disk]").forEach(wireInit);

    dialog.addEventListener("close", function () {
      if (!current) return;
      if (dialog.returnValue !== "confirm") current.check.checked = false;
      current.check.focus();
      current = null;
    });
    dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () {
      if (current) current.check.checked = false;
      dialog.close("cancel");
    });
    dialog.querySelector("form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!current) return;
      if (input.value.trim() !== current.id) {
        err.textContent = t("not_the_id", { id: current.id });
        input.focus();
        return;
      }
      var form = current.form;
      form.querySelector("input[name=confirm]").value = input.value.trim();
      var rowReason = form.querySelector("input[name=reason]");
      if (rowReason && !reasonWrap.hidden) rowReason.value = reasonInput.value;
      dialog.close("confirm");
      form.submit();
    });
  }

  // Approving a wipe asks once more, in a dialog; without this script the
  // button leads to a confirmation page instead.
  var approve = document.getElementById("approve-dialog");
  if (approve && typeof approve.showModal === "function") {
    var pending = null;
    document.querySelectorAll("form[data-approve-wipe]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        pending = f;
        approve.querySelector("[data-dialog-id]").textContent = f.getAttribute("data-instance");
        approve.querySelector("[data-dialog-name]").textContent = f.getAttribute("data-name");
        approve.querySelector("[data-dialog-region]").textContent = f.getAttribute("data-region");
        approve.returnValue = "";
        approve.showModal();
        // The safe choice first: one Enter must not wipe a fleet's disks.
        approve.querySelector("button[value=no]").focus();
      });
    });
    approve.addEventListener("close", function () {
      var f = pending;
      pending = null;
      if (!f || approve.returnValue !== "yes") return;
      var post = document.createElement("form");
      post.method = "post";
      post.action = f.action;
      [["_csrf", f.getAttribute("data-csrf")], ["digest", f.getAttribute("data-digest")]].forEach(function (kv) {
        var i = document.createElement("input");
        i.type = "hidden"; i.name = kv[0]; i.value = kv[1];
        post.appendChild(i);
      });
      document.body.appendChild(post);
      post.submit();
    });
  }

  // Messages stay until dismissed (no timer: a RequestId is copied at
  // one's own pace); Dismiss returns focus to the page.
  var toasts = document.querySelector("[data-toasts]");
  if (toasts) {
    toasts.querySelectorAll("[data-testid=flash]").forEach(function (f) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.setAttribute("data-dismiss", "");
      b.textContent = t("dismiss");
      b.addEventListener("click", function () {
        f.remove();
        if (!toasts.querySelector("[data-testid=flash]")) {
          toasts.remove();
          if (!notice || notice.hidden) document.body.classList.remove("has-toasts"); // the session's notice keeps its room
          var target = document.querySelector("tr:target") || document.getElementById("main");
          if (target) { if (!target.hasAttribute("tabindex")) target.tabIndex = -1; target.focus({ preventScroll: true }); }
        }
      });
      f.appendChild(b);
    });
  }

  // One click, one start: disable a start button once its form is sent.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.matches || !f.matches("form.start-form")) return;
    var b = ev.submitter || f.querySelector("button[type=submit]");
    if (b && !b.hasAttribute("formaction")) { b.disabled = true; b.textContent = t("starting"); }
  });

  // Batch start: "Select all on this page" and the count on the button.
  // (Rows come and go with live updates: the boxes are looked up each time.)
  var count = function () {};
  var batch = document.getElementById("batch-form");
  if (batch) {
    var all = batch.querySelector("[data-select-all]");
    var batchSubmit = batch.querySelector("[data-batch-submit]");
    var picks = function () { return document.querySelectorAll("input[data-pick]"); };
    count = function () {
      var n = 0;
      picks().forEach(function (p) { if (p.checked) n++; });
      batchSubmit.textContent = t("start_selected", { n: n });
      batchSubmit.disabled = n === 0;
    };
    all.addEventListener("change", function () {
      picks().forEach(function (p) { p.checked = all.checked; });
      count();
    });
    document.addEventListener("change", function (ev) {
      if (ev.target.matches && ev.target.matches("input[data-pick]")) count();
    });
    count();
  }
  document.querySelectorAll(".js-only").forEach(function (e) { e.hidden = false; });

  // The session is over (signed out elsewhere, idle, ended by an admin):
  // whatever polls stops, and the page says so once, politely, with a
  // sign-in that comes back to `next`. What stopped waits in `retries`:
  // when the user comes back to the tab (focus, visibility) it is tried
  // once more, and an answered poll (signed in again in another tab) takes
  // the notice away and carries on.
  var notice = document.querySelector("[data-session-ended]");
  var sessionOver = false;
  var retries = [];
  var tell = function (words) {
    var announce = document.getElementById("live-announce");
    if (!announce) return;
    // The same words again are news too (a Resume that could not resume):
    // the region is emptied first, so they are said again.
    if (announce.textContent !== words) { announce.textContent = words; return; }
    announce.textContent = "";
    setTimeout(function () { announce.textContent = words; }, 150);
  };
  // again: the user asked (pressed Resume), so the words are said again.
  var sessionEnded = function (next, retry, again) {
    sessionOver = true;
    if (retry && retries.indexOf(retry) < 0) retries.push(retry);
    if (!notice || (!notice.hidden && !again)) return;
    var link = notice.querySelector("a[data-login-url]");
    link.href = link.getAttribute("data-login-url") + "?next=" + encodeURIComponent(next);
    notice.hidden = false;
    document.body.classList.add("has-toasts");
    tell(notice.textContent.replace(/\s+/g, " ").trim());
  };
  var sessionBack = function () {
    if (!sessionOver) return;
    sessionOver = false;
    retries = [];
    if (notice) notice.hidden = true;
    if (!document.querySelector("[data-toasts]")) document.body.classList.remove("has-toasts");
  };
  var retryAll = function () {
    if (!sessionOver || document.hidden) return;
    var r = retries;
    retries = [];
    r.forEach(function (f) { f(); });
  };
  document.addEventListener("visibilitychange", retryAll);
  window.addEventListener("focus", retryAll);

  // A batch's started rows: poll each until it settles, with backoff.
  var live = document.querySelectorAll("tr[data-live]");
  live.forEach(function (row) {
    var url = row.getAttribute("data-status-url");
    var delay = 1000;
    // Signed in again, this page's rows come back to the batch's own
    // page (this one answered a POST, and cannot be asked for again).
    var batchPage = document.querySelector("[data-testid=batch-counts] a[href*='batch=']");
    var here = batchPage ? batchPage.pathname + batchPage.search : location.pathname + location.search;
    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { sessionEnded(here, poll, false); return undefined; } // signed out: stop, and say so
          return r.ok ? r.json() : null;
        })
        .then(function (s) {
          if (s === undefined) return;
          if (s) {
            sessionBack();
            row.setAttribute("data-status", s.status);
            var badge = row.querySelector("[data-status-badge]");
            var words = s.words || t("status." + s.status);
            if (badge) { badge.textContent = words; badge.className = "badge " + s.status.toLowerCase(); }
            if (s.settled) {
              row.removeAttribute("data-live");
              // The whole row follows: the action cell says the new state,
              // and a screen reader hears it once, politely.
              var why = row.querySelector("[data-testid=why-not]");
              if (why) why.textContent = s.status === "Stopped" ? t("stopped_reload") : t("now_status", { status: words });
              var name = row.querySelector("strong");
              var announce = document.getElementById("live-announce");
              if (announce) announce.textContent = t("announce", { name: name ? name.textContent : s.id, status: words });
              return;
            }
          }
          delay = Math.min(delay * 1.5, 10000);
          setTimeout(poll, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); setTimeout(poll, delay); });
    }
    setTimeout(poll, delay);
  });

  // The list follows the fleet for every viewer: a poll of the fleet's
  // version every few seconds (the server answers rows that changed, as
  // HTML), a ticking age, a pause, and one polite announcement per poll.
  var rowsBody = document.getElementById("fleet-rows");
  var ageEl = document.querySelector("[data-live-age]");
  var pause = document.querySelector("[data-live-pause]");
  if (rowsBody && rowsBody.hasAttribute("data-live-url") && window.fetch) {
    var version = "";
    var age = -1; // until the first poll (at once) says it: the page itself is cached
    var ageAt = Date.now();
    var paused = false; // the user's pause
    var stopped = false; // the session's end: nothing updates either
    var inFlight = false;
    var timer = null;
    // The button says the truth: pressed whenever nothing updates.
    var pressed = function () { if (pause) pause.setAttribute("aria-pressed", paused || stopped ? "true" : "false"); };
    var failures = 0;
    // As the server says a duration: the largest two units, a zero
    // second one left out ("1h", "1 小时", not "1 小时 0 分").
    var fmt = function (s) {
      var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
      var two = function (n, nu, k, ku) { return (k > 0 ? n + t(nu) + k + t(ku) : n + t(nu)).trim(); };
      return h > 0 ? two(h, "unit_h", m, "unit_m") : m > 0 ? two(m, "unit_m", sec, "unit_s") : (sec + t("unit_s")).trim();
    };
    var tick = function () {
      if (!ageEl || age < 0) return;
      var s = age + Math.floor((Date.now() - ageAt) / 1000);
      ageEl.textContent = s < 2 ? ageEl.getAttribute("data-just-now") : ageEl.getAttribute("data-ago").replace("{age}", fmt(s));
    };
    setInterval(tick, 1000);
    var moving = function () { return !!rowsBody.querySelector('tr[data-status=Starting], tr[data-status=Stopping], tr[data-status=Pending]'); };
    // A row someone is working in (focus, typed text, a ticked wipe) is
    // left alone until they leave it; its batch box keeps its tick.
    var busy = function (tr) {
      if (tr.contains(document.activeElement)) return true;
      return !!Array.prototype.find.call(tr.querySelectorAll("input"), function (i) {
        return (i.type === "checkbox" && i.name === "init_local_disk" && i.checked) || ((i.type === "text" || !i.type || i.type === "search") && i.value !== "");
      });
    };
    var say = function (changed) {
      var announce = document.getElementById("live-announce");
      if (!announce || changed.length === 0) return;
      var words = function (c) { return texts["status." + c.status] || c.status; };
      var one = function (c) { return rowsBody.getAttribute("data-said").replace("{name}", c.name).replace("{status}", words(c)); };
      if (changed.length === 1) { announce.textContent = one(changed[0]); return; }
      var list = changed.slice(0, 3).map(function (c) { return c.name + " " + words(c); });
      if (changed.length > 3) list.push("…");
      announce.textContent = rowsBody.getAttribute("data-said-many").replace("{n}", changed.length).replace("{list}", list.join(t("list_sep")));
    };
    var apply = function (rows) {
      var deferred = false, changed = [];
      var holder = document.createElement("tbody");
      rows.forEach(function (r) {
        var tr = document.getElementById("row-" + r.id);
        if (!tr || tr.parentNode !== rowsBody) return;
        if (busy(tr)) { deferred = true; return; }
        if (r.gone) { tr.remove(); return; } // out of the viewer's sight now: nothing in it may be done
        holder.innerHTML = r.html;
        var fresh = holder.querySelector("tr");
        if (!fresh) return;
        var pick = tr.querySelector("input[data-pick]");
        var was = tr.getAttribute("data-status");
        // The row element stays (a :target or a focus on it holds): its
        // attributes and cells are the fresh ones.
        Array.prototype.slice.call(tr.attributes).forEach(function (a) { if (!fresh.hasAttribute(a.name)) tr.removeAttribute(a.name); });
        Array.prototype.forEach.call(fresh.attributes, function (a) { tr.setAttribute(a.name, a.value); });
        tr.replaceChildren.apply(tr, Array.prototype.slice.call(fresh.childNodes));
        var newPick = tr.querySelector("input[data-pick]");
        if (pick && newPick) newPick.checked = pick.checked;
        tr.querySelectorAll("[data-init-disk]").forEach(wireInit);
        if (was !== r.status) changed.push(r);
      });
      count();
      say(changed);
      return deferred;
    };
    var schedule = function () {
      clearTimeout(timer);
      if (paused || stopped || document.hidden) return;
      var delay = failures > 0 ? Math.min(60000, 3000 * Math.pow(2, failures)) : moving() ? 2000 : 4000;
      timer = setTimeout(poll, delay);
    };
    // asked: the user pressed Resume (an answer is owed even if it is 401).
    var poll = function (asked) {
      if (inFlight) return; // the poll under way schedules the next
      inFlight = true;
      var q = new URLSearchParams();
      q.set("v", version);
      rowsBody.querySelectorAll("tr[data-instance-id]").forEach(function (tr) {
        q.append("r", tr.getAttribute("data-region") + "/" + tr.getAttribute("data-instance-id") + ":" + (tr.getAttribute("data-row-v") || ""));
      });
      fetch(rowsBody.getAttribute("data-live-url") + "?" + q.toString(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { // signed out: stop, and say so
            stopped = true;
            clearTimeout(timer);
            pressed();
            sessionEnded(location.pathname + location.search, function () { poll(false); }, asked === true);
            return null;
          }
          if (!r.ok) throw new Error("status " + r.status);
          return r.json();
        })
        .then(function (ans) {
          inFlight = false;
          if (!ans) return;
          if (stopped) { stopped = false; pressed(); sessionBack(); } // signed in again
          failures = 0;
          age = ans.age; ageAt = Date.now(); tick();
          // A row left alone is asked about again next time.
          version = apply(ans.rows || []) ? "" : ans.v;
          rowsBody.setAttribute("data-polls", String(Number(rowsBody.getAttribute("data-polls") || 0) + 1));
          if (paused) return;
          schedule();
        })
        .catch(function () { inFlight = false; failures++; schedule(); });
    };
    if (pause) {
      pause.addEventListener("click", function () {
        // After the session's end the press means "resume": it is tried
        // once, and the button stays pressed until updates come again.
        if (stopped) { paused = false; poll(true); return; }
        paused = !paused;
        pressed();
        if (paused) clearTimeout(timer); else poll();
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !paused && !stopped) poll();
    });
    poll();
  }

  // On a small screen the filters fold away (their summary names those
  // set, and opens them); back on a large one they are open again.
  var filtersBox = document.querySelector("details[data-collapse-narrow]");
  if (filtersBox && window.matchMedia) {
    var narrow = window.matchMedia("(max-width: 1100px), (max-height: 600px)");
    if (narrow.matches) filtersBox.open = false;
    narrow.addEventListener("change", function () { if (!narrow.matches) filtersBox.open = true; });
  }

  // "/" jumps to the search, unless one is typing somewhere.
  var search = document.querySelector("input[aria-keyshortcuts='/']");
  if (search) {
    document.addEventListener("keydown", function (ev) {
      if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
      var t = ev.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      if (document.querySelector("dialog[open]")) return;
      ev.preventDefault();
      var box = search.closest("details");
      if (box) box.open = true;
      search.focus();
      search.select();
    });
  }

  // The skip link lands on the first row one can start, when there is one:
  // on the row, not its Start, so the Enter that followed the link cannot
  // also press Start.
  var skip = document.querySelector("[data-skip-start]");
  if (skip) {
    skip.addEventListener("click", function (ev) {
      var form = document.querySelector("#fleet-rows form.start-form");
      var row = form && form.closest("tr");
      if (!row) return;
      ev.preventDefault();
      if (!row.hasAttribute("tabindex")) row.tabIndex = -1;
      row.focus();
    });
  }
})();
