"""Evaluation: question sets, metrics, the runner, reports and run comparison.

Import the submodules directly; this package imports nothing heavy on its own.
"""
