"""meterlib's backends serve the shipped conformance suite through this plugin."""

pytest_plugins = ["tests.conformance.backends"]
