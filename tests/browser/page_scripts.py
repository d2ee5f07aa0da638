"""JavaScript that the browser tests run in the JupyterLab page (``page.evaluate``).

The tests drive JupyterLab through its own application object, which
``--LabApp.expose_app_in_browser`` puts in ``window.jupyterapp``, and read the
rendered page (the DOM) for what a learner sees. Each script is one arrow
function; its argument and result are plain JSON.
"""

#: Wait until the notebook at ``path`` is open with a kernel; make it the current tab.
OPEN_NOTEBOOK = """
async ({path, timeoutMs}) => {
  const app = window.jupyterapp;
  await app.restored;
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let panel = null;
  while (!panel && Date.now() < deadline) {
    for (const w of app.shell.widgets('main')) {
      if (w.context && w.context.path === path && w.sessionContext) { panel = w; }
    }
    if (!panel) { await sleep(100); }
  }
  if (!panel) { return {error: `the notebook ${path} did not open`}; }
  app.shell.activateById(panel.id);
  await panel.context.ready;
  await panel.sessionContext.ready;
  while (Date.now() < deadline) {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (kernel && kernel.status === 'idle') {
      return {kernel: kernel.name, cells: panel.content.widgets.length};
    }
    await sleep(100);
  }
  return {error: 'the kernel did not start'};
}
"""

#: Clear every output, then start "Run All Cells" (not awaited: RUN_STATE polls it).
#: Returns the number of code cells that still had an output or an execution count
#: after the clear (0, or the stored outputs could pass for fresh ones).
CLEAR_AND_RUN_ALL = """
async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  const notCleared = app.shell.currentWidget.content.widgets.filter(
    (c) => c.model.type === 'code' &&
           (c.model.outputs.length > 0 || c.model.executionCount !== null)).length;
  if (notCleared > 0) { return notCleared; }
  // Every status the kernel goes through from now on: a kernel that dies is restarted
  // by the server at once, and "idle" again would hide it.
  window.__e2eStatuses = [];
  app.shell.currentWidget.sessionContext.statusChanged.connect(
    (_, status) => { window.__e2eStatuses.push(status); });
  window.__e2eRunAll = {done: false, result: null};
  app.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__e2eRunAll = {done: true, result: String(ok)}; },
    (err) => { window.__e2eRunAll = {done: true, result: 'error: ' + err}; });
  return 0;
}
"""

#: Is "Run All" finished: the command resolved, no cell running, the kernel idle?
RUN_STATE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const running = panel.content.widgets.filter(
    (c) => c.model.type === 'code' && c.model.executionState === 'running').length;
  return {commandDone: window.__e2eRunAll.done, result: window.__e2eRunAll.result,
          kernel: kernel ? kernel.status : 'none', running,
          statuses: window.__e2eStatuses || []};
}
"""

#: True when every image in the notebook has finished loading (or failed to).
IMAGES_SETTLED = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel img')).every((i) => i.complete)
"""

#: What the page shows for each cell, read from the notebook model and the DOM.
CELL_REPORT = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const WIDGET = 'application/vnd.jupyter.widget-view+json';
  const size = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const source = model.sharedModel.getSource();
    const entry = {index, type: model.type, tags: model.getMetadata('tags') || [],
                   blank: source.trim() === '', head: source.trim().split('\\n')[0]};
    if (model.type === 'markdown') {
      entry.images = Array.from(cell.node.querySelectorAll('.jp-RenderedMarkdown img')).map(
        (img) => ({src: new URL(img.src, document.baseURI).pathname, complete: img.complete,
                   natural: [img.naturalWidth, img.naturalHeight], shown: size(img)}));
      // The pictures the source asks for ("![", "<img"), code spans and blocks left out:
      // a link broken across lines ("![alt]" then "(path)") renders as text, not <img>.
      const prose = source.replace(/```[\\s\\S]*?```/g, '').replace(/`[^`\\n]*`/g, '');
      entry.intendedImages = (prose.match(/!\\[|<img\\b/gi) || []).length;
      const rendered = cell.node.querySelector('.jp-RenderedMarkdown');
      const text = rendered ? rendered.innerText : '';
      const raw = text.indexOf('![');
      entry.rawImageText = raw >= 0 ? text.slice(raw, raw + 80).replace(/\\s+/g, ' ') : '';
      return entry;
    }
    if (model.type !== 'code') { return entry; }
    entry.executionCount = model.executionCount;
    entry.inputHidden = Boolean(cell.inputHidden);  // a collapsed solution shows no prompt
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    entry.prompt = prompt ? prompt.textContent.trim() : '';
    const outputs = [];
    for (let i = 0; i < model.outputs.length; i++) { outputs.push(model.outputs.get(i).toJSON()); }
    entry.errors = outputs.filter((o) => o.output_type === 'error').map(
      (o) => `${o.ename}: ${o.evalue}`);
    entry.widgetOutputs = outputs.filter((o) => o.data && o.data[WIDGET]).length;
    entry.imageOutputs = outputs.filter(
      (o) => o.data && (o.data['image/png'] || o.data['image/svg+xml'])).length;
    const area = cell.node.querySelector('.jp-Cell-outputArea');
    const top = area ? Array.from(area.querySelectorAll(
      ':scope > .jp-OutputArea-child > .jp-OutputArea-output')) : [];
    entry.renderedWidgets = top.filter(
      (o) => o.querySelector(':scope > .jupyter-widgets') &&
             !o.querySelector('.jupyter-widgets-error-widget') &&
             !o.textContent.includes('Error displaying widget')).length;
    // A widget that failed shows "Error displaying widget..."; one whose model never
    // arrives stays at "Loading widget...".
    entry.widgetErrors = area ? Array.from(area.querySelectorAll('.jp-OutputArea-output')).map(
      (o) => o.textContent.trim()).filter(
      (t) => t.startsWith('Error displaying widget') || t === 'Loading widget...') : [];
    // ipywidgets 8 shows a widget whose view cannot be made as an "error widget".
    if (area && area.querySelector('.jupyter-widgets-error-widget')) {
      entry.widgetErrors.push("ipywidgets' error widget (a view that could not be made)");
    }
    // Every figure in the cell, top level or inside a widget (a lab's Output).
    entry.figures = area ? Array.from(area.querySelectorAll(
      '.jp-RenderedImage img, .jp-RenderedSVG svg')).map((el) => ({
        tag: el.tagName.toLowerCase(), complete: el.tagName !== 'IMG' || el.complete,
        natural: el.tagName === 'IMG' ? [el.naturalWidth, el.naturalHeight] : size(el),
        shown: size(el)})) : [];
    entry.topFigures = top.filter(
      (o) => o.matches('.jp-RenderedImage, .jp-RenderedSVG')).length;
    return entry;
  });
}
"""

#: Find the lab panels (built by ipc_helpers.labs.panel.make_panel) and tag them.
#: A panel is a VBox: an HTML <h3> title, the controls, an HBox with the Run
#: button and a status line, then an Output. Returns [{title, controls}].
MARK_PANELS = """
() => {
  const panels = Array.from(document.querySelectorAll(
    '.jp-NotebookPanel .jp-Cell-outputArea .widget-vbox')).filter((box) => {
      const kids = Array.from(box.children);
      const n = kids.length;
      return n >= 4 && kids[0].matches('.widget-html') && kids[0].querySelector('h3') &&
        kids[n - 1].matches('.widget-output') && kids[n - 2].matches('.widget-hbox') &&
        kids[n - 2].querySelector(':scope > button.widget-button');
    });
  return panels.map((box, p) => {
    box.setAttribute('data-e2e-panel', String(p));
    const kids = Array.from(box.children);
    const controls = kids.slice(1, kids.length - 2);
    controls.forEach((c, i) => c.setAttribute('data-e2e-control', String(i)));
    return {title: kids[0].textContent.trim(),
            controls: controls.map((c) => {
              const label = c.querySelector('.widget-label');
              return {label: label ? label.textContent.trim() : '', classes: c.className};
            })};
  });
}
"""

#: The state a learner sees in one control (to tell whether a change took).
CONTROL_STATE = """
(el) => JSON.stringify({
  values: Array.from(el.querySelectorAll('input, select')).map(
    (i) => (i.type === 'checkbox' || i.type === 'radio') ? i.checked : i.value),
  sliders: Array.from(el.querySelectorAll('[aria-valuenow]')).map(
    (h) => h.getAttribute('aria-valuenow')),
  active: Array.from(el.querySelectorAll('button')).map((b) => b.classList.contains('mod-active')),
  readout: Array.from(el.querySelectorAll('.widget-readout')).map((r) => r.textContent),
  self: el.classList.contains('mod-active'),
})
"""

#: What a panel shows: the text and figures of its Output, its status line, its button.
PANEL_STATE = """
(box) => {
  const kids = box.children;
  const out = kids[kids.length - 1];
  const row = kids[kids.length - 2];
  return {text: out.innerText,
          images: Array.from(out.querySelectorAll('img')).map((i) => i.src),
          figures: Array.from(out.querySelectorAll('img')).map((i) => ({
            complete: i.complete, natural: [i.naturalWidth, i.naturalHeight],
            shown: [i.getBoundingClientRect().width, i.getBoundingClientRect().height]})),
          status: row.querySelector('.widget-html-content') ?
            row.querySelector('.widget-html-content').textContent.trim() : '',
          disabled: row.querySelector('button').disabled};
}
"""

#: Watch the panel's Run button: make_panel disables it while the lab runs.
WATCH_BUTTON = """
(box) => {
  const button = box.children[box.children.length - 2].querySelector('button');
  box.__e2eSawDisabled = false;
  const observer = new MutationObserver((records) => {
    // oldValue null: the attribute was absent, so this record is the button being disabled.
    if (records.some((r) => r.oldValue === null)) { box.__e2eSawDisabled = true; }
  });
  observer.observe(button, {attributes: true, attributeFilter: ['disabled'],
                            attributeOldValue: true});
  box.__e2eObserver = observer;
}
"""

#: True once the Run button was disabled and is enabled again (the lab finished).
RUN_FINISHED = """
(box) => {
  const button = box.children[box.children.length - 2].querySelector('button');
  const done = box.__e2eSawDisabled && !button.disabled &&
    Array.from(box.querySelectorAll('img')).every((i) => i.complete);
  if (done) { box.__e2eObserver.disconnect(); }
  return done;
}
"""

#: True when the kernel is idle.
KERNEL_IDLE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.status === 'idle';
}
"""

#: [height of the notebook's content, height of the page around the notebook's view].
NOTEBOOK_HEIGHT = """
() => {
  const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  return [scroller.scrollHeight, window.innerHeight - scroller.clientHeight];
}
"""

#: Scroll the notebook to ``top`` pixels from its start.
SCROLL_NOTEBOOK = """
(top) => { document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer').scrollTop = top; }
"""

#: Every link a learner can click in the rendered markdown (the headings' own "¶"
#: anchors left out): its text, the href written in the notebook, the URL the page
#: resolved it to (JupyterLab turns a relative file link into the server's
#: ``/files/...`` URL), and for a link to a place in this page whether it exists.
LINKS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'markdown') { return; }
    const source = cell.model.sharedModel.getSource();
    const head = source.trim().split('\\n')[0];
    for (const a of cell.node.querySelectorAll('.jp-RenderedMarkdown a[href]')) {
      if (a.classList.contains('jp-InternalAnchorLink')) { continue; }
      // JupyterLab rewrites a file link's href: the notebook's own words come from the source.
      const text = a.textContent.trim();
      const inSource = source.split('[' + text + '](')[1];
      const written = inSource !== undefined ? inSource.split(')')[0] : a.getAttribute('href');
      const url = new URL(a.href, document.baseURI);
      const here = a.getAttribute('href').startsWith('#');
      const id = here ? decodeURIComponent(a.getAttribute('href').slice(1)) : '';
      found.push({index, head, text: text.slice(0, 60), written,
                  url: url.href, sameOrigin: url.origin === location.origin, here,
                  targetExists: here ? document.getElementById(id) !== null : null,
                  unresolved: a.getAttribute('href') === ''});
    }
  });
  return found;
}
"""

#: The notebook's sections (a level-1 or level-2 heading starts one), each with its
#: place in the notebook's scrolled content and what it shows: figures (images and
#: SVG in outputs and markdown) and lab panels (marked by MARK_PANELS).
SECTIONS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  const origin = scroller.getBoundingClientRect().top - scroller.scrollTop;
  const sections = [];
  for (const cell of panel.content.widgets) {
    const heading = cell.model.type === 'markdown' &&
      cell.node.querySelector('.jp-RenderedMarkdown h1, .jp-RenderedMarkdown h2');
    if (heading || sections.length === 0) {
      sections.push({title: heading ? heading.textContent.replace('¶', '').trim() : '',
                     top: cell.node.getBoundingClientRect().top - origin, figures: 0, labs: 0});
    }
    const current = sections[sections.length - 1];
    current.figures += cell.node.querySelectorAll(
      '.jp-RenderedImage img, .jp-RenderedSVG svg, .jp-RenderedMarkdown img').length;
    current.labs += cell.node.querySelectorAll('[data-e2e-panel]').length;
    current.bottom = cell.node.getBoundingClientRect().bottom - origin;
  }
  return sections;
}
"""

#: The first dask dashboard address shown in an output (a link or text): the port of
#: ``http://127.0.0.1:PORT/status`` or of a proxied ``/proxy/PORT/status``; or null.
DASHBOARD_PORT = """
() => {
  const pattern = /(?:\\/proxy\\/(\\d+)|(?:127\\.0\\.0\\.1|localhost):(\\d+))\\/status/;
  for (const area of document.querySelectorAll('.jp-NotebookPanel .jp-Cell-outputArea')) {
    const hrefs = Array.from(area.querySelectorAll('a[href]')).map((a) => a.href);
    for (const text of [...hrefs, area.innerText]) {
      const m = pattern.exec(text);
      if (m) { return Number(m[1] || m[2]); }
    }
  }
  return null;
}
"""

#: The number of <canvas> elements in the page, inside shadow roots too (Bokeh 3, which
#: draws the dask dashboard, renders its plots in shadow DOM).
CANVASES = """
() => {
  let count = 0;
  const walk = (root) => {
    count += root.querySelectorAll('canvas').length;
    for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) { walk(el.shadowRoot); } }
  };
  walk(document);
  return count;
}
"""
