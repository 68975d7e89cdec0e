"""Inventory control domain."""
