"""One filter language for every backend: dict in, typed tree out, reference semantics in Python."""

from memstack.filters.parse import OPERATORS, and_filters, family, parse_filter, to_dict
from memstack.filters.reference import (
    matches,
    missing_capabilities,
    require_support,
    required_capabilities,
)
from memstack.filters.tree import And, Comparison, FilterNode, Not, Or, Scalar

__all__ = [
    "OPERATORS",
    "And",
    "Comparison",
    "FilterNode",
    "Not",
    "Or",
    "Scalar",
    "and_filters",
    "family",
    "matches",
    "missing_capabilities",
    "parse_filter",
    "require_support",
    "required_capabilities",
    "to_dict",
]
