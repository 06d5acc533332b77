() => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = (c) => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  const over = (top, a, under) => ({ r: top.r * a + under.r * (1 - a), g: top.g * a + under.g * (1 - a), b: top.b * a + under.b * (1 - a) });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255 };
    for (const l of layers.reverse()) bg = over(l, l.a, bg);
    return bg;
  };
  const ratio = (fg, bg) => { const a = lum(fg), b = lum(bg); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const out = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode()); ) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[disabled], [aria-hidden='true'], .katex, script, style")) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden") continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    if (opacity === 0) continue;
    const fg = parse(cs.color);
    const bg = background(el);
    const shown = over(fg, fg.a * opacity, bg);
    const spread = Math.max(fg.r, fg.g, fg.b) - Math.min(fg.r, fg.g, fg.b);
    out.push({ text: text.slice(0, 30), ratio: Math.round(ratio(shown, bg) * 100) / 100, grey: spread < 40, color: cs.color, cls: String(el.className).slice(0, 60), kind: "text" });
  }
  for (const box of document.querySelectorAll("textarea[placeholder], input[placeholder]")) {
    if (box.value || !box.getAttribute("placeholder")) continue;
    const r = box.getBoundingClientRect();
    if (r.width === 0) continue;
    const fg = parse(getComputedStyle(box, "::placeholder").color);
    const bg = background(box);
    out.push({ text: box.getAttribute("placeholder").slice(0, 30), ratio: Math.round(ratio(over(fg, fg.a, bg), bg) * 100) / 100, grey: true, color: getComputedStyle(box, "::placeholder").color, cls: "placeholder", kind: "placeholder" });
  }
  return out;
}
