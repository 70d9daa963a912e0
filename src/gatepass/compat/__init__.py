"""Frappe compatibility: Frappe's paths and response shapes onto Gatepass services."""
