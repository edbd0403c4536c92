# Two set-up commands: `make demo` and `make test`. Both create .venv from the pinned
# constraints when it is missing, so they work on a fresh machine with only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv demo test test-real bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

# The main job offline: the demo model (the tiny CLAP our recipe trained, shipped in the package)
# on the procedural sound world with the paper's prompt strategies (template, several templates,
# descriptions, augmented N=2), then the leaderboard. Its held-out classes: README "The tiny CLAP".
# Results, cache and data stay in .zsbench-demo/.
DEMO_ENV := ZSBENCH_RESULTS=.zsbench-demo/results ZSBENCH_CACHE=.zsbench-demo/cache ZSBENCH_DATA=.zsbench-demo/data ZSBENCH_MODELS=.zsbench-demo/models
demo: $(STAMP)
	$(DEMO_ENV) $(BIN)/zsbench run --model demo --task synthworld --prompts template
	$(DEMO_ENV) $(BIN)/zsbench run --model demo --task synthworld --prompts template \
		--template "This is a sound of {label}." --template "{label}" --template "the sound of a {label} in the distance"
	$(DEMO_ENV) $(BIN)/zsbench run --quiet --model demo --task synthworld --prompts description
	$(DEMO_ENV) $(BIN)/zsbench run --quiet --model demo --task synthworld --prompts augmented --n 2
	$(DEMO_ENV) $(BIN)/zsbench leaderboard

test: $(STAMP)
	$(BIN)/pytest -q

# The real-data set alone (pytest -m real_data): the tests that read ../shared (or $ZSBENCH_SHARED),
# which `make test` skips with their reason where those files are absent.
test-real: $(STAMP)
	$(BIN)/pytest -q -m real_data

bench: $(STAMP)
	$(BIN)/pytest -q benchmarks --benchmark-only --benchmark-columns=min,mean,max,rounds

clean:
	rm -rf .zsbench-demo .benchmarks
