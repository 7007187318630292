"""Glimpse: a GraphQL-first VM image service that also speaks the Glance Image API v2."""

__version__ = "0.1.0"
