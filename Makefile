# The two commands of the README. Each installs what it needs first (apt + pip).
.PHONY: setup demo test test-all

setup:
	bash scripts/setup.sh

# The main job: the whole flow on the emulated board, offline, on a bundled model.
demo: setup
	bash scripts/demo.sh

# The default test suite (well under 15 minutes on 2 cores).
test: setup
	python3 -m pytest -q -p no:cacheprovider

# Everything, including slow tests over every model.
test-all: setup
	python3 -m pytest -q -p no:cacheprovider --run-slow
