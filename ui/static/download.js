(text, kind) => {
  // Save the draft exactly as it is in the text box now (edits included), in the browser:
  // no server round trip, so a download can never be older than the last keystroke.
  const value = (text || "").replace(/\s+$/, "");
  if (!value) return [];
  let body = value + "\n";
  let name = "回答案.txt";
  let type = "text/plain;charset=utf-8";
  if (kind === "md") {
    // Markdown: a heading, then the lines with hard line breaks kept (two trailing spaces).
    const lines = value.split(/\r\n|\r|\n/).map((l) => (l.trim() ? l.replace(/\s+$/, "") + "  " : ""));
    body = "# 回答案\n\n" + lines.join("\n").replace(/\s+$/, "") + "\n";
    name = "回答案.md";
    type = "text/markdown;charset=utf-8";
  }
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return [];
}
