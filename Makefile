# The two commands of the README: `make run` and `make check`. Everything else is a helper.
.PHONY: run check lint types test e2e bench bootstrap prompts

BIN := .venv/bin

bootstrap:
	@tools/bootstrap

## Run the service: FastAGI server, admin API and metrics; embedded Redis unless CALLSCREEN_REDIS_URL is set.
run: bootstrap
	$(BIN)/callscreen run

## Lint, types and the whole test suite (the tests start their own Redis).
check: bootstrap lint types test

lint:
	$(BIN)/ruff check .

types:
	$(BIN)/mypy

test:
	$(BIN)/pytest

## End to end: real SIP calls through a real Asterisk (builds or reuses a Debian sid chroot).
e2e: bootstrap
	tools/e2e/run

bench: bootstrap
	$(BIN)/python bench/run_all.py

prompts:
	tools/make-prompts
