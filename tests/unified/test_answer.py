"""Unified answers: a damaged generation renders its text and names the damage; a real answer from
the tiny model over the tiny index renders in every format."""
import json

from m2io.retrieve import Retriever
from m2io.unified.answer import AnswerStep, UnifiedAnswer, UnifiedAnswerer
from m2io.unified.model import UnifiedModel
from m2io.unified.render import render_unified
from m2io.unified.trajectory import parse_ids


def test_cut_generation_renders_text_and_damage(tiny_unified_dir):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    ids = [v.think, *model.text_ids("Open the dialog."), v.end_think, v.vis, *v.image_ids[:10]]  # cut in the image
    traj = parse_ids(ids, v, lambda t: model.tokenizer.decode(t, skip_special_tokens=True))
    answer = UnifiedAnswer("How?", [AnswerStep("text", text=s.text) for s in traj.texts], traj.damage,
                           traj.well_formed, len(ids), {"total": 0.1}, 0.8)
    md, page = render_unified(answer, "md"), render_unified(answer, "html")
    data = json.loads(render_unified(answer, "json"))
    assert "Open the dialog." in md and "cut after 10 of 64 image tokens" in md
    assert "Open the dialog." in page and "damaged" in page
    assert data["well_formed"] is False and data["steps"] == [{"kind": "text", "text": "Open the dialog."}]


def test_answerer_over_a_real_index(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    retriever = Retriever.open(tiny_index / "index")
    try:
        v = model.vocab

        class OneImage:  # steer the noise model: open an image at once, then end (the grammar does the rest)
            def __call__(self, input_ids, scores):
                n = input_ids.shape[1] - prompt_len
                scores[:, v.vis if n == 0 else v.end_ids[0]] += 30.0
                return scores

        prompt_len = len(model.prompt_ids("How do I crop?"))
        original = model.lm.generate

        def generate(**kw):
            kw["logits_processor"].insert(0, OneImage())
            return original(**kw)

        model.lm.generate = generate
        answer = UnifiedAnswerer(model, retriever, snap_threshold=-1.0, max_new_tokens=70).ask("How do I crop?")
    finally:
        retriever.close()
    images = [s for s in answer.steps if s.kind == "image"]
    assert len(images) == 1 and len(images[0].codes) == 64 and images[0].png[:4] == b"\x89PNG"
    assert answer.well_formed and answer.damage == []
    fig = images[0].figure
    assert fig is not None and fig.shown and fig.dataset == "tiny" and -1.0 <= fig.similarity <= 1.0
    page = render_unified(answer, "html")
    assert page.count("<img") == 2  # the corpus figure shown, the generated one beside it
    data = json.loads(render_unified(answer, "json"))
    assert data["steps"][0]["figure"]["image_id"] == fig.image_id
