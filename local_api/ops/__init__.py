"""What operators and technicians see and change on one terminal: events, the audit, service mode,
device settings, the kiosk's screen picture, fleet tallies."""
