"""Stage entry points: what each thin Snakemake script calls, one module per rule family."""
