"""Reusable widgets: plots, the consumption table model, cards, the task bar."""
