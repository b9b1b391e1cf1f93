"""The app fixtures (a migrated, seeded database; the app with a scripted Rasa), wherever they live: a plugin
for every folder in the new test layout, tests/integration/conftest.py in the old one."""

from tests.integration.conftest import *  # noqa: F403
