// redline console: keyboard map and the CSRF header for htmx. No inline script anywhere (the
// Content-Security-Policy forbids it), so every behaviour lives here.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // Removal-order countdowns tick every second from the deadline the server rendered (UTC).
  function tick() {
    document.querySelectorAll("[data-deadline]").forEach((el) => {
      const left = Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
      const span = Math.abs(left);
      const text = `${Math.floor(span / 3600)} h ${String(Math.floor(span / 60) % 60).padStart(2, "0")} min ${String(span % 60).padStart(2, "0")} s`;
      el.textContent = left >= 0 ? `due in ${text}` : `overdue by ${text}`;
      el.classList.toggle("overdue", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", () => { tick(); setInterval(tick, 1000); });

  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // The map is a native modal <dialog>: it keeps focus inside, Esc closes it, and focus goes
  // back to where it was.
  const keymap = () => document.getElementById("keymap");
  let opener = null;
  function toggleKeymap(show) {
    const dialog = keymap();
    const open = show === undefined ? !dialog.open : show;
    if (open && !dialog.open) {
      opener = document.activeElement;
      dialog.showModal();
      dialog.querySelector("button").focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    keymap().addEventListener("close", () => { if (opener && opener.focus) opener.focus(); });
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-keymap]")) toggleKeymap(true);
    if (event.target.closest("[data-keymap-close]")) toggleKeymap(false);
  });

  const submit = (id) => { const form = document.getElementById(id); if (form) form.requestSubmit(); return !!form; };
  const hint = (text) => { const el = document.getElementById("key-hint"); if (el) el.textContent = text; };

  // Queue page: j/k move the selection, Enter opens (the row's link has focus).
  function moveSelection(step) {
    const rows = Array.from(document.querySelectorAll("tr.case-row"));
    if (!rows.length) return false;
    let at = rows.findIndex((row) => row.classList.contains("selected"));
    if (at >= 0) rows[at].classList.remove("selected");
    at = Math.max(0, Math.min(rows.length - 1, at + step));
    rows[at].classList.add("selected");
    rows[at].querySelector("a.case-link").focus();
    return true;
  }

  // Case page: a/n need a category/reason, which the reviewer picks (nothing is pre-selected);
  // when none is picked yet, the next digit picks it. A violating verdict then needs the
  // designated organisation or movement when the list is shown (0: none identified). e needs
  // a note: the note field takes the focus and Ctrl+Enter sends the form.
  let pending = null; // "violating" | "not_violating" | "designation" | null
  function decide(verdict) {
    const form = document.getElementById("decision-form");
    if (!form) return false;
    form.querySelector(`input[name="verdict"][value="${verdict}"]`).checked = true;
    const needs = { violating: "category", not_violating: "reason" }[verdict];
    if (needs && !form.elements[needs].value) {
      pending = verdict;
      hint(`Pick the ${needs} with 1-${form.elements[needs].options.length - 1}`);
      return true;
    }
    const designation = form.elements.designation;
    if (verdict === "violating" && designation && !designation.value) {
      pending = "designation";
      hint(`Pick the designated organisation or movement: 0 none identified, 1-${Math.min(9, designation.options.length - 2)} (or choose it in the list)`);
      return true;
    }
    if (verdict === "escalate" && !form.elements.note.value.trim()) {
      form.elements.note.focus();
      hint("Escalating needs a note for the lead: write it, then press Ctrl+Enter");
      return true;
    }
    form.requestSubmit();
    return true;
  }
  function pick(digit) {
    const form = document.getElementById("decision-form");
    if (!form) return false;
    if (pending === "designation") {
      const field = form.elements.designation;
      if (digit + 1 >= field.options.length) return true;
      field.selectedIndex = digit + 1; // option 1 is "none identified", digit 0
      pending = null; hint(""); decide("violating");
      return true;
    }
    if (digit === 0) return false;
    const field = form.elements[pending === "not_violating" ? "reason" : "category"];
    if (digit >= field.options.length) return true;
    field.selectedIndex = digit;
    if (pending) { const verdict = pending; pending = null; hint(""); decide(verdict); }
    else hint(`Category: ${field.value}. Press a to decide violating.`);
    return true;
  }
  // A designation the reviewer chose and asked to keep (the "keep" box) is chosen again on their
  // next cases in this tab, and the page says so: a violating verdict is then a and a category
  // digit. Only the reviewer's own earlier choice, never a suggestion; unticking forgets it.
  const KEPT = "redline.keptDesignation";
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("decision-form");
    const box = document.getElementById("keep-designation");
    if (!form || !box || !form.elements.designation) return;
    const field = form.elements.designation;
    const kept = sessionStorage.getItem(KEPT);
    if (kept && Array.from(field.options).some((option) => option.value && option.value === kept)) {
      field.value = kept;
      box.checked = true;
      const shown = field.options[field.selectedIndex].text.replace(/^\d+\. /, "");
      document.getElementById("designation-kept").textContent =
        `Designation kept from your previous decision: ${shown}. Change it, or untick "keep" to choose it each time.`;
    } else if (kept) {
      sessionStorage.removeItem(KEPT); // no longer on the list
    }
    box.addEventListener("change", () => {
      if (!box.checked) { sessionStorage.removeItem(KEPT); document.getElementById("designation-kept").textContent = ""; }
    });
    form.addEventListener("submit", () => {
      const verdict = form.querySelector('input[name="verdict"]:checked');
      if (box.checked && field.value && verdict && verdict.value === "violating") sessionStorage.setItem(KEPT, field.value);
      else if (!box.checked) sessionStorage.removeItem(KEPT);
    });
  });
  // Queue page, leads: selecting a row selects the near-identical cases folded into it.
  document.addEventListener("change", (event) => {
    const box = event.target.closest('input[type="checkbox"][form="bulk-form"]');
    if (!box) return;
    document.querySelectorAll(`input[data-twin-of="${box.value}"]`).forEach((twin) => { twin.disabled = !box.checked; });
  });
  document.addEventListener("keydown", (event) => {
    // Ctrl+Enter in the note sends the decision (an escalation's note written).
    if (event.target.id === "note" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.target.form.requestSubmit();
      event.preventDefault();
    }
  });
  function revealNext() {
    const button = document.querySelector(".reveal-form:not([data-done]) .reveal-button");
    if (!button) return false;
    button.closest("form").setAttribute("data-done", "");
    button.click();
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { pending = null; hint(""); return; } // the dialog closes itself
    const tag = (event.target.tagName || "").toLowerCase();
    // Keys are the reviewer's typing in a text field or a list; a ticked box or a chosen radio
    // button keeps the shortcuts (the "keep designation" box is ticked on the way to a verdict).
    const typing = ["textarea", "select"].includes(tag) || (tag === "input" && !["checkbox", "radio"].includes(event.target.type));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const onCase = document.body.classList.contains("case-page");
    const onQueue = document.body.classList.contains("queue-page");
    let done = false;
    if (keymap().open) { if (event.key === "?") { toggleKeymap(false); event.preventDefault(); } return; }
    if (event.key === "?") { toggleKeymap(true); done = true; }
    else if (onQueue && event.key === "j") done = moveSelection(+1);
    else if (onQueue && event.key === "k") done = moveSelection(-1);
    else if (onCase && event.key === "j") done = submit("next-form");
    else if (onQueue && event.key === "u") done = submit("undo-form");
    else if (onCase && (event.key === "k" || event.key === "q")) {
      // Back to the queue in the tab and filters the reviewer came from (the link carries them).
      const back = document.getElementById("back-link");
      window.location.assign(back ? back.href : "/queue");
      done = true;
    }
    else if (onCase && event.key === "c") done = submit("claim-form");
    else if (onCase && event.key === "u") done = submit("undo-form");
    else if (onCase && event.key === "v") done = revealNext();
    else if (onCase && event.key === "a") done = decide("violating");
    else if (onCase && event.key === "n") done = decide("not_violating");
    else if (onCase && event.key === "e") done = decide("escalate");
    else if (onCase && event.key === "s") done = decide("second_review");
    else if (onCase && event.key === "x") { const box = document.getElementById("cluster"); if (box) { box.click(); done = true; } }
    else if (onCase && /^[0-9]$/.test(event.key)) done = pick(Number(event.key));
    if (done) event.preventDefault();
  });
})();
