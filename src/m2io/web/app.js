// The m2io page: ask, read the streamed answer (text first, then the placed images), show sources.
"use strict";

const $ = (id) => document.getElementById(id);
let chosenImage = null;

function authHeaders() {
  const token = $("token").value.trim();
  return token ? { Authorization: "Bearer " + token } : {};
}

// Text between two placed images is one paragraph; slot s means "after segment s". Each paragraph knows the
// sources (indices into the answer's source list) its sentences came from.
function blocks(segments, placements, provenance) {
  const bySlot = new Map();
  for (const p of placements) {
    if (!bySlot.has(p.slot)) bySlot.set(p.slot, []);
    bySlot.get(p.slot).push(p);
  }
  const out = [];
  let para = [], refs = new Set();
  const flush = () => {
    if (para.length) out.push({ text: para.join(" "), refs: [...refs].sort((a, b) => a - b) });
    para = []; refs = new Set();
  };
  for (let slot = 0; slot <= segments.length; slot++) {
    if (slot > 0) {
      para.push(segments[slot - 1]);
      const origin = (provenance || [])[slot - 1];
      if (origin && origin.source !== null && origin.source !== undefined) refs.add(origin.source);
    }
    const images = bySlot.get(slot) || [];
    if (images.length) {
      flush();
      for (const p of images) out.push({ image: p });
    }
  }
  flush();
  return out;
}

async function loadImage(img, url) {
  // Fetched with the token (an <img src> cannot send one), then shown from a blob URL.
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw new Error("image " + response.status);
  img.src = URL.createObjectURL(await response.blob());
}

function renderAnswer(segments, placements, pending, provenance, sources) {
  const article = $("answer");
  article.replaceChildren();
  for (const block of blocks(segments, placements, provenance)) {
    if (block.text !== undefined) {
      const p = document.createElement("p");
      p.textContent = block.text;
      for (const n of block.refs) {
        const sup = document.createElement("sup");
        sup.className = "ref";
        sup.textContent = String(n + 1);
        const source = (sources || [])[n];
        if (source) sup.title = source.label || source.doc_id;
        p.append(sup);
      }
      article.append(p);
    } else {
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.alt = block.image.caption || block.image.image_id;
      img.dataset.imageId = block.image.image_id;
      const caption = document.createElement("figcaption");
      caption.textContent = block.image.caption || "";
      figure.append(img, caption);
      article.append(figure);
      if (block.image.url) loadImage(img, block.image.url).catch((e) => { caption.textContent += " (" + e.message + ")"; });
    }
  }
  if (pending) {
    const note = document.createElement("p");
    note.className = "pending";
    note.textContent = "placing images…";
    article.append(note);
  }
}

function renderDetails(answer) {
  $("details").hidden = false;
  $("sources").replaceChildren(...answer.sources.map((s) => {
    const li = document.createElement("li");
    const b = document.createElement("b");
    b.textContent = s.label || s.doc_id;
    b.title = s.doc_id;
    li.append(b);
    if (s.in_answer) {
      const used = document.createElement("em");
      used.textContent = " (in the answer)";
      li.append(used);
    }
    li.append(document.createTextNode(" — " + s.snippet));
    return li;
  }));
  $("timings").replaceChildren(...Object.entries(answer.timings_ms).map(([stage, ms]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td>";
    tr.children[0].textContent = stage;
    tr.children[1].textContent = Math.round(ms) + " ms";
    return tr;
  }));
  $("meta").textContent = `inserter ${answer.inserter}, answerer ${answer.answerer}; ${answer.model_calls} model call(s), ` +
    `${answer.tokens_generated} tokens generated` + (answer.fallback ? "; r1 fell back to rule" : "") +
    `; ${answer.placements.length} of ${answer.candidates.length} images placed`;
}

// A refused request as an error naming its status and the server's detail.
async function failOnError(response) {
  if (response.ok) return;
  const body = await response.json().catch(() => ({}));
  throw new Error(response.status + ": " + (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)));
}

// Server-sent events from a POST: read the body stream and split it into events.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = (raw.match(/^event: (.*)$/m) || [])[1];
      const data = (raw.match(/^data: (.*)$/m) || [])[1];
      if (event && data) yield { event, data: JSON.parse(data) };
    }
  }
}

// A unified answer: text steps, retrieved figures it refers to, and drawn images; where a corpus
// figure matched a drawn image, it is shown with the drawn image beside it. A partial answer (the
// passage windows written so far) ends with a note that the rest is being written.
function renderUnified(answer) {
  const article = $("answer");
  article.replaceChildren();
  for (const step of answer.steps) {
    if (step.kind === "text") {
      const p = document.createElement("p");
      p.textContent = step.text;
      article.append(p);
      continue;
    }
    if (step.kind === "reference") {
      const figure = document.createElement("figure");
      const caption = document.createElement("figcaption");
      const f = step.figure;
      caption.textContent = f.caption || f.image_id;
      if (f.url) {
        const real = document.createElement("img");
        real.alt = f.caption || f.image_id;
        figure.append(real);
        loadImage(real, f.url).catch((e) => { caption.textContent += " (" + e.message + ")"; });
      }
      figure.append(caption);
      article.append(figure);
      continue;
    }
    if (!step.png) {
      const p = document.createElement("p");
      p.className = "missing";
      p.textContent = `an image of ${step.codes.length} codes that cannot be decoded`;
      article.append(p);
      continue;
    }
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    const generated = document.createElement("img");
    generated.src = step.png;
    generated.className = "generated";
    generated.alt = "generated image";
    const f = step.figure;
    if (f && f.shown && f.url) {
      const real = document.createElement("img");
      real.alt = f.caption || f.image_id;
      figure.append(real);
      loadImage(real, f.url).catch((e) => { caption.textContent += " (" + e.message + ")"; });
      caption.textContent = `corpus figure: ${f.caption || f.image_id} (similarity ${f.similarity.toFixed(2)}); generated image beside it`;
    } else {
      caption.textContent = f ? `generated; nearest corpus figure: ${f.caption || f.image_id} (similarity ${f.similarity.toFixed(2)})` : "generated";
    }
    figure.prepend(generated);
    figure.append(caption);
    article.append(figure);
  }
  if (answer.partial) {
    const note = document.createElement("p");
    note.className = "pending";
    note.textContent = "writing the rest of the answer…";
    article.append(note);
    $("status").textContent = `writing… ${answer.tokens_generated} tokens so far, ${Math.round(answer.timings_ms.total)} ms`;
    return;
  }
  if (answer.damage.length) {
    const note = document.createElement("p");
    note.className = "pending";
    note.textContent = "The generation was damaged: " + answer.damage.join("; ");
    article.append(note);
  }
  if (answer.sources && answer.sources.length) {
    const list = document.createElement("ol");
    for (const s of answer.sources) { const li = document.createElement("li"); li.textContent = s; list.append(li); }
    const h = document.createElement("h2");
    h.textContent = "Sources";
    article.append(h, list);
  }
  $("status").textContent = `unified model: ${answer.tokens_generated} tokens, ${Math.round(answer.timings_ms.total)} ms`;
}

// Streamed: the answer so far after each passage window ("window"), then the whole ("done").
async function askUnified(form) {
  form.append("generator", "unified");
  const response = await fetch("/api/ask", { method: "POST", body: form, headers: authHeaders() });
  await failOnError(response);
  for await (const { event: kind, data } of events(response)) {
    if (kind === "window" || kind === "done") renderUnified(data);
    else if (kind === "error") throw new Error(data.detail);
  }
}

async function ask(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("question", $("question").value);
  form.append("inserter", $("inserter").value);
  form.append("k", $("k").value);
  form.append("stream", "true");
  if (chosenImage) form.append("image", chosenImage);
  $("submit").disabled = true;
  $("status").textContent = "retrieving and writing…";
  $("answer").replaceChildren();
  $("details").hidden = true;
  try {
    if ($("generator").value === "unified") { await askUnified(form); return; }
    const response = await fetch("/api/ask", { method: "POST", body: form, headers: authHeaders() });
    await failOnError(response);
    let draft = { segments: [], provenance: [], sources: [] };
    for await (const { event: kind, data } of events(response)) {
      if (kind === "text") { draft = data; renderAnswer(data.segments, [], true, data.provenance, data.sources); $("status").textContent = "placing images…"; }
      else if (kind === "placements") renderAnswer(draft.segments, data.placements, false, draft.provenance, draft.sources);
      else if (kind === "done") { renderAnswer(data.segments, data.placements, false, data.provenance, data.sources); renderDetails(data); $("status").textContent = ""; }
      else if (kind === "error") throw new Error(data.detail);
    }
  } catch (e) {
    $("status").textContent = "error " + e.message;
  } finally {
    $("submit").disabled = false;
  }
}

function chooseImage(file) {
  if (!file) return;
  chosenImage = file;
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  $("clear-image").hidden = false;
  $("drop-label").textContent = file.name;
}

$("ask").addEventListener("submit", ask);
$("drop").addEventListener("click", (e) => { if (e.target.id !== "clear-image") $("image").click(); });
$("image").addEventListener("change", () => chooseImage($("image").files[0]));
$("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", (e) => { e.preventDefault(); $("drop").classList.remove("over"); chooseImage(e.dataTransfer.files[0]); });
$("clear-image").addEventListener("click", () => {
  chosenImage = null; $("image").value = ""; $("preview").hidden = true; $("clear-image").hidden = true;
  $("drop-label").textContent = "Drop an image here, or click to choose one (optional)";
});
$("token").value = localStorage.getItem("m2io-token") || "";
$("token").addEventListener("change", () => localStorage.setItem("m2io-token", $("token").value));
