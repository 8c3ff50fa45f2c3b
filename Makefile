# Shortcuts. The README's two commands are tools/run and tools/check (no make needed).
.PHONY: run check quick lint types test e2e bench bootstrap lock upgrade prompts numbering-data ha

BIN := .venv/bin

bootstrap:
	@tools/bootstrap

## Run the service: FastAGI server, admin API and metrics; embedded Redis unless CALLSCREEN_REDIS_URL is set.
run:
	tools/run

## The high-availability topology on loopback: Redis primary, two replicas, three sentinels,
## two FastAGI nodes and the API through Sentinel; prints where everything is; Ctrl-C stops it.
ha: bootstrap
	tools/ha

## Everything CI runs: lint, types, the test suite (it starts its own Redis), then the
## end-to-end suite on a real Asterisk (root; builds or reuses a Debian sid chroot).
check:
	tools/check

## The same without the end-to-end suite: the quick loop while developing.
quick:
	tools/check --quick

lint:
	$(BIN)/ruff check .

types:
	$(BIN)/mypy

test:
	$(BIN)/pytest

## End to end: real SIP calls through a real Asterisk (builds or reuses a Debian sid chroot).
e2e: bootstrap
	tools/e2e/run

## The benchmarks of the performance goals (docs/design.md); each prints its figures.
bench: bootstrap
	cd bench && ../$(BIN)/python agi_script.py && ../$(BIN)/python fastagi.py && ../$(BIN)/python sync.py && ../$(BIN)/python api.py

## The dependency locks again (after editing pyproject.toml's dependencies), installed into
## .venv, and the numbering data from the locked phonenumbers.
lock:
	tools/lock

## The same, with every dependency at the newest release pyproject.toml allows.
upgrade:
	tools/lock --upgrade

numbering-data: bootstrap
	$(BIN)/python tools/gen-numbering-data

prompts:
	tools/make-prompts
