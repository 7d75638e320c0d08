# Two commands matter: `make demo` and `make test`. Each builds .venv from nothing when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(sort $(wildcard plugins/*))
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: venv demo test lint system-deps contract bench bench-peers locomo reliability reliability-full \
	import-time clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt requirements-dev.txt contract_tests/pyproject.toml $(wildcard plugins/*/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24" "setuptools>=68" wheel
	@# torch first, pinned to the local CPU wheel, so nothing pulls CUDA packages
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt --no-build-isolation -r requirements-dev.txt \
		-e . -e contract_tests $(foreach p,$(PLUGINS),-e '$(p)$(if $(filter %/memstack-sentence-transformers,$(p)),[torch])')
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/memstack demo

# Every test; the contract classes also write a conformance table, and the committed
# docs/conformance.md must equal it (regenerate with `make contract`).
CONFORMANCE_RUN := $(shell mktemp -u /tmp/memstack-conformance-XXXXXX)
test: $(STAMP) lint system-deps
	$(PY) -m pytest -q -p no:cacheprovider tests contract_tests/tests $(foreach p,$(PLUGINS),$(p)/tests) \
		--memstack-report $(CONFORMANCE_RUN) --memstack-report-quiet
	$(PY) tools/check_conformance.py docs/conformance.md $(CONFORMANCE_RUN).md

# System packages some plugins' tests drive (Node for MCP clients, Chromium for the dashboard):
# each plugin may ship an idempotent `system-deps.sh`; it installs only what is missing.
system-deps:
	@for f in $(wildcard plugins/*/system-deps.sh); do bash $$f || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The contract suite on every in-tree provider (their own test classes start the real engines),
# regenerating the conformance table.
contract: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(foreach p,$(PLUGINS),$(p)/tests) \
		contract_tests/tests/test_contract_fakes.py -k Contract --memstack-report docs/conformance.md

import-time: $(STAMP)
	$(PY) benchmarks/import_time.py

bench: $(STAMP)
	$(PY) benchmarks/import_time.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/stores.py
	$(PY) benchmarks/locomo.py

locomo: $(STAMP)
	$(PY) benchmarks/locomo.py

# mem0 side by side: mem0ai lives in its own .venv-peers (torch pinned first, like ours).
PEERS := .venv-peers
$(PEERS)/.installed: benchmarks/peers/requirements-mem0.txt constraints.txt
	@test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q --upgrade "pip>=24"
	$(PEERS)/bin/python -m pip install -q -c constraints.txt torch==2.13.0
	$(PEERS)/bin/python -m pip install -q -c constraints.txt -r benchmarks/peers/requirements-mem0.txt
	@touch $@

bench-peers: $(STAMP) $(PEERS)/.installed
	MEM0_TELEMETRY=False $(PY) benchmarks/vs_mem0.py

reliability: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/reliability

reliability-full: $(STAMP)
	MEMSTACK_RELIABILITY_FULL=1 $(PY) -m pytest -q -p no:cacheprovider tests/reliability

# Every sdist and wheel into dist/ (wheels built from the sdists), then checked: SPDX license and
# license file, URLs, classifiers, bounded sibling requirements, py.typed, tests in the sdists.
# dist-check: the heavy end-to-end tests (fresh virtual environments, no repository on the path).
.PHONY: dist dist-check
dist: $(STAMP)
	$(PY) tools/dist.py --out dist

dist-check: $(STAMP)
	MEMSTACK_DIST_TESTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_dist.py

# The services and integrations at their large sizes (the default test run keeps them small).
.PHONY: bench-scale bench-keyword-memory bench-keyword-milvus bench-server fuzz-server bench-mcp mcp-conformance \
	bench-langgraph langgraph-thorough
# The picture and the rows it is drawn from are written together (a failed run changes neither).
bench-scale: $(STAMP)
	$(PY) benchmarks/scale.py --json --plot docs/img/scale.png > docs/img/scale.json.new
	mv docs/img/scale.json.new docs/img/scale.json

# The engine's in-process keyword index: RSS at 100 / 1,000 / 10,000 scopes (~5 min, ~0.5 GB).
bench-keyword-memory: $(STAMP)
	$(PY) benchmarks/keyword_memory.py

# Milvus Lite's native keyword search against the engine's BM25 on LoCoMo (~5 min).
bench-keyword-milvus: $(STAMP)
	$(PY) plugins/memstack-milvus/benchmarks/keyword_locomo.py

bench-server: $(STAMP)
	$(PY) benchmarks/server.py

fuzz-server: $(STAMP)
	MEMSTACK_SERVER_FUZZ_EXAMPLES=500 $(PY) -m pytest -q -p no:cacheprovider \
		plugins/memstack-server/tests/test_server_fuzz.py

bench-mcp: $(STAMP)
	$(PY) plugins/memstack-mcp/tests/mcp_load.py --clients 8 --calls 25

mcp-conformance: $(STAMP) system-deps
	$(PY) plugins/memstack-mcp/tests/mcp_conformance.py

bench-langgraph: $(STAMP)
	$(PY) plugins/memstack-langgraph/benchmarks/bench_langgraph_store.py --engine default -n 100

langgraph-thorough: $(STAMP)
	MEMSTACK_LANGGRAPH_EXAMPLES=2000 $(PY) -m pytest -q -p no:cacheprovider \
		plugins/memstack-langgraph/tests

clean:
	rm -rf $(VENV) $(PEERS) build *.egg-info
