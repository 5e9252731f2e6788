"""pytest plugin (entry point `pytest11: tinygen`): device fixtures for users' HIL tests.

The HIL engineer fills this in (issue #5); it must stay importable at all times because pytest
loads it in every run once tinygen is installed.
"""
