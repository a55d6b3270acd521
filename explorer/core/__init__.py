"""Pure logic: bulk-edit plans, journal, settings, export."""
