"""The resource services a `Metering` mounts; each gets its `Context` handed in."""
