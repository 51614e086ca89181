"""What operators and technicians see and change on one terminal: events, service mode, device settings, fleet tallies."""
