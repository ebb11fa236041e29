// Solara embeds this file in the dashboard's page (figure.py adds its folder to Solara's asset folders).
// The figures import plotly's bundle by URL (figure.py). Fetch it with the page and run it once the page is idle,
// so that the first figure does not wait for it.
{
  const bundle = `${window.location.origin}${window.solara?.rootPath ?? ""}/static/assets/widgetbundle.js`;
  document.head.appendChild(Object.assign(document.createElement("link"), {rel: "modulepreload", href: bundle}));
  window.addEventListener("load", () => requestIdleCallback(() => import(bundle)));
}
