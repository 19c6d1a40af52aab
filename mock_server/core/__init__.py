"""The provider-neutral engine: clock, tasks, files, imaging, accounts, faults, journal."""
