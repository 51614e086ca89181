"""The platform simulator: the embedded default peer of ``kiosk run`` and of the tests."""
