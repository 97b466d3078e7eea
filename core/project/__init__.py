"""The project file (``.etdproj``): data sets, cleaned versions, runs, models, scores and
inspection outcomes of one investigation, in a single SQLite file committed step by step.

See :mod:`core.project.store` for the durability, safety and versioning choices.
"""

from core.project.datasets import CleanedVersion
from core.project.inspection import OUTCOME_TEXT, OUTCOMES
from core.project.schema import SCHEMA_VERSION
from core.project.store import SUFFIX, Project

__all__ = ["OUTCOMES", "OUTCOME_TEXT", "SCHEMA_VERSION", "SUFFIX", "CleanedVersion", "Project"]
