"""Pipedrive Explorer: browse, search and safely bulk-edit a Pipedrive CRM account."""
