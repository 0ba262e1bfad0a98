"""The operator's side: `check`, `sync`, `backup` and the health probe (`python -m bot ...`).

The modules here are imported by `bot/__main__.py` (argparse wiring only) and, for the
start-up command sync and the heartbeat, by the client and the run loop.
"""
