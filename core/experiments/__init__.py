"""Experiments over recipes: held-out references, resumable train -> sample -> evaluate, comparison reports.

``synctrack ablate`` and ``synctrack demo`` are thin commands over this package; every stage runs the same
``synctrack train``, ``synctrack sample`` and ``synctrack eval`` code a user runs by hand.
"""

from .ablation import RecipeRun, run_recipe
from .reference import render_references
from .report import ComparisonRow, comparison_rows, write_comparison

__all__ = ["ComparisonRow", "RecipeRun", "comparison_rows", "render_references", "run_recipe", "write_comparison"]
