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

    document.querySelectorAll("[data-init-disk]").forEach(function (box) {
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
        reasonInput.required = !!(rowReason && rowReason.required);
        submit.textContent = needs ? t("request_wipe") : t("wipe_start");
        submit.disabled = true;
        input.value = "";
        err.textContent = "";
        dialog.showModal();
        input.focus();
      });
    });

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
          document.body.classList.remove("has-toasts");
          var target = document.querySelector("tr:target") || document.getElementById("main");
          if (target) { if (!target.hasAttribute("tabindex")) target.tabIndex = -1; target.focus({ preventScroll: true }); }
        }
      });
      f.appendChild(b);
    });
  }

  // One click, one start: disable a start button once its form is sent.
  document.querySelectorAll("form.start-form").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      var b = ev.submitter || f.querySelector("button[type=submit]");
      if (b && !b.hasAttribute("formaction")) { b.disabled = true; b.textContent = t("starting"); }
    });
  });

  // Live status: poll rows that are on their way somewhere, with backoff.
  // Batch start: "Select all on this page" and the count on the button.
  var batch = document.getElementById("batch-form");
  if (batch) {
    var picks = document.querySelectorAll("input[data-pick]");
    var all = batch.querySelector("[data-select-all]");
    var batchSubmit = batch.querySelector("[data-batch-submit]");
    var count = function () {
      var n = 0;
      picks.forEach(function (p) { if (p.checked) n++; });
      batchSubmit.textContent = t("start_selected", { n: n });
      batchSubmit.disabled = n === 0;
    };
    batch.querySelectorAll(".js-only").forEach(function (e) { e.hidden = false; });
    all.addEventListener("change", function () {
      picks.forEach(function (p) { p.checked = all.checked; });
      count();
    });
    picks.forEach(function (p) { p.addEventListener("change", count); });
    count();
  }

  var live = document.querySelectorAll("tr[data-live]");
  live.forEach(function (row) {
    var url = row.getAttribute("data-status-url");
    var delay = 1000;
    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s) {
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
})();
