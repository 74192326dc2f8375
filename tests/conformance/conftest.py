import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Found whatever pytest's import mode: the repo (recipe/) and this folder's engine_runs module.
for p in (str(HERE.parent.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)
