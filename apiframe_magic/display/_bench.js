// The audition bench of a batch grid (see apiframe_magic/display/_bench.py). Installed once per
// page; everything is delegated from the document, so it serves every grid (an element of class
// apiframe-bench) present or still to come, live widgets and static copies alike.
(() => {
  if (window.apiframeBench) return;
  window.apiframeBench = true;

  // What the page shows only where this script runs: the bar and the card buttons.
  const style = document.createElement("style");
  style.textContent =
    ".apiframe-bench-only{display:inline-block!important}" +
    ".apiframe-bench-bar.apiframe-bench-only{display:flex!important}" +
    ".apiframe-bench .apiframe-bench-hidden{display:none!important}";
  document.head.appendChild(style);

  const benchOf = (el) => (el && el.closest ? el.closest(".apiframe-bench") : null);
  const cards = (bench) => [...bench.querySelectorAll(".apiframe-batch-card")];
  const facts = (card) => card.querySelector("[data-card]");
  const playing = new WeakMap(); // bench -> the player last started in it

  // Loudness matching: every clip down to the quietest clip's measured loudness (a volume can
  // only attenuate), each track by the measurement of its own track.
  const matching = (bench) => {
    const box = bench.querySelector(".apiframe-bench-match");
    return box ? box.checked : true;
  };
  const lufsOf = (player) => {
    const card = player.closest(".apiframe-batch-card");
    const track = player.closest("[data-track]");
    const block = card && track &&
      card.querySelector(`.apiframe-track-analysis[data-track="${track.dataset.track}"] [data-lufs]`);
    return block ? parseFloat(block.dataset.lufs) : NaN;
  };
  const matchLoudness = (bench) => {
    const players = [...bench.querySelectorAll("audio")];
    const levels = players.map(lufsOf);
    const target = Math.min(...levels.filter(Number.isFinite));
    players.forEach((player, i) => {
      const gain = matching(bench) && Number.isFinite(levels[i]) && Number.isFinite(target)
        ? Math.pow(10, (target - levels[i]) / 20) : 1;
      player.volume = Math.min(1, gain);
      player.dataset.gainDb = (20 * Math.log10(Math.min(1, gain))).toFixed(1);
    });
  };

  // One clip at a time, at its matched loudness.
  document.addEventListener("play", (event) => {
    const bench = benchOf(event.target);
    if (!bench) return;
    matchLoudness(bench);
    for (const other of bench.querySelectorAll("audio")) {
      if (other !== event.target && !other.paused) other.pause();
    }
    playing.set(bench, event.target);
  }, true);

  // Card `number` (as its button and key say) plays from where the last clip was: the same
  // track of a card with several, else its first.
  const switchTo = (bench, number) => {
    const card = cards(bench).find((c) => {
      const f = facts(c);
      return f && f.dataset.card === String(number) && !c.classList.contains("apiframe-bench-hidden");
    });
    const players = card ? [...card.querySelectorAll("audio")] : [];
    if (!players.length) return false;
    const from = playing.get(bench);
    const track = from && from.closest("[data-track]");
    const to = players[Math.min(track ? Number(track.dataset.track) : 0, players.length - 1)];
    const at = from && from.isConnected ? from.currentTime : 0;
    if (from && from !== to) from.pause();
    playing.set(bench, to);
    const start = () => {
      if (to !== from) to.currentTime = Number.isFinite(to.duration) ? Math.min(at, to.duration) : at;
      to.play().catch(() => {});
    };
    if (to.readyState >= 1) start();
    else to.addEventListener("loadedmetadata", start, {once: true});
    return true;
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".apiframe-bench-pick");
    const bench = benchOf(button);
    if (bench) switchTo(bench, button.dataset.card);
  });

  // Keys 1 to 9: while the focus is in a grid, or the pointer is over one and no text field or
  // editor has the focus (typing in a cell is never taken).
  let hovered = null;
  document.addEventListener("pointerover", (event) => { hovered = benchOf(event.target); }, true);
  const typing = (el) => !!el && (el.isContentEditable || /^(TEXTAREA|SELECT)$/.test(el.tagName) ||
    (el.tagName === "INPUT" && !/^(checkbox|radio|button|range)$/.test(el.type)));
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !/^[1-9]$/.test(event.key)) return;
    const focus = document.activeElement;
    if (typing(focus)) return;
    const bench = benchOf(focus) || (hovered && hovered.isConnected ? hovered : null);
    if (bench && switchTo(bench, event.key)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // Sort and filter: CSS order and a hiding class, so no player is moved or redrawn.
  const value = (card, key) => {
    const f = facts(card);
    const raw = f ? f.dataset[key] : undefined;
    if (raw === undefined || raw === "") return null;
    return key === "model" || key === "key" ? raw : Number(raw);
  };
  const arrange = (bench) => {
    const bar = bench.querySelector(".apiframe-bench-bar");
    const [key, down] = bar.querySelector(".apiframe-bench-sort").value.split(" ");
    const show = bar.querySelector(".apiframe-bench-show").value;
    const text = bar.querySelector(".apiframe-bench-filter").value.trim().toLowerCase();
    const rows = cards(bench).map((card, i) => ({card, i, v: key ? value(card, key) : i}));
    rows.sort((a, b) => {
      if (a.v === b.v) return a.i - b.i;
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      const order = a.v < b.v ? -1 : 1;
      return down ? -order : order;
    });
    rows.forEach(({card}, n) => {
      card.style.order = String(n);
      const f = facts(card);
      const cut = show.indexOf(":");
      const hide = (show && !(f && f.dataset[show.slice(0, cut)] === show.slice(cut + 1))) ||
        (text && !card.textContent.toLowerCase().includes(text));
      card.classList.toggle("apiframe-bench-hidden", !!hide);
    });
  };
  const changed = (event) => {
    const bench = benchOf(event.target);
    if (!bench || !event.target.closest(".apiframe-bench-bar")) return;
    if (event.target.classList.contains("apiframe-bench-match")) matchLoudness(bench);
    else arrange(bench);
  };
  document.addEventListener("input", changed, true);
  document.addEventListener("change", changed, true);
})();
