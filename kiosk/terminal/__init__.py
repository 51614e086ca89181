"""The terminal's runtime: devices, device control, effects, heartbeat, scanning, receipts, maintenance.

Built and wired by :class:`kiosk.terminal.terminal.Terminal`; the screens (``screens/``) draw its flow."""
