"""``m2io unified ...``: the image tokenizer and the unified model's warm-up.

    m2io unified tokenizer data/gimp data/grass --heldout-corpus data/kicad --out runs/image-tokenizer
    m2io unified warmup data/gimp data/grass --tokenizer models/image-tokenizer --out runs/unified-warmup
"""
from __future__ import annotations

from pathlib import Path

import click

from m2io.cli.base import cli

_folder = click.Path(exists=True, file_okay=False, path_type=Path)


@cli.group()
def unified() -> None:
    """Unified interleaved generation: image tokenizer, warm-up, GRPO."""


@unified.command("tokenizer")
@click.argument("corpora", nargs=-1, type=_folder)
@click.option("--heldout-corpus", "heldout", multiple=True, type=_folder,
              help="A corpus never trained on: all its figures are held out and reported apart.")
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--clipart/--no-clipart", default=True, show_default=True,
              help="Add openclipart-png and tuxpaint-stamps-default (fetched with apt-get download).")
@click.option("--steps", default=3000, show_default=True)
@click.option("--max-minutes", default=15.0, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--channels", default=32, show_default=True, help="Width of the first conv stage.")
@click.option("--seed", default=0, show_default=True)
def tokenizer_cmd(corpora: tuple[Path, ...], heldout: tuple[Path, ...], out: Path, clipart: bool, steps: int,
                  max_minutes: float, batch_size: int, channels: int, seed: int) -> None:
    """Train the FSQ image tokenizer (64x64 -> 8x8 codes of 1,000); resumes from OUT's checkpoint."""
    from m2io.corpus.manual.debian import default_cache_dir
    from m2io.unified.tokenizer import TokenizerConfig
    from m2io.unified.train_tokenizer import TokenizerTrainConfig, train_tokenizer

    cfg = TokenizerTrainConfig(corpora=list(corpora), heldout_corpora=list(heldout), clipart=clipart, steps=steps,
                               max_minutes=max_minutes, batch_size=batch_size, seed=seed,
                               tokenizer=TokenizerConfig(channels=channels))
    record = train_tokenizer(cfg, out, default_cache_dir())
    for group, r in record["heldout"].items():
        click.echo(f"{group:>14} n={r['n']:5d}  PSNR {r['psnr']['mean']:.2f}  SSIM {r['ssim']['mean']:.3f}  "
                   f"visual cosine {r['visual_cosine']['mean']:.3f}")
    click.echo(f"wrote {out} ({record['steps']} steps, {record['train_seconds']} s)")


@unified.command("warmup")
@click.argument("corpora", nargs=-1, type=_folder)
@click.option("--tokenizer", "tokenizer_dir", required=True, type=_folder, help="The image tokenizer folder.")
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--base", type=_folder, default=None, help="Text LM folder [bundled SmolLM2-135M-Instruct].")
@click.option("--clipart/--no-clipart", default=True, show_default=True,
              help="Understanding and text-to-image examples from the clip-art packages too.")
@click.option("--index", "indexes", multiple=True, type=_folder,
              help="Each corpus's index, in the corpora's order (grounded answers retrieve from them).")
@click.option("--grounded", default=0.8, show_default=True, help="Mix ratio of grounded answers (needs --index).")
@click.option("--interleaved", default=0.0, show_default=True, help="Mix ratio of closed-book interleaved sections.")
@click.option("--understanding", default=0.1, show_default=True, help="Mix ratio of image -> caption.")
@click.option("--text-to-image", default=0.1, show_default=True, help="Mix ratio of caption -> image.")
@click.option("--lora/--full", default=True, show_default=True,
              help="LoRA plus the added tokens' rows (a small folder), or every weight.")
@click.option("--steps", default=400, show_default=True)
@click.option("--max-minutes", default=55.0, show_default=True)
@click.option("--batch-size", default=8, show_default=True)
@click.option("--micro-batch", type=int, default=4, show_default=True,
              help="Examples per forward and backward pass (the same gradient, less memory); 0: the whole batch.")
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--max-len", default=448, show_default=True, help="Tokens per example (prompt and answer).")
@click.option("--eval-every", default=50, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
              help="auto: bf16 autocast where the CPU has it (LoRA 1.6x faster); use fp32 with --full.")
@click.option("--words-per-step", default=24, show_default=True, help="Words kept of each text step of a section.")
@click.option("--windows", default=1, show_default=True, type=click.IntRange(1),
              help="Grounded examples of each question's passage windows up to this many (1: the first only).")
@click.option("--seed", default=0, show_default=True)
def warmup_cmd(corpora: tuple[Path, ...], tokenizer_dir: Path, out: Path, base: Path | None, clipart: bool,
               indexes: tuple[Path, ...], grounded: float, interleaved: float, understanding: float,
               text_to_image: float, lora: bool, steps: int, max_minutes: float, batch_size: int,
               micro_batch: int, lr: float, max_len: int, eval_every: int, precision: str, words_per_step: int,
               windows: int, seed: int) -> None:
    """Warm the unified model up on the hybrid mix (train splits); resumes from OUT's checkpoint."""
    if grounded and len(indexes) != len(corpora):
        raise click.UsageError(f"grounded answers need one --index per corpus ({len(corpora)} corpora, "
                               f"{len(indexes)} indexes); or --grounded 0")
    from m2io.corpus.manual.debian import default_cache_dir
    from m2io.unified.mix import MixConfig
    from m2io.unified.warmup import WarmupConfig, warmup

    cfg = WarmupConfig(corpora=list(corpora), indexes=list(indexes), tokenizer=tokenizer_dir, base=base,
                       clipart=clipart, lora=lora,
                       mix=MixConfig(grounded=grounded if indexes else 0.0, interleaved=interleaved,
                                     understanding=understanding, text_to_image=text_to_image,
                                     words_per_step=words_per_step),
                       steps=steps, max_minutes=max_minutes, batch_size=batch_size,
                       micro_batch=micro_batch or None, lr=lr, max_len=max_len,
                       eval_every=eval_every, precision=precision, seed=seed, windows=windows)
    record = warmup(cfg, out, default_cache_dir())
    click.echo(f"{record['steps']} steps in {record['train_seconds']} s; held-out loss: "
               + ", ".join(f"{k.split('_', 1)[1]} {v:.3f}" for k, v in record["final"].items()))
    click.echo(f"wrote {out}")


@unified.command("grpo")
@click.argument("corpora", nargs=-1, type=_folder)
@click.option("--model", "model_dir", required=True, type=_folder, help="The warmed-up unified model folder.")
@click.option("--index", "index_dir", required=True, type=_folder,
              help="An index of a training manual: its encoders and adapter score the rewards.")
@click.option("--grounded-index", "grounded_indexes", multiple=True, type=_folder,
              help="Each corpus's index, in the corpora's order: grounded prompts (retrieved passage and candidates); "
                   "none: closed-book prompts.")
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--dev", "dev_folder", type=_folder, default=None,
              help="A dataset folder benchmarked (every question) every --eval-every steps.")
@click.option("--dev-index", type=_folder, default=None, help="The dev dataset's index (nearest figures).")
@click.option("--steps", default=40, show_default=True)
@click.option("--max-minutes", type=float, default=None, help="Stop once the training steps took this long.")
@click.option("--stop-after", type=click.IntRange(1), default=None,
              help="Stop after this many steps, the learning-rate schedule still that of --steps (an ablation run "
                   "matched on steps to a time-capped one).")
@click.option("--group", default=4, show_default=True, help="Completions per prompt.")
@click.option("--prompts-per-step", default=2, show_default=True)
@click.option("--micro-batch", type=int, default=None,
              help="Completions per backward pass (gradient accumulation for the rest); default all of a step.")
@click.option("--max-completion", default=200, show_default=True, help="Token budget of a completion.")
@click.option("--lr", default=3e-6, show_default=True)
@click.option("--beta", default=0.04, show_default=True, help="KL coefficient (0: no KL).")
@click.option("--temperature", default=0.5, show_default=True, help="Sampling temperature of the completions.")
@click.option("--w-text", default=1.0, show_default=True)
@click.option("--w-visual", default=1.0, show_default=True)
@click.option("--w-structure", default=1.0, show_default=True)
@click.option("--w-reference", default=1.0, show_default=True, help="Weight of the referenced figures' plan score.")
@click.option("--w-rouge", default=0.0, show_default=True,
              help="Weight of ROUGE-L of the answer's text against the reference text (copy fidelity).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="fp32", show_default=True,
              help="fp32 for a full model (bf16 autocast made its steps 10x slower here); auto for a LoRA model.")
@click.option("--process-weight", default=0.0, show_default=True, help="Weight of the per-step advantages.")
@click.option("--aggregation", type=click.Choice(["sum_then_normalize", "normalize_then_sum"]),
              default="sum_then_normalize", show_default=True,
              help="Sum the reward terms then normalise over the group, or normalise each first (GDPO).")
@click.option("--image-credit", type=click.Choice(["outcome", "own"]), default="outcome", show_default=True,
              help="Image codes take the completion's advantage, or their own image's reward alone.")
@click.option("--step-norm", type=click.Choice(["joint", "per_kind"]), default="joint", show_default=True,
              help="Normalise process step rewards over all steps, or text steps and images apart.")
@click.option("--scale-rewards", type=click.Choice(["group", "batch", "none"]), default="group", show_default=True,
              help="Divide advantages by the group's reward std, the whole step's, or not at all.")
@click.option("--top-entropy", "top_entropy_quantile", type=click.FloatRange(0.0, 1.0), default=1.0,
              show_default=True, help="The loss keeps only this top fraction of tokens by entropy (1: all).")
@click.option("--prompts", type=click.Choice(["all", "decisions", "misses", "text-misses", "any-misses"]), default="all",
              show_default=True,
              help="Grounded prompts: all; those whose passage marks a figure the target leaves out; those whose "
                   "target shows a figure the starting model shows with odds under --miss-odds (misses); those whose "
                   "target text it would leave decoding greedily (text-misses); or both kinds (any-misses).")
@click.option("--miss-odds", default=0.5, show_default=True, type=click.FloatRange(0.0, 1.0))
@click.option("--anchor", default=0.0, show_default=True, type=click.FloatRange(0.0),
              help="Weight of a likelihood term on the targets the starting model copies without a text miss and "
                   "GRPO does not sample (PPO-ptx; filtered grounded prompts, e.g. text-misses; 0: none).")
@click.option("--max-prompt-tokens", default=1024, show_default=True, type=click.IntRange(1),
              help="Prompts longer than this are left out (memory and time of a step).")
@click.option("--windows", default=1, show_default=True, type=click.IntRange(1),
              help="Grounded prompts of each question's passage windows up to this many (the answerer's later "
                   "windows open mid-section).")
@click.option("--eval-every", default=10, show_default=True)
@click.option("--eval-at-start/--no-eval-at-start", default=True, show_default=True,
              help="Benchmark the warmed-up model at step 0 too.")
@click.option("--seed", default=0, show_default=True)
def grpo_cmd(corpora: tuple[Path, ...], model_dir: Path, index_dir: Path, grounded_indexes: tuple[Path, ...],
             out: Path, dev_folder: Path | None,
             dev_index: Path | None, steps: int, max_minutes: float | None, stop_after: int | None, group: int,
             prompts_per_step: int,
             micro_batch: int | None, max_completion: int, lr: float, beta: float, temperature: float,
             w_text: float, w_visual: float, w_structure: float, w_reference: float, w_rouge: float, precision: str,
             process_weight: float, aggregation: str,
             image_credit: str, step_norm: str, scale_rewards: str, top_entropy_quantile: float, prompts: str,
             miss_odds: float, anchor: float, max_prompt_tokens: int, windows: int, eval_every: int, eval_at_start: bool, seed: int) -> None:
    """GRPO of the unified model with hybrid (text, visual, structure) and process rewards; resumes from OUT."""
    import sys

    from m2io.unified.grpo import UnifiedGRPOConfig, run_unified_grpo
    from m2io.unified.rewards import HybridWeights

    if not corpora:
        raise click.UsageError("name at least one training corpus folder")
    dev = None
    if dev_folder is not None:
        if dev_index is None:
            raise click.UsageError("--dev needs --dev-index")
        from m2io.corpus.mramg import read_dataset
        from m2io.retrieve import Retriever

        dev = (read_dataset(dev_folder), Retriever.open(dev_index))
    if grounded_indexes and len(grounded_indexes) != len(corpora):
        raise click.UsageError(f"give one --grounded-index per corpus ({len(corpora)} corpora, "
                               f"{len(grounded_indexes)} indexes)")
    cfg = UnifiedGRPOConfig(model=model_dir, corpora=list(corpora), indexes=list(grounded_indexes),
                            index=index_dir, steps=steps, precision=precision,
                            max_minutes=max_minutes, stop_after=stop_after, group=group, prompts_per_step=prompts_per_step,
                            micro_batch=micro_batch, max_completion=max_completion, learning_rate=lr,
                            temperature=temperature, beta=beta,
                            eval_every=eval_every, save_steps=eval_every, eval_at_start=eval_at_start,
                            seed=seed, weights=HybridWeights(w_text, w_visual, w_structure, w_reference,
                                                 process_weight, w_rouge),
                            aggregation=aggregation, image_credit=image_credit, step_norm=step_norm,
                            scale_rewards=scale_rewards, top_entropy_quantile=top_entropy_quantile, prompts=prompts,
                            miss_odds=miss_odds, anchor=anchor, windows=windows, max_prompt_tokens=max_prompt_tokens)
    if prompts != "all" and not grounded_indexes:
        raise click.UsageError(f"--prompts {prompts} needs grounded prompts (--grounded-index)")
    if anchor and not grounded_indexes:
        raise click.UsageError("--anchor needs grounded prompts (--grounded-index)")
    record = run_unified_grpo(cfg, out, dev, command=" ".join(["m2io", *sys.argv[1:]]))
    click.echo(f"{record['steps']} steps in {record['train_seconds']} s (peak RSS {record['peak_rss_gib']} GiB); "
               f"wrote {out}")


@unified.command("export")
@click.argument("run", type=_folder)
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--note", default=None, help="A paragraph the records cannot say, placed under the title.")
def export_cmd(run: Path, out: Path, note: str | None) -> None:
    """Write OUT with a unified GRPO run's records, curves and card (the weights stay in RUN)."""
    from m2io.unified.card import export_unified

    click.echo(f"wrote {export_unified(run, out, note)}")


@unified.command("ship")
@click.argument("run", type=_folder)
@click.option("--out", default=Path("models/unified"), show_default=True, type=click.Path(path_type=Path))
def ship_cmd(run: Path, out: Path) -> None:
    """Replace OUT with RUN's LoRA model as it ships (a GRPO run carries the warm-up it grew from inside)."""
    from m2io.unified.shipped import ship_unified

    try:
        folder = ship_unified(run, out)
    except (ValueError, FileNotFoundError) as e:
        raise click.UsageError(str(e)) from e
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    click.echo(f"wrote {folder} ({size / 2**20:.1f} MiB)")
