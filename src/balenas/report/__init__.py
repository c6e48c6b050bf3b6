"""Tidy results in, paper tables (CSV, Markdown, LaTeX) and figures (PNG, PDF) out."""
