# ticketbot — `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CONFIG ?= ticketbot.example.yaml

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "ticketbot: installing into $(VENV) (once; quiet unless something fails)…"
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/ticketbot serve --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot handlers storage schedules cards tests bench

clean:
	rm -rf $(VENV) ticketbot.db ticketbot.db-wal ticketbot.db-shm
