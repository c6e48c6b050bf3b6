"""Rules ``retrain`` / ``transfer``: one retraining job (see balenas.stages.retrain.retrain_stage).

Run as ``python scripts/retrain.py SPEC_JSON LOG`` (or under torchrun for several GPUs): a shell command,
not a Snakemake ``script:``, so that torchrun can start one process per GPU.
"""

import json
import os
import sys

from balenas.logs import setup_logging
from balenas.stages.retrain import retrain_stage

spec, log = json.loads(sys.argv[1]), sys.argv[2]
if int(os.environ.get("RANK", "0")) == 0:
    setup_logging(log)
retrain_stage(**spec)
