# The two commands a newcomer needs: `make run` and `make test`. Everything else follows.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PP := $(BIN)/practice-portal
CONFIG ?= development.ini
DEMO_OWNER := owner@demo.example
# The translations: one catalog (domain `portal`) per language, the template portal.pot.
LOCALE := src/entrypoints/web/locale
CATALOGS := $(wildcard $(LOCALE)/*/LC_MESSAGES/portal.po)

.PHONY: run test install lint typecheck bench clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changed; the compiled catalogs (.mo, git-ignored) with it.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/pybabel -q compile -d $(LOCALE) -D portal
	touch $@

# A catalog edited since: compiled again.
$(LOCALE)/%/LC_MESSAGES/portal.mo: $(LOCALE)/%/LC_MESSAGES/portal.po $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

install: $(VENV)/.installed $(CATALOGS:.po=.mo)

# After changing a translatable text: extract the texts (the domain marks them with N_ and Nn_,
# domain/errors.py) into portal.pot and merge them into each
# catalog; then translate the new (empty or fuzzy) entries. tests/unit/test_translations.py fails
# until both are done.
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k 'Nn_:1,2' --no-location --sort-output --project "Practice Portal" -o $(LOCALE)/portal.pot src
	$(BIN)/pybabel -q update -i $(LOCALE)/portal.pot -d $(LOCALE) -D portal \
		--ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d $(LOCALE) -D portal

run: install
	@mkdir -p var
	$(PP) $(CONFIG) db upgrade
	@$(PP) $(CONFIG) tenant list | grep -q '^demo\b' || \
		$(PP) $(CONFIG) tenant create demo --name "Demo Practice" --owner-email $(DEMO_OWNER)
# Single Sign On at once: the demo identity provider (development only) is the demo tenant's.
	@$(PP) $(CONFIG) demo-provider connect demo
	@echo "Serving http://demo.localhost:6543/login, mail goes to var/outbox/  (Ctrl-C stops both)"
# The worker delivers the mail that requests queue. Ctrl-C stops both; when the server ends
# otherwise, the worker is stopped too. The shell starts the worker with Ctrl-C ignored (a
# background job) until the worker sets its own handler, so the INT trap stops it (SIGTERM: it
# finishes the current message) rather than wait for a Ctrl-C it may never have seen.
	@$(PP) $(CONFIG) worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'trap - EXIT; kill $$worker 2>/dev/null; wait $$worker; exit 130' INT; trap 'exit 143' TERM; \
	$(BIN)/pserve $(CONFIG)

test: install lint typecheck
	$(BIN)/pytest

lint:
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# All of src/, the fakes and the contract suites' units of work, so adapters (wiring.py) and fakes
# are held to their ports.
typecheck:
	$(BIN)/mypy src tests/fakes.py tests/contract/conftest.py

# Issue 10's goals, each a ratio against a floor or peer measured in the same run: SSO callback CPU, page
# views per second, memory per process, statements as tenants grow (BENCH_DATABASE_URL for PostgreSQL).
bench: install
	$(BIN)/python bench/sso_callback.py
	$(BIN)/python bench/page_views.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/login.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
