"""Process wiring: config, logging, socket server, scheduler, metrics, health."""
