// The help flow (/help) and "your question may already be answered" while a
// member types a new question's title. Both pages work without this file, but
// only this script counts "This solved my problem": it sends the page's token,
// which robots that do not run scripts never have.
(function () {
  "use strict";

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  function debounce(fn, wait) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), wait);
    };
  }

  async function postJSON(url, body, headers) {
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
          ...headers,
        },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      return { ok: response.ok, data };
    } catch (error) {
      return { ok: false, data: { error: { message: "No connection; please try again." } } };
    }
  }

  // Snippets are escaped text whose only markup is <mark>; keep exactly that.
  function renderSnippet(target, html) {
    const doc = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
    for (const node of doc.body.firstChild.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        target.append(mark);
      } else {
        target.append(node.textContent);
      }
    }
  }

  // ---- /help --------------------------------------------------------------
  const help = document.getElementById("help");
  if (help) {
    const input = document.getElementById("help-q");
    const box = document.getElementById("help-suggestions");
    const caseForm = document.getElementById("case-form");
    const subject = document.getElementById("subject");
    let shown = input.value.trim();
    let pending = null;

    const refresh = debounce(async () => {
      const q = input.value.trim();
      if (q === shown) return;
      shown = q;
      document.querySelectorAll(".problem-copy").forEach((el) => { el.value = q; });
      if (caseForm) caseForm.elements.query.value = q;
      if (subject && !subject.dataset.edited) subject.value = q.slice(0, 200);
      if (q.length < 3) {
        box.textContent = "";
        return;
      }
      pending?.abort();
      pending = new AbortController();
      try {
        const url = `${help.dataset.suggestionsUrl}?q=${encodeURIComponent(q)}`;
        const response = await fetch(url, { credentials: "same-origin", signal: pending.signal });
        // The fragment comes from our own access-checked route (no scripts in it).
        if (response.ok && q === input.value.trim()) box.innerHTML = await response.text();
      } catch (error) {
        if (error.name !== "AbortError") console.warn("help suggestions:", error);
      }
    }, 250);

    input.addEventListener("input", refresh);
    input.form.addEventListener("submit", (event) => {
      event.preventDefault();
      shown = null;
      refresh();
    });
    subject?.addEventListener("input", () => { subject.dataset.edited = "1"; });

    box.addEventListener("submit", async (event) => {
      const form = event.target.closest(".solved-form");
      if (!form) return;
      event.preventDefault();
      const suggestion = form.closest(".suggestion");
      const note = suggestion.querySelector(".solved-note");
      const button = form.querySelector("button");
      button.disabled = true;
      const result = await postJSON(
        "/api/v1/help/deflections",
        { query: form.elements.q.value || input.value.trim(), thread_id: Number(form.elements.thread_id.value) },
        { "X-Help-Token": help.dataset.helpToken },
      );
      note.classList.remove("hidden");
      if (result.ok) {
        note.textContent = "Glad that helped! Thank you for letting us know.";
        suggestion.classList.add("confirmed");
      } else {
        note.textContent = result.data.error?.message || "Something went wrong; please try again.";
        button.disabled = false;
      }
    });

    box.addEventListener("click", (event) => {
      const still = event.target.closest(".still-button");
      if (!still) return;
      event.preventDefault();
      if (caseForm) caseForm.elements.thread_id.value = still.dataset.threadId;
      const panel = document.getElementById("still-need-help");
      panel.classList.add("open");
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
      document.getElementById("description")?.focus({ preventScroll: true });
    });

    caseForm?.addEventListener("submit", async (event) => {
      event.preventDefault();
      caseForm.querySelectorAll(".error.live").forEach((el) => el.remove());
      const fields = caseForm.elements;
      const body = {
        subject: fields.subject.value,
        description: fields.description.value,
        query: fields.query.value,
        thread_id: fields.thread_id.value ? Number(fields.thread_id.value) : null,
      };
      if (fields.email) body.email = fields.email.value;
      const button = caseForm.querySelector("button[type=submit]");
      button.disabled = true;
      const result = await postJSON("/api/v1/help/cases", body, {});
      button.disabled = false;
      if (result.ok) {
        const done = document.getElementById("case-result");
        const opened = document.createElement("p");
        const reference = document.createElement("strong");
        reference.className = "case-reference";
        reference.textContent = result.data.reference;
        opened.append("Your support case is open. Your reference is ", reference, ".");
        const contact = document.createElement("p");
        contact.textContent = `Support will answer you at ${result.data.email}.`;
        done.replaceChildren(opened, contact);
        done.classList.remove("hidden");
        caseForm.classList.add("hidden");
        return;
      }
      const errors = result.data.error?.fields || {};
      for (const [name, message] of Object.entries(errors)) {
        const field = fields[name]?.closest?.(".field");
        if (!field) continue;
        const error = document.createElement("p");
        error.className = "error live";
        error.textContent = message;
        field.append(error);
      }
      if (!Object.keys(errors).length) window.alert(result.data.error?.message || "Please try again.");
    });
  }

  // ---- similar questions while typing a new question's title ---------------
  const similar = document.getElementById("similar");
  if (similar) {
    const title = document.getElementById("title");
    const list = similar.querySelector("ul");
    let shown = "";
    const lookup = debounce(async () => {
      const q = title.value.trim();
      if (q === shown) return;
      shown = q;
      if (q.length < 8) {
        similar.classList.add("hidden");
        list.replaceChildren();
        return;
      }
      let data;
      try {
        const url = `${similar.dataset.similarUrl}?q=${encodeURIComponent(q)}`;
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        data = await response.json();
      } catch (error) {
        return;
      }
      if (q !== title.value.trim()) return;
      const items = data.items.map((item) => {
        const li = document.createElement("li");
        li.className = "similar-item";
        const link = document.createElement("a");
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = item.title;
        li.append(link);
        if (item.solved) {
          const pill = document.createElement("span");
          pill.className = "pill pill-solved";
          pill.textContent = "✓ Solved";
          li.append(" ", pill);
        }
        if (item.snippet) {
          const snippet = document.createElement("p");
          snippet.className = "snippet";
          renderSnippet(snippet, item.snippet);
          li.append(snippet);
        }
        return li;
      });
      list.replaceChildren(...items);
      similar.classList.toggle("hidden", items.length === 0);
    }, 300);
    title.addEventListener("input", lookup);
    if (title.value.trim()) lookup();
  }
})();
