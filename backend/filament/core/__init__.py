"""What everything shares: settings, security (passwords, tokens, login limits, download
tickets) and the domain errors."""
