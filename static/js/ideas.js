// Ideas: similar ideas while typing a title, and live vote counts and statuses.
(function () {
  "use strict";

  // Similar ideas: a debounced lookup as the customer types the title.
  const panel = document.getElementById("similar-ideas");
  const input = panel && document.querySelector(panel.dataset.input);
  if (panel && input) {
    let timer = null;
    let last = "";
    const list = panel.querySelector("ul");
    const lookUp = async () => {
      const q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 4) {
        panel.classList.add("hidden");
        return;
      }
      const response = await fetch(`${panel.dataset.source}?q=${encodeURIComponent(q)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok || input.value.trim() !== q) return;
      const data = await response.json();
      list.replaceChildren(
        ...data.items.map((idea) => {
          const item = document.createElement("li");
          const link = document.createElement("a");
          link.href = idea.url;
          link.textContent = idea.title;
          const votes = document.createElement("span");
          votes.className = "votes";
          votes.textContent = ` · ${idea.votes} vote${idea.votes === 1 ? "" : "s"} · ${idea.status.replace("_", " ")}`;
          item.append(link, votes);
          return item;
        }),
      );
      panel.classList.toggle("hidden", data.items.length === 0);
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(lookUp, 250);
    });
    lookUp();
  }

  // Live counts: join the rooms of the ideas on this page.
  const shown = [...document.querySelectorAll("[data-idea-id]")]
    .map((el) => Number(el.dataset.ideaId))
    .filter((id, index, all) => id && all.indexOf(id) === index);
  const socket = window.parley && window.parley.socket;
  if (!socket || shown.length === 0) return;
  const join = () => socket.emit("join_ideas", { idea_ids: shown });
  if (socket.connected) join();
  socket.on("connect", join);
  socket.on("idea_votes", (data) => {
    document.querySelectorAll(`.vote-count[data-idea-id="${data.idea_id}"]`).forEach((el) => {
      el.textContent = String(data.votes);
    });
  });
  socket.on("idea_status", (data) => {
    document.querySelectorAll(`[data-idea-status="${data.idea_id}"]`).forEach((el) => {
      el.textContent = data.label;
      el.className = `status status-${data.status}`;
    });
  });
})();
