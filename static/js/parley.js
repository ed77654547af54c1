// Parley's progressive enhancements: live replies, kudos without reload and the
// live notification badge. Every page works without this file.
(function () {
  "use strict";

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error?.message || `Request failed (${response.status})`);
    return data;
  }

  function setKudos(postId, count) {
    document.querySelectorAll(`.kudos-count[data-post-id="${postId}"]`).forEach((el) => {
      el.textContent = String(count);
    });
  }

  function setBadge(unread) {
    const badge = document.getElementById("unread-badge");
    if (!badge) return;
    badge.textContent = String(unread);
    badge.dataset.count = String(unread);
    badge.classList.toggle("hidden", !unread);
  }

  // Kudos: toggle through the JSON API, keep the form as the no-JS fallback.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest(".kudos-form");
    if (!form) return;
    event.preventDefault();
    const postId = form.dataset.postId;
    const action = form.querySelector('input[name="action"]');
    const button = form.querySelector("button");
    const giving = action.value !== "withdraw";
    button.disabled = true;
    try {
      const data = await api(giving ? "POST" : "DELETE", `/api/v1/posts/${postId}/kudos`);
      setKudos(postId, data.kudos);
      action.value = data.given ? "withdraw" : "give";
      button.classList.toggle("given", data.given);
      button.setAttribute("aria-pressed", data.given ? "true" : "false");
    } catch (error) {
      window.alert(error.message);
    } finally {
      button.disabled = false;
    }
  });

  // Live updates.
  if (typeof window.io !== "function") return;
  const socket = window.io({ transports: ["websocket", "polling"] });
  window.parley = { socket };
  const threadEl = document.getElementById("thread");
  const threadId = threadEl ? Number(threadEl.dataset.threadId) : null;

  socket.on("connect", () => {
    if (threadId) socket.emit("join_thread", { thread_id: threadId });
  });
  socket.on("notifications", (data) => setBadge(data.unread));
  socket.on("kudos_changed", (data) => setKudos(data.post_id, data.kudos_count));

  socket.on("post_created", async (data) => {
    if (!threadId || data.thread_id !== threadId) return;
    if (document.getElementById(`post-${data.post_id}`)) return;
    if (threadEl.dataset.lastPage !== "true") {
      document.getElementById("new-replies")?.classList.remove("hidden");
      return;
    }
    const response = await fetch(`/posts/${data.post_id}/fragment`, { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const post = holder.firstElementChild;
    if (!post || document.getElementById(post.id)) return;
    post.classList.add("arrived");
    document.getElementById("replies")?.appendChild(post);
  });

  socket.on("answer_changed", (data) => {
    if (!threadId || data.thread_id !== threadId) return;
    const notice = document.getElementById("new-replies");
    if (notice) {
      notice.querySelector("a").textContent = "The accepted solution changed — reload to see it";
      notice.querySelector("a").href = window.location.pathname;
      notice.classList.remove("hidden");
    }
  });
})();
