"""Process wiring: config checks, logging, socket server, scheduler, metrics, health (the configuration
itself and the Ogmios query link are in `milestoned.shared`, which `milestonectl` uses too)."""
