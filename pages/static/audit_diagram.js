// Draws the auditor's process diagram from its Mermaid text with the copy of Mermaid this site serves
// (/static/vendor); when that script is missing the text stays on the page as it is.
if (window.mermaid) {
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  window.mermaid.run({ querySelector: "pre.mermaid" });
}
