// The console works without this script; it only makes some things quicker:
// the errors of a form take the focus, "/" jumps to the search, and a custom field row
// can be added without saving first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Errors of a sent form, or a save that lost a race: read them first.
  const problems = document.getElementById("problems");
  if (problems) {
    problems.focus();
  }

  // "/" focuses the first search box, as on many sites, unless typing in a field.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName))) return;
    const search = document.querySelector("[role=search] input[type=text]");
    if (search) {
      e.preventDefault();
      search.focus();
    }
  });

  // Another custom field row: a copy of the last one, emptied and numbered on.
  const rows = document.querySelector("[data-rows]");
  if (rows) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Add another custom field";
    button.addEventListener("click", () => {
      const all = rows.querySelectorAll("[data-row]");
      const last = all[all.length - 1];
      const row = last.cloneNode(true);
      const n = all.length; // rows are numbered from 0
      row.querySelector("legend").textContent = "Custom field " + (n + 1);
      row.querySelectorAll(".error, .note").forEach((el) => el.remove());
      row.querySelectorAll(".field").forEach((el) => el.classList.remove("invalid"));
      row.querySelectorAll("input, label").forEach((el) => {
        for (const attr of ["name", "id", "for"]) {
          const v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace(/fields(\[|-)\d+/, (m, sep) => "fields" + sep + n));
        }
        if (el.tagName === "INPUT") {
          el.value = "";
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
        }
      });
      rows.appendChild(row);
      row.querySelector("input").focus();
    });
    rows.after(button);
  }
});
