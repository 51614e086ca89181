"""The link to the government platform: its HTTP client, request signing and the circuit breaker."""
